/**
 * Test helpers for the backend tests (internal; not part of the library surface): starting
 * both the cpu and the wasm backend in one process, seeded data, and comparisons.
 *
 * Tensors belong to the backend that was active when they were made, so every comparison
 * builds its inputs afresh on each backend from the same plain arrays.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { Rng } from "../util/rng.ts";
import { registerOnednnBackend } from "./onednn/register_onednn_backend.ts";
import { registerGradients } from "./register_gradients.ts";
import { registerResizeGradKernels } from "./resize_grad_kernels.ts";
import { registerWasmGradientKernels } from "./wasm_kernels.ts";

/** A backend the tests compare. */
export type _TestBackend = "cpu" | "wasm";

/** Registers gradients and kernel fixes, and starts the cpu and wasm backends. */
export async function _initBackends(): Promise<void> {
  registerGradients();
  registerWasmGradientKernels();
  registerResizeGradKernels();
  for (const name of ["wasm", "cpu"]) {
    await tf.setBackend(name);
    if (tf.getBackend() !== name) {
      throw new Error(`Expected backend ${name} but found ${tf.getBackend()}`);
    }
  }
}

/**
 * Registers the onednn backend when libdnnl 2.x loads (and FFI is allowed).
 *
 * @returns `undefined` when onednn is available, else why not (for a test's name and `ignore`).
 */
export function _onednnUnavailable(): string | undefined {
  try {
    registerOnednnBackend();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Runs `fn` with `name` as the active backend. */
export async function _onBackend<T>(name: _TestBackend, fn: () => T): Promise<T> {
  await tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`Expected ${name} but found ${tf.getBackend()}`);
  return fn();
}

/** `n` seeded standard-normal floats (times `scale`). */
export function _randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

/** Plain data for one tensor: built identically on every backend. */
export interface _Spec {
  shape: number[];
  values: Float32Array;
}

/** A seeded standard-normal `_Spec`. */
export function _spec(rng: Rng, shape: number[], scale = 1): _Spec {
  return { shape, values: _randn(rng, shape.reduce((a, b) => a * b, 1), scale) };
}

/** Makes a float32 tensor on the active backend. */
export function _make(spec: _Spec): tf.Tensor {
  return tf.tensor(spec.values, spec.shape, "float32");
}

/**
 * The largest absolute difference divided by the largest magnitude of `expected`
 * (or by 1 if `expected` is all zeros).
 */
export function _relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`Expected ${expected.length} values but found ${actual.length}`);
  }
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / (scale > 0 ? scale : 1);
}

/**
 * A scalar loss `Σ y·r` with a fixed seeded `r` of `y`'s shape: unlike `Σ y`, it does not
 * hide gradient errors that cancel (the gradient of `Σ softmax(x)` is zero, for example).
 */
export function _weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  const r = tf.tensor(_randn(new Rng(seed), y.size), y.shape, "float32");
  return tf.sum(tf.mul(y, r));
}

/**
 * Gradients of `loss(...inputs)` for all inputs, read back as arrays, on one backend.
 * Also returns the loss value.
 */
export async function _gradsOn(
  backend: _TestBackend,
  inputs: _Spec[],
  loss: (...xs: tf.Tensor[]) => tf.Scalar,
): Promise<{ value: number; grads: Float32Array[] }> {
  return await _onBackend(backend, () => {
    const tensors = tf.tidy(() => {
      const xs = inputs.map(_make);
      const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => loss(...a))(xs);
      return [value as tf.Tensor, ...grads];
    });
    const [value, ...grads] = tensors.map((t) => t.dataSync() as Float32Array);
    tf.dispose(tensors);
    return { value: value[0], grads };
  });
}
