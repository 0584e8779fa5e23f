/**
 * The part Grad-CAM and its segmentation variant share (internal): from a feature map and the
 * gradient of a score with respect to it, the class activation map.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * `ReLU(Σ_k α_k A_k)` with `α_k` the spatial mean of `∂y/∂A_k`, min–max normalised per image
 * to [0, 1] (an all-zero map stays zero), bilinearly resized to `size`, clipped to [0, 1].
 *
 * @param features A `[N, h, w, C]`.
 * @param grads ∂y/∂A, same shape.
 * @param size Output `[H, W]`.
 * @returns `[N, H, W]` in [0, 1].
 */
export function _camFromGradients(
  features: tf.Tensor4D,
  grads: tf.Tensor4D,
  size: [number, number],
): tf.Tensor3D {
  return tf.tidy(() => {
    const alpha = tf.mean(grads, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(alpha, features), 3, true)) as tf.Tensor4D; // [N, h, w, 1]
    const lo = tf.min(cam, [1, 2, 3], true);
    const range = tf.sub(tf.max(cam, [1, 2, 3], true), lo);
    const unit = tf.div(tf.sub(cam, lo), tf.maximum(range, 1e-12)) as tf.Tensor4D;
    const up = tf.image.resizeBilinear(unit, size, false, true);
    return tf.squeeze(tf.clipByValue(up, 0, 1), [3]) as tf.Tensor3D;
  });
}
