/**
 * Grad-CAM (Selvaraju et al. 2017) for the ResNet classifier.
 *
 * With `A` the feature map of a stage (the last by default) and `y_c` the logit of class c:
 *
 * ```
 * α_k = mean over (i, j) of ∂y_c / ∂A_k[i, j]
 * CAM = ReLU(Σ_k α_k A_k), min–max normalised per image, bilinearly upsampled to the input size
 * ```
 *
 * Batch norm runs in evaluation mode (running statistics), so each image's map depends on that
 * image alone.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ResNet } from "../models/resnet.ts";
import { _camFromGradients } from "./_cam_map.ts";

/** Options of {@link gradCam}. */
export interface GradCamOptions {
  /**
   * The class whose evidence is mapped: one for every image, or one per image. Default: each
   * image's predicted class (argmax of its logits).
   */
  classIndex?: number | number[];
  /** The stage whose output is the feature map (default the last, as in Selvaraju et al.). */
  stage?: number;
}

/**
 * Class activation maps of a ResNet classifier by Grad-CAM.
 *
 * @param net The classifier.
 * @param x Images NHWC.
 * @param options The class (default: the predicted one) and the stage.
 * @returns `[N, H, W]` maps in [0, 1] at the input's size (the caller disposes them).
 * @throws {RangeError} For a class index outside [0, classes) or a per-image list of the wrong
 *   length.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { resNet } from "../models/resnet.ts";
 * import { gradCam } from "./grad_cam.ts";
 * await setupBackend({ quiet: true }); // registers the gradients Grad-CAM needs
 * const net = resNet({ blocks: [1, 1], widths: [4, 8], classes: 2 }, 0);
 * const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const cam = gradCam(net, x, { classIndex: 1 });
 * assert.deepEqual(cam.shape, [2, 16, 16]);
 * tf.dispose([x, cam]);
 * net.module.dispose();
 * ```
 */
export function gradCam(net: ResNet, x: tf.Tensor4D, options: GradCamOptions = {}): tf.Tensor3D {
  const classes = net.options.classes;
  return tf.tidy(() => {
    const { features, head } = net.split(x, { training: false }, options.stage);
    const idx = _classIndices(options.classIndex, x.shape[0], classes, () => head(features));
    const mask = tf.oneHot(tf.tensor1d(idx, "int32"), classes);
    const score = (f: tf.Tensor) => tf.sum(tf.mul(head(f as tf.Tensor4D), mask)) as tf.Scalar;
    const grads = tf.grad(score)(features) as tf.Tensor4D;
    return _camFromGradients(features, grads, [x.shape[1], x.shape[2]]);
  });
}

/** One class index per image, checked. */
function _classIndices(
  classIndex: number | number[] | undefined,
  n: number,
  classes: number,
  logits: () => tf.Tensor,
): number[] {
  let idx: number[];
  if (classIndex === undefined) {
    idx = Array.from(tf.tidy(() => tf.argMax(logits(), 1)).dataSync());
  } else if (Array.isArray(classIndex)) {
    if (classIndex.length !== n) {
      throw new RangeError(
        `Expected one class index per image (${n}) but found ${classIndex.length}`,
      );
    }
    idx = classIndex;
  } else idx = new Array(n).fill(classIndex);
  for (const c of idx) {
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new RangeError(`Expected a class index in [0, ${classes}) but found ${c}`);
    }
  }
  return idx;
}
