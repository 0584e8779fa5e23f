/**
 * A writer for single-file NIfTI-1 images (`.nii`, or gzip-compressed `.nii.gz`), the
 * counterpart of {@linkcode readNifti}; used by the synthetic CAMUS generator.
 *
 * Layout written: a 348-byte NIfTI-1 header (little-endian, magic `n+1`), 4 zero extension
 * bytes, then the voxels at offset 352, x fastest (the order of {@linkcode NiftiImage.data}).
 * `qform_code` 0 and `sform_code` 1 with a diagonal affine of the voxel sizes, units mm (and s
 * for a 4th axis). gzip (node:zlib, level 9, header mtime 0) makes the output byte-stable for
 * one zlib build.
 *
 * @module
 */

import { gzipSync } from "node:zlib";

/** Datatypes {@linkcode encodeNifti} writes. */
export type NiftiWriteDatatype = "uint8" | "int16" | "uint16" | "float32";

/** An image to write with {@linkcode encodeNifti} / {@linkcode writeNifti}. */
export interface NiftiWriteImage {
  /** Size along each axis, x first (1 to 7 axes). */
  dims: readonly number[];
  /** Voxel values, x fastest; length is the product of `dims`. Rounded for integer types. */
  data: ArrayLike<number>;
  /** Stored datatype (default `uint8`). */
  datatype?: NiftiWriteDatatype;
  /** Voxel sizes, same order as `dims` (default 1 each). */
  pixDims?: readonly number[];
  /** gzip the file (default: when the path ends in `.gz`, for `writeNifti`; false for `encodeNifti`). */
  gzip?: boolean;
}

const _TYPES: Record<
  NiftiWriteDatatype,
  { code: number; bytes: number; min: number; max: number }
> = {
  uint8: { code: 2, bytes: 1, min: 0, max: 255 },
  int16: { code: 4, bytes: 2, min: -32768, max: 32767 },
  uint16: { code: 512, bytes: 2, min: 0, max: 65535 },
  float32: { code: 16, bytes: 4, min: -Infinity, max: Infinity },
};

/**
 * Encodes an image as NIfTI-1 bytes.
 *
 * @param image Dims, values, datatype, voxel sizes, gzip.
 * @returns The file's bytes. Throws a RangeError naming what was found for bad dims, a data
 * length that does not match, or an integer value out of the datatype's range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNifti } from "./nifti_write.ts";
 * import { readNifti } from "./nifti.ts";
 * const bytes = encodeNifti({ dims: [3, 2], data: [0, 1, 2, 3, 4, 5] });
 * const img = readNifti(bytes);
 * assert.deepEqual(img.dims, [3, 2]);
 * assert.equal(img.data[1 * 3 + 2], 5); // row 1, column 2
 * ```
 */
export function encodeNifti(image: NiftiWriteImage): Uint8Array {
  const { dims, data, datatype = "uint8", gzip = false } = image;
  const pixDims = image.pixDims ?? dims.map(() => 1);
  if (
    !Array.isArray(dims) || dims.length < 1 || dims.length > 7 ||
    !dims.every((d) => Number.isInteger(d) && d >= 1 && d <= 32767)
  ) {
    throw new RangeError(
      `Expected 1 to 7 dims, integers in [1, 32767], but found ${JSON.stringify(dims)}`,
    );
  }
  const type = _TYPES[datatype];
  if (!type) {
    throw new TypeError(
      `Expected datatype ${Object.keys(_TYPES).join(", ")} but found ${JSON.stringify(datatype)}`,
    );
  }
  if (pixDims.length !== dims.length || !pixDims.every((p) => Number.isFinite(p) && p > 0)) {
    throw new RangeError(
      `Expected ${dims.length} positive pixDims but found ${JSON.stringify(pixDims)}`,
    );
  }
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) {
    throw new RangeError(
      `Expected ${n} values for dims [${dims.join(", ")}] but found ${data.length}`,
    );
  }
  const out = new Uint8Array(352 + n * type.bytes);
  const v = new DataView(out.buffer);
  v.setInt32(0, 348, true); // sizeof_hdr
  out[38] = 0x72; // regular = 'r'
  v.setInt16(40, dims.length, true);
  for (let i = 0; i < 7; i++) v.setInt16(42 + 2 * i, dims[i] ?? 1, true);
  v.setInt16(70, type.code, true);
  v.setInt16(72, type.bytes * 8, true);
  v.setFloat32(76, 1, true); // pixdim[0] = qfac
  for (let i = 0; i < 7; i++) v.setFloat32(80 + 4 * i, pixDims[i] ?? 1, true);
  v.setFloat32(108, 352, true); // vox_offset
  v.setFloat32(112, 1, true); // scl_slope
  v.setFloat32(116, 0, true); // scl_inter
  out[123] = dims.length >= 4 ? 2 | 8 : 2; // xyzt_units: mm (+ s)
  v.setInt16(252, 0, true); // qform_code
  v.setInt16(254, 1, true); // sform_code: scanner
  for (let r = 0; r < 3; r++) v.setFloat32(280 + 16 * r + 4 * r, pixDims[r] ?? 1, true); // srow
  out.set([0x6e, 0x2b, 0x31, 0], 344); // magic "n+1\0"
  for (let i = 0; i < n; i++) {
    const x = Number(data[i]);
    const at = 352 + i * type.bytes;
    if (datatype === "float32") {
      v.setFloat32(at, x, true);
      continue;
    }
    const r = Math.round(x);
    if (!(r >= type.min && r <= type.max)) {
      throw new RangeError(
        `Expected ${datatype} values in [${type.min}, ${type.max}] but found ${x} at index ${i}`,
      );
    }
    if (datatype === "uint8") out[at] = r;
    else if (datatype === "int16") v.setInt16(at, r, true);
    else v.setUint16(at, r, true);
  }
  return gzip ? new Uint8Array(gzipSync(out, { level: 9 })) : out;
}

/**
 * Writes an image as a NIfTI-1 file; gzip-compressed when `path` ends in `.gz` (unless
 * `image.gzip` says otherwise).
 *
 * @param path Output file (`.nii` or `.nii.gz`).
 * @param image Dims, values, datatype, voxel sizes.
 * @returns Resolves when the file is written.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeNifti } from "./nifti_write.ts";
 * import { readNifti } from "./nifti.ts";
 * const path = await Deno.makeTempFile({ suffix: ".nii.gz" });
 * await writeNifti(path, { dims: [4, 3], data: new Uint8Array(12).fill(7) });
 * assert.equal(readNifti(path).data[11], 7);
 * await Deno.remove(path);
 * ```
 */
export async function writeNifti(path: string, image: NiftiWriteImage): Promise<void> {
  await Deno.writeFile(
    path,
    encodeNifti({ ...image, gzip: image.gzip ?? path.toLowerCase().endsWith(".gz") }),
  );
}
