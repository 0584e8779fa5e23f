/**
 * Bicubic downsampling as MATLAB's `imresize(x, 1/factor, "bicubic")` computes it,
 * the usual way super-resolution papers make their low-resolution inputs (the
 * paper's super-resolution task).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/**
 * Downsamples NHWC images by `factor` (2 or 4) like MATLAB's
 * `imresize(x, 1/factor, "bicubic")` on double input (antialiasing on):
 *
 * - Keys' cubic with a = −0.5: `k(t) = 1.5|t|³ − 2.5|t|² + 1` for |t| ≤ 1,
 *   `−0.5|t|³ + 2.5|t|² − 4|t| + 2` for 1 < |t| ≤ 2, else 0;
 * - antialiasing stretches it by the factor: output pixel `i` (1-based) sits at input
 *   coordinate `u = i·f + 0.5·(1 − f)` and takes input pixel `j` with weight
 *   `k((u − j)/f) / f`, normalised to sum 1 over the `4f + 2` pixels around `u`;
 * - indices outside the image are mirrored with the edge repeated (MATLAB's
 *   `symmetric`): `… x1 x0 | x0 x1 …`;
 * - the height is resized first, then the width (the result is the same up to
 *   float rounding, the filter being separable), in float32, then clipped to [0, 1]
 *   (MATLAB clips only integer images; bicubic can overshoot at edges).
 *
 * Both spatial sizes must be divisible by `factor` (crop first, as SR "modcrop"
 * does), so that HR and LR images pair exactly.
 *
 * @param x Images `[n, h, w, c]` in [0, 1].
 * @param factor Downsampling factor, 2 or 4.
 * @returns Images `[n, h/factor, w/factor, c]`, float32 in [0, 1]; `x` is not disposed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../../backend/setup_backend.ts";
 * import { downsampleBicubic } from "./bicubic_downsample.ts";
 * await setupBackend({ quiet: true });
 * const hr = tf.fill([1, 8, 8, 3], 0.25) as tf.Tensor4D;
 * const lr = downsampleBicubic(hr, 2);
 * assert.deepEqual(lr.shape, [1, 4, 4, 3]);
 * tf.dispose([hr, lr]);
 * ```
 */
export function downsampleBicubic(x: tf.Tensor4D, factor: 2 | 4): tf.Tensor4D {
  if (x.rank !== 4) {
    throw new RangeError(`Expected NHWC images of rank 4 but found shape [${x.shape}]`);
  }
  if (factor !== 2 && factor !== 4) {
    throw new RangeError(`Expected factor 2 or 4 but found ${factor}`);
  }
  const [n, h, w, c] = x.shape;
  if (h % factor !== 0 || w % factor !== 0) {
    throw new RangeError(
      `Expected height and width divisible by ${factor} but found ${h}x${w} (crop first)`,
    );
  }
  const oh = h / factor, ow = w / factor;
  return tf.tidy(() => {
    const xf = tf.cast(x, "float32");
    const wh = tf.tensor2d(_imresizeWeights(h, factor), [oh, h]);
    const ww = tf.tensor2d(_imresizeWeights(w, factor), [ow, w]);
    // Height: [h, n·w·c] → [oh, n·w·c].
    const a = tf.reshape(tf.transpose(xf, [1, 0, 2, 3]), [h, n * w * c]);
    const b = tf.reshape(tf.matMul(wh, a), [oh, n, w, c]);
    // Width: [w, n·oh·c] → [ow, n·oh·c].
    const d = tf.reshape(tf.transpose(b, [2, 1, 0, 3]), [w, n * oh * c]);
    const e = tf.reshape(tf.matMul(ww, d), [ow, n, oh, c]);
    return tf.clipByValue(tf.transpose(e, [1, 2, 0, 3]), 0, 1) as tf.Tensor4D;
  });
}

/** Keys' cubic kernel with a = −0.5. */
export function _cubic(t: number): number {
  const a = Math.abs(t), a2 = a * a, a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

/**
 * The `[n/factor, n]` row-major matrix of MATLAB `imresize`'s bicubic weights
 * (antialiased) along one axis of length `n`, in float64 before the float32 cast.
 */
export function _imresizeWeights(n: number, factor: number): Float32Array {
  const scale = 1 / factor;
  const out = n / factor;
  const width = 4 / scale;
  const taps = Math.ceil(width) + 2;
  const m = new Float64Array(out * n);
  for (let i = 1; i <= out; i++) {
    const u = i / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - width / 2);
    const weights: number[] = [];
    const index: number[] = [];
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const j = left + t; // 1-based input index
      const wgt = scale * _cubic(scale * (u - j));
      weights.push(wgt);
      index.push(_symmetric(j - 1, n));
      sum += wgt;
    }
    for (let t = 0; t < taps; t++) m[(i - 1) * n + index[t]] += weights[t] / sum;
  }
  return Float32Array.from(m);
}

/** 0-based index `j` mirrored into [0, n) with the edge repeated (`symmetric`). */
function _symmetric(j: number, n: number): number {
  const period = 2 * n;
  let k = ((j % period) + period) % period;
  if (k >= n) k = period - 1 - k;
  return k;
}
