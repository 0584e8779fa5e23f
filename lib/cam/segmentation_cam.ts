/**
 * A per-class activation map for the U-Net segmenter (Seg-Grad-CAM, Vinogradova et al. 2020,
 * with the whole image as the region of interest).
 *
 * With `A` the feature map of a decoder level and `y_c = Σ_{i,j} logits[i, j, c]` the class's
 * logits summed over the image:
 *
 * ```
 * α_k = mean over (i, j) of ∂y_c / ∂A_k[i, j]
 * CAM = ReLU(Σ_k α_k A_k), min–max normalised per image, bilinearly upsampled to the input size
 * ```
 *
 * Batch norm runs in evaluation mode, so each image's map depends on that image alone.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { UNet } from "../models/unet.ts";
import { _camFromGradients } from "./_cam_map.ts";

/** Options of {@link segmentationCam}. */
export interface SegmentationCamOptions {
  /**
   * Decoder level of the feature map: 0 the bottleneck, `depth` (the default) the last decoder
   * block at full resolution (see `UNet.split`).
   */
  level?: number;
}

/**
 * The class activation map of one class of a U-Net.
 *
 * @param net The segmenter.
 * @param x Images NHWC (height and width divisible by 2^depth).
 * @param cls The class, in [0, classes).
 * @param options The decoder level.
 * @returns `[N, H, W]` maps in [0, 1] at the input's size (the caller disposes them).
 * @throws {RangeError} For a class outside [0, classes) or a level outside [0, depth].
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { unet } from "../models/unet.ts";
 * import { segmentationCam } from "./segmentation_cam.ts";
 * await setupBackend({ quiet: true }); // registers the gradients Grad-CAM needs
 * const net = unet({ depth: 2, baseWidth: 4, classes: 3 }, 0);
 * const x = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const cam = segmentationCam(net, x, 2, { level: 1 });
 * assert.deepEqual(cam.shape, [1, 16, 16]);
 * tf.dispose([x, cam]);
 * net.module.dispose();
 * ```
 */
export function segmentationCam(
  net: UNet,
  x: tf.Tensor4D,
  cls: number,
  options: SegmentationCamOptions = {},
): tf.Tensor3D {
  const classes = net.options.classes;
  if (!Number.isInteger(cls) || cls < 0 || cls >= classes) {
    throw new RangeError(`Expected a class index in [0, ${classes}) but found ${cls}`);
  }
  return tf.tidy(() => {
    const { features, head } = net.split(x, { training: false }, options.level);
    const mask = tf.reshape(tf.oneHot(tf.tensor1d([cls], "int32"), classes), [1, 1, 1, classes]);
    const score = (f: tf.Tensor) => tf.sum(tf.mul(head(f as tf.Tensor4D), mask)) as tf.Scalar;
    const grads = tf.grad(score)(features) as tf.Tensor4D;
    return _camFromGradients(features, grads, [x.shape[1], x.shape[2]]);
  });
}
