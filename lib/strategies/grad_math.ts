/**
 * Inner products, norms and cosines of named gradient maps (what the
 * strategies and the training step's per-variable cosines are built on).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedGradientStats, fusedLinearCombine } from "./_fused_kernels.ts";

/** Dot products and squared norms of two gradient maps, per key and summed. */
export interface GradientStats {
  keys: string[];
  /** Per key: ⟨main, aux⟩, |main|², |aux|². */
  dot: number[];
  mainSq: number[];
  auxSq: number[];
  /** Sums over all keys. */
  totalDot: number;
  totalMainSq: number;
  totalAuxSq: number;
}

/**
 * Checks that two maps have the same keys and shapes, computes their per-key
 * inner products and squared norms in one device read, and throws a
 * `RangeError` naming the map and variable when a gradient holds NaN or ±Inf.
 *
 * On the cpu and onednn backends, with float32 gradients, all the sums come
 * from one fused kernel call (`GradpromGradientStats`, `_fused_kernels.ts`)
 * that accumulates each in float64 and rounds it to float32 once; elsewhere
 * (wasm, webgpu, tensorflow, or other dtypes, cast to float32 first) they are
 * float32 TF.js reductions, several kernel calls per variable. The two differ
 * at float32 rounding level (the fused values are the more accurate); a sum
 * beyond float32's range is ±Inf either way, so the finiteness checks agree.
 *
 * @param main The main task's gradients by variable name.
 * @param aux The auxiliary task's gradients, over the same names and shapes.
 * @returns Per-key and summed ⟨main, aux⟩, |main|², |aux|² (tensors untouched).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gradientStats } from "./grad_math.ts";
 * await tf.setBackend("cpu");
 * const s = gradientStats({ w: tf.tensor([1, 2]) }, { w: tf.tensor([3, -1]) });
 * assert.deepEqual([s.totalDot, s.totalMainSq, s.totalAuxSq], [1, 5, 10]);
 * ```
 */
export function gradientStats(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): GradientStats {
  const keys = Object.keys(main);
  const auxKeys = Object.keys(aux);
  if (keys.length === 0) throw new RangeError("Expected non-empty gradient maps but found none");
  const missing = keys.filter((k) => !(k in aux));
  const extra = auxKeys.filter((k) => !(k in main));
  if (missing.length || extra.length) {
    throw new RangeError(
      `Expected main and aux gradients over the same variables but found ` +
        `${missing.length ? `missing in aux: ${missing.join(", ")}` : ""}` +
        `${missing.length && extra.length ? "; " : ""}` +
        `${extra.length ? `only in aux: ${extra.join(", ")}` : ""}`,
    );
  }
  for (const k of keys) {
    const a = main[k].shape, b = aux[k].shape;
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      throw new RangeError(`Expected equal shapes for '${k}' but found [${a}] and [${b}]`);
    }
  }
  const v = fusedGradientStats(keys.map((k) => main[k]), keys.map((k) => aux[k])) ??
    _statsByOps(keys, main, aux);
  const s: GradientStats = {
    keys,
    dot: [],
    mainSq: [],
    auxSq: [],
    totalDot: 0,
    totalMainSq: 0,
    totalAuxSq: 0,
  };
  keys.forEach((k, i) => {
    const [d, m, a] = [v[3 * i], v[3 * i + 1], v[3 * i + 2]];
    if (!Number.isFinite(m)) {
      throw new RangeError(`Expected a finite main gradient but found ${m} in its norm for '${k}'`);
    }
    if (!Number.isFinite(a)) {
      throw new RangeError(`Expected a finite aux gradient but found ${a} in its norm for '${k}'`);
    }
    s.dot.push(d);
    s.mainSq.push(m);
    s.auxSq.push(a);
    s.totalDot += d;
    s.totalMainSq += m;
    s.totalAuxSq += a;
  });
  return s;
}

/** The fallback of `gradientStats`: float32 TF.js ops, one device read. */
function _statsByOps(
  keys: string[],
  main: tf.NamedTensorMap,
  aux: tf.NamedTensorMap,
): ArrayLike<number> {
  const values = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (const k of keys) {
      const m = tf.cast(main[k], "float32"), a = tf.cast(aux[k], "float32");
      parts.push(tf.sum(tf.mul(m, a)), tf.sum(tf.square(m)), tf.sum(tf.square(a)));
    }
    return tf.stack(parts);
  });
  const v = values.dataSync();
  values.dispose();
  return v;
}

/**
 * cos = ⟨a, b⟩ / (|a|·|b|), defined as 0 when either vector is zero, and
 * clamped to [-1, 1] against rounding.
 *
 * @param dot ⟨a, b⟩.
 * @param aSq |a|².
 * @param bSq |b|².
 * @returns The cosine.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosineOf } from "./grad_math.ts";
 * assert.equal(cosineOf(-2, 1, 4), -1);
 * assert.equal(cosineOf(0, 0, 4), 0);
 * ```
 */
export function cosineOf(dot: number, aSq: number, bSq: number): number {
  const denom = Math.sqrt(aSq) * Math.sqrt(bSq);
  if (denom === 0) return 0;
  return Math.max(-1, Math.min(1, dot / denom));
}

/**
 * `main + w·aux` per key, with a weight per key (a fresh map; inputs untouched).
 * A weight of 0 gives a copy of `main`, 1 gives `main + aux` (no multiply);
 * any other w computes float32(main + float32(w·aux)).
 *
 * On the cpu and onednn backends, with float32 gradients, all keys take one
 * fused kernel call (`GradpromLinearCombine`, `_fused_kernels.ts`) whose
 * results are bit-identical to those of the per-key TF.js ops, which the other
 * backends and dtypes run.
 *
 * @param main Gradients by variable name.
 * @param aux Gradients over the same names.
 * @param weight The weight of `aux` for a key (and its index in `main`'s order).
 * @returns New tensors, one per key of `main` (the caller disposes them).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { combine } from "./grad_math.ts";
 * await tf.setBackend("cpu");
 * const out = combine({ w: tf.tensor([1, 1]) }, { w: tf.tensor([2, 4]) }, () => 0.5);
 * assert.deepEqual(Array.from(out.w.dataSync()), [2, 3]);
 * ```
 */
export function combine(
  main: tf.NamedTensorMap,
  aux: tf.NamedTensorMap,
  weight: (key: string, index: number) => number,
): tf.NamedTensorMap {
  const keys = Object.keys(main);
  const weights = keys.map((k, i) => weight(k, i));
  const fused = fusedLinearCombine(main, aux, keys.map(() => 1), weights);
  if (fused) return fused;
  const out: tf.NamedTensorMap = {};
  keys.forEach((k, i) => {
    const w = weights[i];
    out[k] = tf.tidy(() =>
      w === 0
        ? tf.clone(main[k])
        : w === 1
        ? tf.add(main[k], aux[k])
        : tf.add(main[k], tf.mul(aux[k], w))
    );
  });
  return out;
}
