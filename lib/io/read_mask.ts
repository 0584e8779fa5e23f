/**
 * Decode a label mask (8-bit greyscale PNG) into class indices, optionally resized
 * with nearest-neighbour sampling so no new label values appear.
 *
 * @module
 */

import sharp from "sharp";
import { _checkResize, _decodeError, _readBytes, type Fit } from "./_image_input.ts";

/** Options of {@linkcode readMask}. */
export interface ReadMaskOptions {
  /** Output `[height, width]`; the native size when omitted. */
  size?: readonly [number, number];
  /** `fill` (default) stretches to `size`; `cover` scales and crops the centre like `readImage`. */
  fit?: Fit;
  /**
   * `true` (default): a binary mask, value > 127 → 1, else 0 (ISIC stores 0 / 255).
   * `false`: the stored grey values are the class indices and are returned as they are.
   */
  binary?: boolean;
}

/**
 * Reads a mask file into a row-major `Uint8Array` of class indices (length
 * `height * width` of the output size).
 *
 * Colour masks are reduced to luminance ("b-w"); alpha is dropped. Resizing uses
 * sharp's nearest-neighbour kernel, with the same geometry as {@linkcode readImage}
 * so that an image and its mask read with the same `size` and `fit` stay aligned.
 *
 * @param path Mask file, e.g. `ISIC_0000000_segmentation.png`.
 * @param options Output size, fit and whether the mask is binary.
 * @returns Class indices; throws an Error naming `path` if it is missing or corrupt.
 * @example
 * ```ts ignore
 * import { readMask } from "./read_mask.ts";
 * const m = await readMask("ISIC_0000000_segmentation.png", { size: [48, 64] });
 * console.log(m.length); // 3072, values 0 or 1
 * ```
 */
export async function readMask(path: string, options: ReadMaskOptions = {}): Promise<Uint8Array> {
  const { size, fit = "fill", binary = true } = options;
  _checkResize(size, fit);
  const bytes = await _readBytes(path, "Mask");
  let data: Uint8Array;
  try {
    let pipeline = sharp(bytes, { failOn: "warning" }).removeAlpha();
    if (size) {
      pipeline = pipeline.resize(size[1], size[0], { fit, position: "centre", kernel: "nearest" });
    }
    const out = await pipeline.toColourspace("b-w").raw({ depth: "uchar" }).toBuffer({
      resolveWithObject: true,
    });
    if (out.info.channels !== 1) {
      throw new Error(`expected 1 channel but found ${out.info.channels}`);
    }
    data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  } catch (err) {
    throw _decodeError(path, "mask", err);
  }
  const result = new Uint8Array(data.length);
  if (binary) { for (let i = 0; i < data.length; i++) result[i] = data[i] > 127 ? 1 : 0; }
  else result.set(data);
  return result;
}
