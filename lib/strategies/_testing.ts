/**
 * Helpers for the strategy tests: small named gradient maps from arrays, and
 * float64 inner products of maps read back from the device.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../util/rng.ts";

/** A map of 1-D tensors from plain arrays. */
export function mapOf(o: Record<string, number[]>): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, tf.tensor1d(v)]));
}

/** The values of a map, by key. */
export function read(m: tf.NamedTensorMap): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

/** ⟨a, b⟩ over all keys of two maps (float64 on the host). */
export function dot(a: tf.NamedTensorMap, b: tf.NamedTensorMap): number {
  let s = 0;
  for (const k of Object.keys(a)) {
    const x = a[k].dataSync(), y = b[k].dataSync();
    for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  }
  return s;
}

/** Shapes of the variables of the random maps: a conv kernel, a bias, a scalar, a dense layer. */
export const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 2, 4],
  "conv/bias": [4],
  "gain": [],
  "dense/kernel": [5, 3],
};

/**
 * A random map over {@link SHAPES}: standard normal entries times `scale`,
 * each variable with its own random magnitude (so layers differ in scale).
 */
export function randomMap(rng: Rng, scale = 1): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [k, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const layerScale = scale * Math.exp(rng.normal());
    const v = Float32Array.from({ length: n }, () => rng.normal() * layerScale);
    out[k] = tf.tensor(v, shape, "float32");
  }
  return out;
}

/** Asserts |a − b| ≤ tol·max(1, |b|) elementwise, with a message naming the first miss. */
export function assertClose(a: number[], b: number[], tol = 1e-5, what = "values"): void {
  if (a.length !== b.length) {
    throw new Error(`${what}: expected length ${b.length} but found ${a.length}`);
  }
  a.forEach((x, i) => {
    if (!(Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i])))) {
      throw new Error(`${what}: expected [${b}] but found [${a}] (index ${i})`);
    }
  });
}
