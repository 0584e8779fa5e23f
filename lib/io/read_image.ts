/**
 * Decode an image file (JPEG, PNG, …) into a float HWC array in [0, 1], optionally
 * resized, through `npm:sharp` (libvips).
 *
 * @module
 */

import sharp from "sharp";
import { _checkResize, _decodeError, _readBytes, type Fit } from "./_image_input.ts";

/** A decoded image: `data` is HWC (row-major, channels last), values in [0, 1]. */
export interface DecodedImage {
  /** Pixel values in [0, 1], length `height * width * channels`. */
  data: Float32Array;
  /** Rows of the returned image (after resizing). */
  height: number;
  /** Columns of the returned image (after resizing). */
  width: number;
  /** 1 (greyscale) or 3 (sRGB). */
  channels: 1 | 3;
}

/** Options of {@linkcode readImage}. */
export interface ReadImageOptions {
  /** Output `[height, width]`; the native size when omitted. */
  size?: readonly [number, number];
  /** 1: greyscale (libvips "b-w" luminance), 3: sRGB. Alpha is always dropped. */
  channels: 1 | 3;
  /** `fill` (default) stretches to `size`; `cover` scales to cover it and crops the centre. */
  fit?: Fit;
}

/**
 * Reads an image file into a float HWC array in [0, 1].
 *
 * Resizing uses sharp's default Lanczos-3 kernel. Greyscale is requested explicitly
 * (`toColourspace("b-w")`), since sharp's raw output otherwise turns greyscale into
 * three channels. 16-bit inputs are reduced to 8 bits before scaling to [0, 1]. EXIF
 * orientation is not applied (pixels are returned as stored, matching their masks).
 *
 * @param path Image file (anything libvips decodes: JPEG, PNG, TIFF, WebP, …).
 * @param options Output size, channel count and fit.
 * @returns The decoded image; throws an Error naming `path` when the file is missing or
 * cannot be decoded (e.g. a truncated JPEG).
 * @example
 * ```ts ignore
 * import { readImage } from "./read_image.ts";
 * const img = await readImage("ISIC_0024306.jpg", { size: [48, 64], channels: 3 });
 * console.log(img.height, img.width, img.data.length); // 48 64 9216
 * ```
 */
export async function readImage(path: string, options: ReadImageOptions): Promise<DecodedImage> {
  const { size, channels, fit = "fill" } = options;
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`Expected channels to be 1 or 3 but found ${channels}`);
  }
  _checkResize(size, fit);
  const bytes = await _readBytes(path, "Image");
  let raw: { data: Uint8Array; info: { channels: number; height: number; width: number } };
  try {
    let pipeline = sharp(bytes, { failOn: "warning" }).removeAlpha();
    if (size) pipeline = pipeline.resize(size[1], size[0], { fit, position: "centre" });
    pipeline = pipeline.toColourspace(channels === 1 ? "b-w" : "srgb");
    raw = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw _decodeError(path, "image", err);
  }
  const { data, info } = raw;
  if (info.channels !== channels) {
    throw new Error(
      `Expected ${channels} channels after decoding ${path} but found ${info.channels}`,
    );
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 255;
  return { data: out, height: info.height, width: info.width, channels };
}
