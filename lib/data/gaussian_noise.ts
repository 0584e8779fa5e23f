/**
 * Additive Gaussian noise for images in [0, 1], the degradation of the paper's
 * denoising experiments (σ = 0.1, 0.2, 0.3).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/**
 * Returns `clip(x + n, 0, 1)` with `n ~ N(0, sigma²)` drawn independently per
 * element by `tf.randomNormal(x.shape, 0, sigma, "float32", seed)`, so the same
 * seed and shape give the same noise. `sigma = 0` returns a copy of `x`. The
 * result is a new float32 tensor; `x` is not disposed.
 *
 * @param x Images (any shape, typically NHWC) with values in [0, 1].
 * @param sigma Noise standard deviation, in [0, 1].
 * @param seed Integer seed of the noise.
 * @returns The noisy images, clipped to [0, 1].
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { addGaussianNoise } from "./gaussian_noise.ts";
 * await tf.setBackend("cpu");
 * const clean = tf.fill([1, 8, 8, 3], 0.5);
 * const noisy = addGaussianNoise(clean, 0.1, 42);
 * assert.deepEqual(noisy.shape, [1, 8, 8, 3]);
 * tf.dispose([clean, noisy]);
 * ```
 */
export function addGaussianNoise(x: tf.Tensor, sigma: number, seed: number): tf.Tensor {
  if (!(Number.isFinite(sigma) && sigma >= 0 && sigma <= 1)) {
    throw new RangeError(`Expected sigma in [0, 1] but found ${sigma}`);
  }
  if (!Number.isFinite(seed)) throw new TypeError(`Expected a finite seed but found ${seed}`);
  return tf.tidy(() => {
    const xf = x.dtype === "float32" ? x : tf.cast(x, "float32");
    if (sigma === 0) return tf.clone(xf);
    const noise = tf.randomNormal(x.shape, 0, sigma, "float32", seed);
    return tf.clipByValue(tf.add(xf, noise), 0, 1);
  });
}
