/**
 * Gaussian blur of NHWC images, the blur part of the paper's "composite" degradation
 * (Gaussian + Poisson + blur).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/** Options of {@linkcode gaussianBlur}. */
export interface GaussianBlurOptions {
  /** Kernel radius in pixels (kernel size 2·radius + 1); default `ceil(3·sigma)`. */
  radius?: number;
}

/**
 * Blurs every channel of NHWC images with a normalised, separable Gaussian kernel
 * `k(i) ∝ exp(−i² / (2σ²))`, `i = −radius … radius`: a depthwise convolution along
 * the height, then along the width (valid convolutions on a padded input, so the
 * output has the input's shape). Borders use **reflect** padding (mirror without
 * repeating the edge pixel: `… x2 x1 | x0 x1 x2 …`, NumPy's `reflect`, SciPy's
 * `mirror`, TF's `REFLECT`), repeated as often as needed, so a radius larger than the
 * image is fine. A constant image stays constant. `sigma = 0` returns a copy.
 *
 * @param x Images `[n, h, w, c]` (float32 or convertible).
 * @param sigma Standard deviation of the kernel in pixels, ≥ 0.
 * @param options Kernel radius.
 * @returns The blurred images, float32, clipped to [0, 1]; `x` is not disposed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../../backend/setup_backend.ts";
 * import { gaussianBlur } from "./gaussian_blur.ts";
 * await setupBackend({ quiet: true });
 * const impulse = tf.buffer([1, 9, 9, 1]);
 * impulse.set(1, 0, 4, 4, 0);
 * const x = impulse.toTensor() as tf.Tensor4D;
 * const y = gaussianBlur(x, 1);
 * assert.ok(Math.abs(tf.sum(y).dataSync()[0] - 1) < 1e-3); // the blur keeps the total
 * tf.dispose([x, y]);
 * ```
 */
export function gaussianBlur(
  x: tf.Tensor4D,
  sigma: number,
  options: GaussianBlurOptions = {},
): tf.Tensor4D {
  if (x.rank !== 4) {
    throw new RangeError(`Expected NHWC images of rank 4 but found shape [${x.shape}]`);
  }
  if (!(Number.isFinite(sigma) && sigma >= 0)) {
    throw new RangeError(`Expected sigma >= 0 but found ${sigma}`);
  }
  const radius = options.radius ?? Math.ceil(3 * sigma);
  if (!(Number.isInteger(radius) && radius >= 0)) {
    throw new RangeError(`Expected radius to be an integer >= 0 but found ${radius}`);
  }
  return tf.tidy(() => {
    const xf = tf.cast(x, "float32") as tf.Tensor4D;
    if (sigma === 0 || radius === 0) return tf.clone(xf);
    const [, h, w, c] = x.shape;
    const k = _gaussianKernel(sigma, radius);
    const size = 2 * radius + 1;
    const kernel = tf.tensor1d(k);
    const kh = tf.tile(tf.reshape(kernel, [size, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const kw = tf.tile(tf.reshape(kernel, [1, size, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const padH = tf.gather(xf, _reflectIndex(h, radius), 1) as tf.Tensor4D;
    const yh = tf.depthwiseConv2d(padH, kh, 1, "valid");
    const padW = tf.gather(yh, _reflectIndex(w, radius), 2) as tf.Tensor4D;
    const y = tf.depthwiseConv2d(padW, kw, 1, "valid");
    return tf.clipByValue(y, 0, 1);
  });
}

/** The normalised 1-D Gaussian kernel of length 2·radius + 1. */
export function _gaussianKernel(sigma: number, radius: number): Float32Array {
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += k[i + radius];
  }
  return Float32Array.from(k, (v) => v / sum);
}

/** Source indices of a length-`n` axis padded by `pad` on each side with reflect padding. */
export function _reflectIndex(n: number, pad: number): tf.Tensor1D {
  const idx = new Int32Array(n + 2 * pad);
  const period = 2 * (n - 1);
  for (let i = 0; i < idx.length; i++) {
    if (n === 1) continue;
    let j = (((i - pad) % period) + period) % period;
    if (j >= n) j = period - j;
    idx[i] = j;
  }
  return tf.tensor1d(idx, "int32");
}
