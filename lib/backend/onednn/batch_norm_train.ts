/**
 * Batch normalisation in training mode as one oneDNN primitive each way, on the onednn
 * backend.
 *
 * The portable form, `tf.moments` then `tf.batchNorm` with TF.js's autodiff, is ~20 kernel
 * calls per layer for one forward and backward pass (Mean, Sub, Square, Mean, FusedBatchNorm,
 * and the gradients of each). Here the forward pass is one kernel,
 * `GradpromOnednnBatchNormTrain` (oneDNN forward training: batch mean, biased batch variance
 * and the normalised output), and its registered gradient is one kernel,
 * `GradpromOnednnBatchNormTrainGrad` (oneDNN backward: the gradients of `x`, scale and offset,
 * through the batch statistics). Results agree with the portable form up to float rounding
 * (the sums run in other orders); they are not bit-identical. oneDNN accumulates in float32
 * where the cpu backend's sums run in float64, so the difference grows with |mean|/std of a
 * channel: ≤ 1e-6 relative on the tests' inputs (mean/std ≈ 1.5), while one probe with
 * channel means up to 63 and std 1.4 put `y` 1.3e-5 (relative to its largest value) from a
 * float64 reference, against 7e-7 for the cpu path.
 *
 * This file needs tfjs-core only (the kernels live in `_kernels.ts`, registered with the
 * backend by `registerOnednnBackend`), so model code can import it without loading oneDNN.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/** Kernel: inputs `x` (channels last), `scale`, `offset`; outputs `[y, mean, variance]`. */
export const BATCH_NORM_TRAIN_KERNEL = "GradpromOnednnBatchNormTrain";
/**
 * Kernel: inputs `dy`, `x`, `mean`, `variance`, `scale` (attribute `varianceEpsilon`); outputs
 * `[dx, dscale, doffset]`.
 */
export const BATCH_NORM_TRAIN_GRAD_KERNEL = "GradpromOnednnBatchNormTrainGrad";

/**
 * Kernel: inputs `movingMean`, `movingVariance`, `mean`, `variance` (`[C]` each), attributes
 * `count` and `momentum`; outputs `[newMean, newVariance]` (see {@link runningStatistics}).
 */
export const RUNNING_STATISTICS_KERNEL = "GradpromOnednnRunningStatistics";

/** The backend these kernels are registered for (`ONEDNN_BACKEND`, not imported: see above). */
const _BACKEND = "onednn";

/**
 * True if `batchNormTrain` can run `x` with per-channel `scale` and `offset`: the active
 * backend is onednn (with the kernel registered), `x` is a non-empty float32 4-D (NHWC)
 * tensor, and `scale` and `offset` are float32 vectors of its channel count.
 */
export function batchNormTrainApplies(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor): boolean {
  if (tf.getBackend() !== _BACKEND) return false;
  if (tf.getKernel(BATCH_NORM_TRAIN_KERNEL, _BACKEND) === undefined) return false;
  const c = x.shape[3];
  return x.rank === 4 && x.dtype === "float32" && x.size > 0 &&
    [scale, offset].every((t) => t.rank === 1 && t.shape[0] === c && t.dtype === "float32");
}

/** What `batchNormTrain` returns. */
export interface BatchNormTrainResult {
  /** `(x − mean)·scale/√(variance + ε) + offset`, the shape of `x`. */
  y: tf.Tensor4D;
  /** Batch mean over N, H, W, `[C]`. */
  mean: tf.Tensor1D;
  /** Biased batch variance over N, H, W (divided by N·H·W, as `tf.moments`), `[C]`. */
  variance: tf.Tensor1D;
}

/**
 * Batch normalisation of an NHWC tensor with its batch statistics: one native kernel forward,
 * one backward (through `tf.grad` and friends). Only where `batchNormTrainApplies`.
 *
 * @param x Input `[N, H, W, C]`, float32.
 * @param scale Per-channel scale γ, `[C]`.
 * @param offset Per-channel offset β, `[C]`.
 * @param varianceEpsilon ε added to the variance.
 * @returns The normalised output and the batch statistics. Gradients reach `x`, `scale` and
 *   `offset` from all three outputs.
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerOnednnBackend } from "./register_onednn_backend.ts";
 * import { batchNormTrain } from "./batch_norm_train.ts";
 * registerOnednnBackend();
 * await tf.setBackend("onednn");
 * const x = tf.randomNormal([8, 16, 16, 32]) as tf.Tensor4D;
 * const { y, mean, variance } = batchNormTrain(x, tf.ones([32]), tf.zeros([32]), 1e-5);
 * ```
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  varianceEpsilon: number,
): BatchNormTrainResult {
  if (!batchNormTrainApplies(x, scale, offset)) {
    throw new TypeError(
      `Expected the onednn backend, a float32 NHWC x and [C] scale and offset but found ` +
        `${tf.getBackend()}, ${x.dtype} [${x.shape}], [${scale.shape}], [${offset.shape}]`,
    );
  }
  const [y, mean, variance] = tf.engine().runKernel(
    BATCH_NORM_TRAIN_KERNEL,
    { x, scale, offset },
    { varianceEpsilon } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * The running statistics after a training step, as PyTorch keeps them: `moving·(1 − momentum) +
 * batch·momentum`, the variance made unbiased first (`variance·count/(count − 1)`, `count` =
 * N·H·W). On the onednn backend one kernel computes both with the float32 roundings of the
 * five multiplications and two additions below (bit-identical to them, checked in the tests);
 * elsewhere, those ops.
 *
 * @param movingMean Running mean `[C]`.
 * @param movingVariance Running variance `[C]`.
 * @param mean Batch mean `[C]`.
 * @param variance Biased batch variance `[C]`.
 * @param count Values per channel in the batch (N·H·W).
 * @param momentum Weight of the batch statistics.
 * @returns The new running mean and variance (new tensors).
 */
export function runningStatistics(
  movingMean: tf.Tensor1D,
  movingVariance: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  count: number,
  momentum: number,
): [tf.Tensor1D, tf.Tensor1D] {
  const all = [movingMean, movingVariance, mean, variance];
  if (
    tf.getBackend() === _BACKEND &&
    tf.getKernel(RUNNING_STATISTICS_KERNEL, _BACKEND) !== undefined &&
    all.every((t) => t.dtype === "float32" && t.rank === 1 && t.size === mean.size)
  ) {
    return tf.engine().runKernel(
      RUNNING_STATISTICS_KERNEL,
      { movingMean, movingVariance, mean, variance },
      { count, momentum } as unknown as tf.NamedAttrMap,
    ) as [tf.Tensor1D, tf.Tensor1D];
  }
  return tf.tidy(() => {
    const unbiased = tf.mul(variance, count / Math.max(1, count - 1));
    return [
      tf.add(tf.mul(movingMean, 1 - momentum), tf.mul(mean, momentum)),
      tf.add(tf.mul(movingVariance, 1 - momentum), tf.mul(unbiased, momentum)),
    ];
  });
}

/** True if some value of `t` is not zero. */
function _nonZero(t: tf.Tensor): boolean {
  return (t.dataSync() as Float32Array).some((v) => v !== 0);
}

let _registered = false;

/**
 * Registers the gradient of `GradpromOnednnBatchNormTrain`: the one backward kernel for the
 * gradient that reaches the output `y`; gradients that reach the returned `mean` or `variance`
 * themselves (none in the models, where they only feed the running statistics) add
 * `dmean/n + dvariance·2(x − mean)/n` to `dx` with ordinary ops. Idempotent.
 */
export function registerBatchNormTrainGradient(): void {
  if (_registered) return;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN_KERNEL,
    inputsToSave: ["x", "scale"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [x, scale, mean, variance] = saved;
      // Run here rather than in each closure: the tape runs every closure in its own tidy,
      // which would dispose the outputs the other closures need. What a closure does not
      // return is disposed with the backward pass's scope.
      const [dx, dscale, doffset] = tf.engine().runKernel(
        BATCH_NORM_TRAIN_GRAD_KERNEL,
        { dy, x, mean, variance, scale },
        attrs,
      ) as tf.Tensor[];
      const statistics = _nonZero(dmean) || _nonZero(dvariance);
      return {
        x: () => {
          if (!statistics) return dx;
          const n = x.size / x.shape[x.rank - 1];
          const viaVariance = tf.mul(tf.sub(x, mean), tf.mul(dvariance, 2 / n));
          return tf.add(dx, tf.add(viaVariance, tf.div(dmean, n)));
        },
        scale: () => dscale,
        offset: () => doffset,
      };
    },
  });
  _registered = true;
}
