/**
 * Losses of the two sub-models.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

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
 * @param logits `[N, classes]`.
 * @param probs `[N, classes]` target probabilities (rows sum to 1); no gradient flows into them.
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
export function softCrossEntropyLoss(logits: tf.Tensor2D, probs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() =>
    tf.neg(tf.mean(tf.sum(tf.mul(probs, tf.logSoftmax(logits)), -1))) as tf.Scalar
  );
}
