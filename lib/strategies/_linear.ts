/**
 * The one tensor operation the two-task strategies need: a fresh map
 * `a·main + b·aux` with scalar weights shared by every variable.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedLinearCombine } from "./_fused_kernels.ts";

/**
 * `a·main + b·aux` per key, in `main`'s key order (a fresh map; inputs
 * untouched). Weights of exactly 1 and 0 skip the multiply, so `(1, 1)` is
 * bit-identical to `joint` and `(1, 0)` to a copy of `main`. On the cpu and
 * onednn backends, with float32 gradients, all keys take one fused kernel call
 * (`GradpromLinearCombine`) with the same results bit for bit.
 */
export function linearCombine(
  main: tf.NamedTensorMap,
  aux: tf.NamedTensorMap,
  a: number,
  b: number,
): tf.NamedTensorMap {
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new RangeError(`Expected finite combination weights but found ${a} and ${b}`);
  }
  const keys = Object.keys(main);
  const fused = fusedLinearCombine(main, aux, keys.map(() => a), keys.map(() => b));
  if (fused) return fused;
  const scaled = (t: tf.Tensor, w: number) => w === 1 ? t : tf.mul(t, w);
  const out: tf.NamedTensorMap = {};
  for (const k of keys) {
    out[k] = tf.tidy(() =>
      b === 0
        ? (a === 1 ? tf.clone(main[k]) : tf.mul(main[k], a))
        : a === 0
        ? (b === 1 ? tf.clone(aux[k]) : tf.mul(aux[k], b))
        : tf.add(scaled(main[k], a), scaled(aux[k], b))
    );
  }
  return out;
}
