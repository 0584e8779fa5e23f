/**
 * Poisson (shot) noise for images in [0, 1], one of the three parts of the paper's
 * "composite" degradation (Gaussian + Poisson + blur).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../util/rng.ts";

/**
 * Below this mean a Poisson sample is drawn exactly (Knuth's product of uniforms);
 * at or above it, by the normal approximation with continuity correction
 * `max(0, floor(λ + √λ·z + 0.5))`: mean λ, variance λ + 1/12 (the rounding), and no skew
 * where the true skewness is 1/√λ ≤ 1/√30 ≈ 0.18; the clamp at 0 needs z < −5.4.
 */
export const POISSON_NORMAL_THRESHOLD = 30;

/**
 * Returns `clip(Poisson(photons · x) / photons, 0, 1)`, drawn independently per
 * element: each pixel value is taken as the mean photon count over `photons`, so
 * the noise has mean 0 and variance `x / photons` (signal-dependent, like a
 * detector's shot noise). Larger `photons` means less noise; `photons = Infinity`
 * returns a copy of `x`.
 *
 * Sampling is seeded and done in JavaScript with {@linkcode Rng} (`new Rng(seed)`):
 * for `λ = photons · x < 30` ({@linkcode POISSON_NORMAL_THRESHOLD}) by Knuth's
 * exact method (count uniforms until their product drops below `e^{-λ}`), otherwise by
 * the normal approximation with continuity correction `floor(λ + √λ·z + 0.5)`,
 * clamped at 0. The same seed and input give the same output on every backend.
 *
 * @param x Images (any shape, typically NHWC) with values in [0, 1].
 * @param photons Photon count of a pixel of value 1, a positive number (or `Infinity`).
 * @param seed Integer seed of the noise.
 * @returns The noisy images, float32, clipped to [0, 1]; `x` is not disposed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../../backend/setup_backend.ts";
 * import { addPoissonNoise } from "./poisson_noise.ts";
 * await setupBackend({ quiet: true });
 * const clean = tf.fill([1, 8, 8, 3], 0.5);
 * const noisy = addPoissonNoise(clean, 100, 7);
 * assert.deepEqual(noisy.shape, [1, 8, 8, 3]);
 * tf.dispose([clean, noisy]);
 * ```
 */
export function addPoissonNoise(x: tf.Tensor, photons: number, seed: number): tf.Tensor {
  if (!(photons > 0) || Number.isNaN(photons)) {
    throw new RangeError(`Expected photons > 0 (or Infinity) but found ${photons}`);
  }
  if (!Number.isFinite(seed)) throw new TypeError(`Expected a finite seed but found ${seed}`);
  if (photons === Infinity) return tf.tidy(() => tf.clone(tf.cast(x, "float32")));
  const values = x.dataSync();
  const out = new Float32Array(values.length);
  const rng = new Rng(seed);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const lambda = photons * (v > 0 ? (v < 1 ? v : 1) : 0);
    const y = _poisson(lambda, rng) / photons;
    out[i] = y > 1 ? 1 : y;
  }
  return tf.tensor(out, x.shape, "float32");
}

/** One Poisson(λ) sample (see {@linkcode POISSON_NORMAL_THRESHOLD}). */
export function _poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  if (lambda < POISSON_NORMAL_THRESHOLD) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rng.uniform();
    while (p > limit) {
      k++;
      p *= rng.uniform();
    }
    return k;
  }
  const k = Math.floor(lambda + Math.sqrt(lambda) * rng.normal() + 0.5);
  return k > 0 ? k : 0;
}
