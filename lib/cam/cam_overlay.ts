/**
 * Class activation maps drawn over their images.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Options of {@link camOverlay}. */
export interface CamOverlayOptions {
  /** Weight of the coloured map, in [0, 1] (default 0.5): `(1 − α)·image + α·jet(cam)`. */
  alpha?: number;
}

/**
 * The jet-like colour map used by {@link camOverlay}: 0 → dark blue, 0.5 → green, 1 → dark red,
 * `r = clip(1.5 − |4v − 3|)`, `g = clip(1.5 − |4v − 2|)`, `b = clip(1.5 − |4v − 1|)`.
 *
 * @param cam Values in [0, 1] (clipped), any shape.
 * @returns RGB in [0, 1], shape `[...cam.shape, 3]`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { jetColormap } from "./cam_overlay.ts";
 * await tf.setBackend("cpu");
 * const rgb = jetColormap(tf.tensor1d([0, 0.5, 1])).arraySync();
 * assert.deepEqual(rgb, [[0, 0, 0.5], [0.5, 1, 0.5], [0.5, 0, 0]]);
 * ```
 */
export function jetColormap(cam: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const v = tf.mul(tf.clipByValue(cam, 0, 1), 4);
    const channel = (centre: number) =>
      tf.clipByValue(tf.sub(1.5, tf.abs(tf.sub(v, centre))), 0, 1);
    return tf.stack([channel(3), channel(2), channel(1)], -1);
  });
}

/**
 * Draws class activation maps over images: `(1 − α)·image + α·jet(cam)`.
 *
 * @param image `[N, H, W, C]` or `[H, W, C]` in [0, 1], with C = 1 (grey, shown as RGB) or 3.
 * @param cam `[N, H, W]` or `[H, W]` in [0, 1] (e.g. from `gradCam`), the image's size.
 * @param options `alpha`, the map's weight (default 0.5).
 * @returns RGB in [0, 1] with the image's rank: `[N, H, W, 3]` or `[H, W, 3]`. For 8-bit
 *   pixels: `tf.cast(tf.round(tf.mul(out, 255)), "int32")`.
 * @throws {RangeError} For shapes that do not match, C not 1 or 3, or alpha outside [0, 1].
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { camOverlay } from "./cam_overlay.ts";
 * await tf.setBackend("cpu");
 * const out = camOverlay(tf.zeros([4, 4, 1]), tf.ones([4, 4]), { alpha: 1 });
 * assert.deepEqual(out.shape, [4, 4, 3]);
 * assert.deepEqual(Array.from(out.dataSync().slice(0, 3)), [0.5, 0, 0]);
 * ```
 */
export function camOverlay(
  image: tf.Tensor,
  cam: tf.Tensor,
  options: CamOverlayOptions = {},
): tf.Tensor {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`Expected alpha in [0, 1] but found ${alpha}`);
  }
  if (image.rank !== 3 && image.rank !== 4) {
    throw new RangeError(`Expected an image of rank 3 or 4 but found shape [${image.shape}]`);
  }
  const c = image.shape[image.rank - 1];
  if (c !== 1 && c !== 3) {
    throw new RangeError(`Expected 1 or 3 image channels but found shape [${image.shape}]`);
  }
  const spatial = image.shape.slice(0, -1);
  if (cam.shape.join() !== spatial.join()) {
    throw new RangeError(
      `Expected a map of shape [${spatial}] for an image of shape [${image.shape}] but found [${cam.shape}]`,
    );
  }
  return tf.tidy(() => {
    const rgb = c === 1 ? tf.tile(image, [...spatial.map(() => 1), 3]) : image;
    return tf.add(tf.mul(rgb, 1 - alpha), tf.mul(jetColormap(cam), alpha));
  });
}
