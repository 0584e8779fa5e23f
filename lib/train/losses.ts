/**
 * Losses of the two sub-models.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedSegmentationLoss } from "./_loss_kernels.ts";

/**
 * Mean squared error over all elements, L_IP = mean((pred − target)²).
 *
 * @param pred Enhanced images NHWC.
 * @param target High-quality images NHWC, same shape.
 * @returns A scalar tensor.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { mseLoss } from "./losses.ts";
 * await tf.setBackend("cpu");
 * mseLoss(tf.tensor([1, 2]), tf.tensor([1, 4])).print(); // 2
 * ```
 */
export function mseLoss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar);
}

/**
 * Softmax cross-entropy with integer labels, averaged over the batch:
 * L = −mean_n log softmax(logits_n)[label_n].
 *
 * @param logits `[N, classes]`.
 * @param labels `[N]` int32 class indices.
 * @returns A scalar tensor.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { crossEntropyLoss } from "./losses.ts";
 * await tf.setBackend("cpu");
 * crossEntropyLoss(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32")).print(); // ln 2 ≈ 0.6931
 * ```
 */
export function crossEntropyLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, "int32"), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
  });
}

/**
 * Cross-entropy against soft targets, averaged over the batch:
 * L = −mean_n Σ_k p_nk · log softmax(logits_n)_k. With `p` the recognition
 * network's softmax on the clean image, this is the unsupervised auxiliary
 * loss (no labels): VR's output on the enhanced image is pulled towards its
 * output on the clean one (ESTR's unsupervised variant). Equal to the KL
 * divergence KL(p ‖ softmax(logits)) up to the constant entropy of `p`.
 *
 * For segmentation the same holds per pixel (classes on the last axis, mean
 * over batch and pixels).
 *
 * @param logits `[N, classes]` (or `[N, H, W, classes]`).
 * @param probs Target probabilities of the same shape (summing to 1 on the last axis).
 * @returns A scalar tensor.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { softCrossEntropyLoss } from "./losses.ts";
 * await tf.setBackend("cpu");
 * softCrossEntropyLoss(tf.tensor2d([[0, 0]]), tf.tensor2d([[0.5, 0.5]])).print(); // ln 2 ≈ 0.6931
 * ```
 */
export function softCrossEntropyLoss(logits: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.neg(tf.mean(tf.sum(tf.mul(probs, tf.logSoftmax(logits)), -1))) as tf.Scalar
  );
}

/**
 * Segmentation loss: per-pixel cross-entropy plus soft Dice loss,
 * L = −mean log softmax(z)[y] + (1 − mean_k 2·Σ p_k·t_k / (Σ p_k + Σ t_k + ε)),
 * with p = softmax(z), t the one-hot masks, the Dice mean over classes, ε = 1.
 *
 * On the cpu and onednn backends this is one fused kernel each way (`_loss_kernels.ts`: float64
 * sums, equal to the plain ops up to float32 rounding); elsewhere the plain ops with autodiff.
 *
 * @param logits `[N, H, W, classes]`.
 * @param masks `[N, H, W, 1]` (or `[N, H, W]`) class indices.
 * @returns A scalar tensor.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { segmentationLoss } from "./losses.ts";
 * await tf.setBackend("cpu");
 * const perfect = tf.tensor4d([[[[-9, 9], [9, -9]]]]); // 1×1×2 pixels, classes 1 then 0
 * console.log(segmentationLoss(perfect, tf.tensor3d([[[1, 0]]])).dataSync()[0] < 0.01); // true
 * ```
 */
export function segmentationLoss(logits: tf.Tensor4D, masks: tf.Tensor): tf.Scalar {
  return fusedSegmentationLoss(logits, masks) ?? _segmentationLossOps(logits, masks);
}

/** {@link segmentationLoss} as plain ops (what backends without the fused kernels run). */
export function _segmentationLossOps(logits: tf.Tensor4D, masks: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[3];
    const labels = tf.cast(tf.reshape(masks, logits.shape.slice(0, 3)), "int32");
    const oneHot = tf.oneHot(labels, k);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1)));
    const p = tf.softmax(logits);
    const inter = tf.sum(tf.mul(p, oneHot), [0, 1, 2]);
    const denom = tf.add(tf.sum(p, [0, 1, 2]), tf.sum(oneHot, [0, 1, 2]));
    const diceLoss = tf.sub(1, tf.mean(tf.div(tf.add(tf.mul(inter, 2), 1), tf.add(denom, 1))));
    return tf.add(ce, diceLoss) as tf.Scalar;
  });
}

/**
 * The supervised recognition loss for a network's output: cross-entropy for
 * class logits `[N, K]`, {@link segmentationLoss} for per-pixel logits `[N, H, W, K]`.
 */
export function recognitionLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  if (logits.rank === 2) return crossEntropyLoss(logits as tf.Tensor2D, labels as tf.Tensor1D);
  if (logits.rank === 4) return segmentationLoss(logits as tf.Tensor4D, labels);
  throw new RangeError(`Expected logits of rank 2 or 4 but found shape [${logits.shape}]`);
}
