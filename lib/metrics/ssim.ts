/**
 * Structural similarity (SSIM) of Wang et al. 2004, as computed by scikit-image.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { _asImageBatches, _checkPositive } from "./_images.ts";

/** Options of {@linkcode ssim} and {@linkcode ssimPerImage}. */
export interface SsimOptions {
  /** The data range L of the images (max − min possible value). Default 1, for images in [0, 1]. */
  dataRange?: number;
}

/** Gaussian window of Wang et al. 2004: σ = 1.5, radius 5 (11 taps). */
const SIGMA = 1.5;
const RADIUS = 5; // scipy: int(truncate · σ + 0.5) with skimage's truncate = 3.5
const WINDOW = 2 * RADIUS + 1;
const K1 = 0.01;
const K2 = 0.03;

/**
 * SSIM of each image of a batch: Wang et al. 2004 with an 11×11 Gaussian window (σ = 1.5),
 * K1 = 0.01, K2 = 0.03 and population (not sample) covariances, computed per channel and
 * averaged over the channels. Per channel, with Gaussian-weighted local means μ, variances σ²
 * and covariance σxy,
 *
 *     SSIM map = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
 *     C1 = (K1·L)², C2 = (K2·L)²,
 *
 * averaged over the pixels at least 5 (the window radius) from every border. This is
 * scikit-image's `structural_similarity(target, pred, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=L, channel_axis=-1)`; the tests check agreement to
 * 1e-4. Since the border strip that skimage crops is exactly the window radius, its
 * 'reflect' padding never reaches the averaged pixels, so the windows here are applied as
 * 'valid' separable depthwise convolutions (no padding). Local variances are computed on
 * images centred on their per-channel mean, which avoids float32 cancellation.
 *
 * Note skimage's own default data range for float images is 2 (−1..1); here it is 1.
 *
 * @param pred Predicted images, NHWC (or one HWC image), at least 11×11.
 * @param target Reference images of the same shape.
 * @param options `dataRange` (L), default 1.
 * @returns One SSIM per image (length N; length 1 for an HWC input), each in [−1, 1].
 * @throws {RangeError} If the shapes differ, the rank is not 3 or 4, an image is smaller than
 *   11×11, or `dataRange` is not positive.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ssimPerImage } from "./ssim.ts";
 * await tf.setBackend("cpu");
 * const target = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 1);
 * const values = ssimPerImage(target, target);
 * if (values.some((v) => Math.abs(v - 1) > 1e-6)) throw new Error();
 * target.dispose();
 * ```
 */
export function ssimPerImage(
  pred: tf.Tensor,
  target: tf.Tensor,
  options: SsimOptions = {},
): number[] {
  const dataRange = options.dataRange ?? 1;
  _checkPositive("dataRange", dataRange);
  const perImage = tf.tidy(() => {
    const [y, x] = _asImageBatches(pred, target, "ssim");
    const [, h, w, c] = x.shape;
    if (h < WINDOW || w < WINDOW) {
      throw new RangeError(
        `Expected ssim images of at least ${WINDOW}×${WINDOW} (the window size) but found ${h}×${w}`,
      );
    }
    // Centre each image channel on its own mean: covariances are unchanged, and the local
    // means are restored below, but E[x²] − E[x]² no longer cancels catastrophically.
    const mx = tf.mean(x, [1, 2], true);
    const my = tf.mean(y, [1, 2], true);
    const xc = tf.sub(x, mx);
    const yc = tf.sub(y, my);
    const stacked = tf.concat([xc, yc, tf.mul(xc, xc), tf.mul(yc, yc), tf.mul(xc, yc)], 3);
    const filtered = _gaussianValid(stacked as tf.Tensor4D, 5 * c);
    const [fx, fy, fxx, fyy, fxy] = tf.split(filtered, 5, 3);
    const ux = tf.add(fx, mx);
    const uy = tf.add(fy, my);
    const vx = tf.sub(fxx, tf.mul(fx, fx));
    const vy = tf.sub(fyy, tf.mul(fy, fy));
    const vxy = tf.sub(fxy, tf.mul(fx, fy));
    const c1 = (K1 * dataRange) ** 2;
    const c2 = (K2 * dataRange) ** 2;
    const a1 = tf.add(tf.mul(2, tf.mul(ux, uy)), c1);
    const a2 = tf.add(tf.mul(2, vxy), c2);
    const b1 = tf.add(tf.add(tf.mul(ux, ux), tf.mul(uy, uy)), c1);
    const b2 = tf.add(tf.add(vx, vy), c2);
    const map = tf.div(tf.mul(a1, a2), tf.mul(b1, b2));
    // Mean over W, then H, then C: short float32 reductions keep the mean accurate.
    return tf.mean(tf.mean(tf.mean(map, 2), 1), 1);
  });
  const values = perImage.dataSync();
  perImage.dispose();
  return Array.from(values);
}

/**
 * Mean over the batch of the per-image SSIM ({@linkcode ssimPerImage}): Wang et al. 2004 with
 * an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, per channel then averaged, per
 * image then averaged. Agrees with scikit-image's `structural_similarity(...,
 * gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L,
 * channel_axis=-1)` averaged over the batch.
 *
 * @param pred Predicted images, NHWC (or one HWC image), at least 11×11.
 * @param target Reference images of the same shape.
 * @param options `dataRange` (L), default 1 (images in [0, 1]).
 * @returns The mean SSIM, in [−1, 1]; 1 for identical images.
 * @throws {RangeError} If the shapes differ, the rank is not 3 or 4, an image is smaller than
 *   11×11, or `dataRange` is not positive.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ssim } from "./ssim.ts";
 * await tf.setBackend("cpu");
 * // Two constant images 0.3 and 0.6: only the luminance term differs from 1.
 * const a = tf.fill([16, 16, 1], 0.3), b = tf.fill([16, 16, 1], 0.6);
 * const c1 = 0.01 ** 2;
 * const expected = (2 * 0.3 * 0.6 + c1) / (0.3 ** 2 + 0.6 ** 2 + c1);
 * if (Math.abs(ssim(a, b) - expected) > 1e-6) throw new Error();
 * tf.dispose([a, b]);
 * ```
 */
export function ssim(pred: tf.Tensor, target: tf.Tensor, options: SsimOptions = {}): number {
  const values = ssimPerImage(pred, target, options);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The normalised 1-D Gaussian of scipy.ndimage (σ = 1.5, radius 5), computed in float64. */
function _gaussianTaps(): number[] {
  const taps = Array.from({ length: WINDOW }, (_, i) => {
    const d = i - RADIUS;
    return Math.exp((-0.5 * d * d) / (SIGMA * SIGMA));
  });
  const total = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / total);
}

/** Separable Gaussian window over H then W of every channel, 'valid' (output shrinks by 10). */
function _gaussianValid(x: tf.Tensor4D, channels: number): tf.Tensor4D {
  const taps = _gaussianTaps();
  // Depthwise filter [fh, fw, channels, 1]: the same taps for every channel.
  const perChannel = taps.flatMap((t) => new Array<number>(channels).fill(t));
  const vertical = tf.tensor4d(perChannel, [WINDOW, 1, channels, 1], "float32");
  const horizontal = tf.tensor4d(perChannel, [1, WINDOW, channels, 1], "float32");
  return tf.depthwiseConv2d(tf.depthwiseConv2d(x, vertical, 1, "valid"), horizontal, 1, "valid");
}
