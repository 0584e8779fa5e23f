/**
 * The gradient of TF.js's `FusedBatchNorm` kernel (`tf.batchNorm`), without `Tile`.
 *
 * tfjs-core 4.22's gradient of `x` is `dy · tile(rsqrt(variance + ε), [N, H, W, 1]) · scale`:
 * it materialises the per-channel factor at the full size of `x` with `Tile` first. On wasm
 * that `Tile` was 26% of a whole GradProm step's kernel time (BENCHMARKS.md). A broadcasting
 * multiply gives the very same products (each element is `dy · r[c]`, rounded once), so on
 * every backend this gradient is the stock one with the `Tile` replaced by broadcasting: the
 * numbers are bit-identical.
 *
 * On the onednn backend it goes further (results equal up to float rounding): with
 * `S₁ = Σ dy` and `S₂ = Σ dy·(x − mean)` over N, H, W, the gradients of mean, variance, scale
 * and offset are per-channel products of `S₁`, `S₂` and `r = rsqrt(variance + ε)`, and
 * `dx = dy · (r·scale)`: three full-size element-wise passes and two reductions instead of
 * nine and four.
 *
 * Lives with the onednn backend because that is where it was measured; it is registered for
 * all backends by `setupBackend`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";

let _done = false;

/**
 * Registers the `FusedBatchNorm` gradient described in the module doc (replacing the
 * tfjs-core one). Call after `registerGradients()`. Idempotent.
 *
 * @param fastBackend Backend on which to use the restructured (fewer-pass) gradient.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { registerGradients } from "../register_gradients.ts";
 * import { registerBatchNormGradient } from "./batch_norm_gradient.ts";
 * registerGradients();
 * registerBatchNormGradient();
 * await tf.setBackend("cpu");
 * const [mean, variance, offset, scale] = [2, 1, 0, 3].map((v) => tf.tensor1d([v]));
 * // d/dx of Σ batchNorm(x) with fixed statistics is scale / √(variance + ε) everywhere.
 * const g = tf.grad((x) => tf.sum(tf.batchNorm(x, mean, variance, offset, scale, 1e-3)))(
 *   tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]),
 * );
 * if (Math.abs(g.dataSync()[0] - 3 / Math.sqrt(1.001)) > 1e-5) throw new Error("bad gradient");
 * ```
 */
export function registerBatchNormGradient(fastBackend = "onednn"): void {
  if (_done) return;
  if (tf.getGradient("FusedBatchNorm") === undefined) {
    throw new Error(
      "Expected the tfjs-core gradients to be registered (registerGradients) but found no " +
        "FusedBatchNorm gradient",
    );
  }
  tf.registerGradient({
    kernelName: "FusedBatchNorm",
    inputsToSave: ["x", "mean", "variance", "scale"],
    gradFunc: (dyIn, saved, attrs) => {
      const dy = dyIn as tf.Tensor;
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const [x, mean, variance, scale] = saved;
      const scaleValue = scale == null ? tf.scalar(1) : scale;
      const reductionAxes = backend_util.getReductionAxes(mean.shape, x.shape);
      const rsqrt = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const sumOver = (t: tf.Tensor) => reductionAxes.length > 0 ? tf.sum(t, reductionAxes) : t;
      if (tf.getBackend() === fastBackend) {
        const xMinusMean = tf.sub(x, mean);
        const s1 = sumOver(dy);
        const s2 = sumOver(tf.mul(dy, xMinusMean));
        const rScale = tf.mul(rsqrt, scaleValue);
        const r3 = tf.mul(tf.mul(rsqrt, rsqrt), rsqrt);
        return {
          x: () => tf.reshape(tf.mul(dy, rScale), x.shape),
          mean: () => tf.reshape(tf.neg(tf.mul(rScale, s1)), mean.shape),
          variance: () =>
            tf.reshape(tf.mul(tf.mul(tf.mul(r3, tf.scalar(-0.5)), scaleValue), s2), mean.shape),
          scale: () => tf.reshape(tf.mul(rsqrt, s2), mean.shape),
          offset: () => tf.reshape(s1, mean.shape),
        };
      }
      // tfjs-core 4.22's gradient (gradients/FusedBatchNorm_grad.ts), Tile → broadcast.
      const xMinusMean = tf.sub(x, mean);
      const dyTimesScaleValue = tf.mul(dy, scaleValue);
      const minusHalfRCube = tf.mul(tf.mul(tf.mul(rsqrt, rsqrt), rsqrt), tf.scalar(-0.5));
      return {
        x: () => tf.reshape(tf.mul(tf.mul(dy, rsqrt), scaleValue), x.shape),
        mean: () => {
          const meanDer = tf.mul(tf.mul(rsqrt, tf.scalar(-1)), dyTimesScaleValue);
          return tf.reshape(mean.rank === 1 ? sumOver(meanDer) : meanDer, mean.shape);
        },
        variance: () => {
          const varianceDer = tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScaleValue);
          return tf.reshape(mean.rank === 1 ? sumOver(varianceDer) : varianceDer, mean.shape);
        },
        scale: () => {
          const scaleDer = tf.mul(dy, tf.mul(xMinusMean, rsqrt));
          return tf.reshape(mean.rank === 1 ? sumOver(scaleDer) : scaleDer, mean.shape);
        },
        offset: () => tf.reshape(mean.rank === 1 ? sumOver(dy) : dy, mean.shape),
      };
    },
  });
  _done = true;
}
