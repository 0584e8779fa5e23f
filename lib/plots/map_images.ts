/**
 * Maps (gradients, class activation maps) as coloured grid images.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { jetColormap } from "../cam/cam_overlay.ts";
import { type GridImage, gridImages } from "./image_grid.ts";

/** Options of {@link mapImages}. */
export interface MapImagesOptions {
  /**
   * Per image, the map is divided by this quantile of its own values, then clipped to [0, 1]
   * (default 0.99: a few extreme pixels of a gradient map do not wash the rest out; 1 divides by
   * the maximum). An all-zero map stays zero.
   */
  quantile?: number;
  /** Masks `[N, H, W(, 1)]` whose outline is drawn (white) over the maps. */
  outline?: tf.Tensor;
  /** One caption per map. */
  captions?: string[];
}

/**
 * Colours maps with the jet colour map of `camOverlay` (blue low, red high), each image scaled
 * on its own.
 *
 * @param maps `[N, H, W]`, non-negative.
 * @param options Quantile of the scaling, outline masks, captions.
 * @returns One RGB grid image per map.
 * @throws {RangeError} For maps of another rank or a quantile outside (0, 1].
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { mapImages } from "./map_images.ts";
 * await tf.setBackend("cpu");
 * const [im] = mapImages(tf.tensor3d([[[0, 2]]]), { quantile: 1 });
 * assert.deepEqual(Array.from(im.pixels), [0, 0, 128, 128, 0, 0]); // dark blue, dark red
 * ```
 */
export function mapImages(maps: tf.Tensor, options: MapImagesOptions = {}): GridImage[] {
  if (maps.rank !== 3) throw new RangeError(`Expected maps [N, H, W] but found [${maps.shape}]`);
  const q = options.quantile ?? 0.99;
  if (!(q > 0 && q <= 1)) throw new RangeError(`Expected quantile in (0, 1] but found ${q}`);
  const [n, h, w] = maps.shape;
  const values = maps.dataSync() as Float32Array;
  const scale = Array.from({ length: n }, (_, i) => {
    const v = Array.from(values.subarray(i * h * w, (i + 1) * h * w)).sort((a, b) => a - b);
    const s = v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)];
    return s > 0 ? 1 / s : 0;
  });
  const rgb = tf.tidy(() =>
    jetColormap(tf.mul(maps, tf.reshape(tf.tensor1d(scale), [n, 1, 1]))) as tf.Tensor4D
  );
  try {
    return gridImages(rgb, {
      ...(options.captions ? { captions: options.captions } : {}),
      ...(options.outline ? { outline: options.outline } : {}),
    });
  } finally {
    rgb.dispose();
  }
}
