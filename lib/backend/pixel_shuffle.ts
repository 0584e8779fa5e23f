/**
 * Pixel shuffle (depth-to-space) that is differentiable on every TF.js backend.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/**
 * Rearranges channel blocks into spatial blocks: `[N, H, W, C·s²] → [N, H·s, W·s, C]` with
 * `out[n, h·s + i, w·s + j, c] = x[n, h, w, (i·s + j)·C + c]`, the channel order of
 * `tf.depthToSpace(x, s, "NHWC")` (and of TensorFlow's `DepthToSpace`; PyTorch's
 * `PixelShuffle` orders channels `c·s² + i·s + j` instead). Written as reshape + transpose
 * + reshape because TF.js has no gradient for `DepthToSpace`.
 *
 * @param x NHWC input whose channel count is a multiple of `scale²`.
 * @param scale Upscaling factor, an integer ≥ 1.
 * @returns The NHWC output, `scale` times larger in height and width.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { pixelShuffle } from "./pixel_shuffle.ts";
 * await tf.setBackend("cpu");
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 1, 4]);
 * const y = pixelShuffle(x, 2); // [[1, 2], [3, 4]] as [1, 2, 2, 1]
 * if (y.shape.join() !== "1,2,2,1") throw new Error("unexpected shape");
 * ```
 */
export function pixelShuffle(x: tf.Tensor4D, scale: number): tf.Tensor4D {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new RangeError(`Expected scale to be an integer >= 1 but found ${scale}`);
  }
  if (x.rank !== 4) {
    throw new RangeError(`Expected a rank-4 NHWC tensor but found shape [${x.shape}]`);
  }
  const [n, h, w, depth] = x.shape;
  const s2 = scale * scale;
  if (depth % s2 !== 0) {
    throw new RangeError(
      `Expected the channel count to be a multiple of scale² = ${s2} but found ${depth}`,
    );
  }
  if (scale === 1) return tf.clone(x);
  const c = depth / s2;
  return tf.tidy(() => {
    const blocks = tf.reshape(x, [n, h, w, scale, scale, c]);
    const moved = tf.transpose(blocks, [0, 1, 3, 2, 4, 5]);
    return tf.reshape(moved, [n, h * scale, w * scale, c]);
  });
}
