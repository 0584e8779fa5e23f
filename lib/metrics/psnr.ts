/**
 * Peak signal-to-noise ratio.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { _asImageBatches, _checkPositive } from "./_images.ts";

/** Options of {@linkcode psnr} and {@linkcode psnrPerImage}. */
export interface PsnrOptions {
  /** The largest possible pixel value MAX (the data range); 1 for images in [0, 1]. Default 1. */
  maxValue?: number;
}

/**
 * PSNR of each image of a batch, in dB: `10·log10(MAX² / MSE)`, with the MSE taken over all
 * pixels and channels of that image. Identical images give `Infinity`. Matches scikit-image's
 * `peak_signal_noise_ratio(target, pred, data_range=MAX)` image by image.
 *
 * @param pred Predicted images, NHWC (or one HWC image); any numeric dtype.
 * @param target Reference images of the same shape.
 * @param options `maxValue` (MAX), default 1.
 * @returns One PSNR per image (length N; length 1 for an HWC input).
 * @throws {RangeError} If the shapes differ, the rank is not 3 or 4, or `maxValue` is not positive.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { psnrPerImage } from "./psnr.ts";
 * await tf.setBackend("cpu");
 * const target = tf.zeros([2, 4, 4, 1]);
 * const pred = tf.concat([tf.fill([1, 4, 4, 1], 0.1), tf.fill([1, 4, 4, 1], 0.01)]);
 * const values = psnrPerImage(pred, target); // MSE 0.01 and 0.0001
 * if (Math.abs(values[0] - 20) > 1e-4 || Math.abs(values[1] - 40) > 1e-3) throw new Error();
 * tf.dispose([target, pred]);
 * ```
 */
export function psnrPerImage(
  pred: tf.Tensor,
  target: tf.Tensor,
  options: PsnrOptions = {},
): number[] {
  const maxValue = options.maxValue ?? 1;
  _checkPositive("maxValue", maxValue);
  const mse = tf.tidy(() => {
    const [p, t] = _asImageBatches(pred, target, "psnr");
    // Mean over W first, then over H and C, so that each float32 reduction stays short.
    return tf.mean(tf.mean(tf.squaredDifference(p, t), 2), [1, 2]);
  });
  const values = mse.dataSync();
  mse.dispose();
  return Array.from(values, (m) => 10 * Math.log10((maxValue * maxValue) / m));
}

/**
 * Mean over the batch of the per-image PSNR ({@linkcode psnrPerImage}), in dB:
 * `10·log10(MAX² / MSE)` per image, then averaged. If any image of the batch equals its
 * target, the mean is `Infinity`.
 *
 * @param pred Predicted images, NHWC (or one HWC image).
 * @param target Reference images of the same shape.
 * @param options `maxValue` (MAX), default 1 (images in [0, 1]).
 * @returns The mean PSNR in dB.
 * @throws {RangeError} If the shapes differ, the rank is not 3 or 4, or `maxValue` is not positive.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { psnr } from "./psnr.ts";
 * await tf.setBackend("cpu");
 * const target = tf.zeros([8, 8, 3]);
 * const pred = tf.fill([8, 8, 3], 0.1); // MSE 0.01
 * if (Math.abs(psnr(pred, target) - 20) > 1e-4) throw new Error();
 * if (psnr(target, target) !== Infinity) throw new Error();
 * tf.dispose([target, pred]);
 * ```
 */
export function psnr(pred: tf.Tensor, target: tf.Tensor, options: PsnrOptions = {}): number {
  const values = psnrPerImage(pred, target, options);
  return values.reduce((a, b) => a + b, 0) / values.length;
}
