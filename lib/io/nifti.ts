/**
 * A reader for NIfTI-1 and NIfTI-2 single files (`.nii`, and gzip-compressed `.nii.gz`), e.g.
 * the CAMUS echocardiography images and masks.
 *
 * The header is parsed by `nifti-reader-js` (MIT); decompression (node:zlib, so that a
 * truncated `.gz` gives an error instead of short data), the size checks, byte order, datatype
 * conversion and `scl_slope` / `scl_inter` scaling are done here.
 *
 * **Axis order.** NIfTI stores voxels with x varying fastest, then y, then z, … and
 * {@linkcode NiftiImage.data} keeps that order, with `dims = [nx, ny, nz, …]`. Read as a
 * row-major array it is `[…][z][y][x]`: for a 2-D image (CAMUS: `dims = [W, H]` or
 * `[W, H, 1]`) the pixel in row `y`, column `x` is `data[y * dims[0] + x]`, and in 3-D
 * `data[(z * dims[1] + y) * dims[0] + x]`. No reorientation is applied (the qform/sform
 * affine is ignored), so an image can appear flipped or transposed compared with a viewer that
 * applies the affine; nibabel's `get_fdata()` has axes `[x, y, z]`, its transpose.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
// Pinned in deno.json's import map (npm:nifti-reader-js@0.8.0).
import * as nifti from "nifti-reader-js";

/** Scalar NIfTI datatypes that {@linkcode readNifti} reads. */
export type NiftiDatatype =
  | "uint8"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64";

/** A NIfTI image as read by {@linkcode readNifti}. */
export interface NiftiImage {
  /** Size along each axis, x first: `[nx, ny, nz, …]` (`dim[1..dim[0]]` of the header). */
  dims: number[];
  /** Voxel size along each axis (`pixdim[1..dim[0]]`, usually mm), same order as `dims`. */
  pixDims: number[];
  /**
   * Voxel values, x fastest (see the module doc), after scaling by `scl_slope` / `scl_inter`
   * when the slope is non-zero. float64, int32 and 64-bit values are rounded to float32.
   */
  data: Float32Array;
  /** Datatype of the stored voxels (before scaling). */
  datatype: NiftiDatatype;
  /** The scaling applied: `value = sclSlope * stored + sclInter` (1 and 0 when none). */
  sclSlope: number;
  /** See `sclSlope`. */
  sclInter: number;
  /** NIfTI-1 (348-byte header) or NIfTI-2 (540-byte header). */
  version: 1 | 2;
}

/**
 * Reads a NIfTI-1 or NIfTI-2 file (`.nii` or `.nii.gz`; gzip is detected from the bytes).
 *
 * @param input A path (string or file URL) or the file's bytes.
 * @returns The dimensions, voxel sizes, datatype and the scaled voxel values as float32, x
 * fastest. Throws an Error naming the file for a missing, truncated or non-NIfTI file, an
 * unsupported datatype (complex, RGB, float128) or a `.hdr`/`.img` pair.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readNifti } from "./nifti.ts";
 * const url = new URL("../../tests/fixtures/formats/nifti/camus_2d_uint8.nii.gz", import.meta.url);
 * const img = readNifti(url);
 * const [w, h] = img.dims; // 13 columns (x), 9 rows (y)
 * const pixel = (y: number, x: number) => img.data[y * w + x];
 * assert.deepEqual([img.datatype, w, h], ["uint8", 13, 9]);
 * assert.equal(pixel(h - 1, w - 1), img.data[img.data.length - 1]); // x fastest
 * ```
 */
export function readNifti(input: string | URL | Uint8Array): NiftiImage {
  const source = input instanceof Uint8Array ? "<bytes>" : String(input);
  let bytes = input instanceof Uint8Array ? input : _readFile(input);
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipped) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`${source}: could not decompress the gzip data: ${msg}`, { cause: err });
    }
  }
  if (bytes.length < 348) {
    throw new Error(
      `${source}: truncated file: a NIfTI header needs at least 348 bytes but found ${bytes.length}`,
    );
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (!nifti.isNIFTI(buffer as ArrayBuffer)) {
    if (nifti.isNIFTI(buffer as ArrayBuffer, true)) {
      throw new Error(
        `${source}: this is the header of a .hdr/.img pair (magic "ni1"/"ni2"), which ` +
          `readNifti does not read; convert it to a single .nii file`,
      );
    }
    const view = new DataView(buffer);
    const size = view.getInt32(0, true);
    throw new Error(
      `${source}: not a NIfTI file: expected sizeof_hdr 348 or 540 at byte 0 and magic ` +
        `"n+1"/"n+2" but found sizeof_hdr ${size} (little-endian) and magic ` +
        `${JSON.stringify(new TextDecoder("latin1").decode(bytes.subarray(344, 347)))}`,
    );
  }
  let header: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    header = nifti.readHeader(buffer as ArrayBuffer);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${source}: could not read the NIfTI header: ${msg}`, { cause: err });
  }
  const version = header instanceof nifti.NIFTI2 ? 2 : 1;
  const ndim = header.dims[0];
  if (!(ndim >= 1 && ndim <= 7)) {
    throw new Error(`${source}: corrupt NIfTI header: expected dim[0] in [1, 7] but found ${ndim}`);
  }
  const dims = header.dims.slice(1, ndim + 1);
  if (dims.some((d) => !(Number.isInteger(d) && d >= 1))) {
    throw new Error(
      `${source}: corrupt NIfTI header: expected dims >= 1 but found [${dims.join(", ")}]`,
    );
  }
  const pixDims = header.pixDims.slice(1, ndim + 1);
  const type = _DATATYPES[header.datatypeCode];
  if (!type || typeof type === "string") {
    const what = type ?? "unknown";
    throw new Error(
      `${source}: unsupported NIfTI datatype code ${header.datatypeCode} (${what}); ` +
        `readNifti reads the scalar types ${_SCALAR_NAMES}`,
    );
  }
  const [datatype, Ctor, size] = type;
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = Math.round(Number(header.vox_offset));
  const need = offset + count * size;
  if (need > bytes.length) {
    throw new Error(
      `${source}: truncated file: the ${datatype} data of dims [${dims.join(", ")}] starts at ` +
        `byte ${offset} and needs ${count * size} bytes (to byte ${need}) but the ` +
        `${gzipped ? "decompressed " : ""}file has ${bytes.length}`,
    );
  }
  const raw = new Uint8Array(count * size);
  raw.set(bytes.subarray(offset, need));
  if (size > 1 && header.littleEndian !== _HOST_LE) {
    for (let p = 0; p < raw.length; p += size) raw.subarray(p, p + size).reverse();
  }
  const stored = new Ctor(raw.buffer, 0, count);
  const slope = header.scl_slope, inter = header.scl_inter;
  const scaled = Number.isFinite(slope) && slope !== 0;
  const sclSlope = scaled ? slope : 1, sclInter = scaled && Number.isFinite(inter) ? inter : 0;
  const data = new Float32Array(count);
  if (stored instanceof BigInt64Array || stored instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) data[i] = Number(stored[i]) * sclSlope + sclInter;
  } else if (scaled) {
    for (let i = 0; i < count; i++) data[i] = stored[i] * sclSlope + sclInter;
  } else {
    data.set(stored);
  }
  return { dims, pixDims, data, datatype, sclSlope, sclInter, version };
}

// ------------------------------------------------------------------------------------ internals

type _Typed =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type _Ctor = new (buffer: ArrayBuffer, offset: number, length: number) => _Typed;

/** NIfTI datatype codes: readable scalar types, or the name of an unsupported one. */
const _DATATYPES: Record<number, [NiftiDatatype, _Ctor, number] | string> = {
  1: "binary",
  2: ["uint8", Uint8Array, 1],
  4: ["int16", Int16Array, 2],
  8: ["int32", Int32Array, 4],
  16: ["float32", Float32Array, 4],
  32: "complex64",
  64: ["float64", Float64Array, 8],
  128: "RGB24",
  256: ["int8", Int8Array, 1],
  512: ["uint16", Uint16Array, 2],
  768: ["uint32", Uint32Array, 4],
  1024: ["int64", BigInt64Array, 8],
  1280: ["uint64", BigUint64Array, 8],
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "RGBA32",
};

const _SCALAR_NAMES = Object.values(_DATATYPES)
  .flatMap((t) => typeof t === "string" ? [] : [t[0]])
  .join(", ");

const _HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function _readFile(path: string | URL): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`NIfTI file not found: ${path}`, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`Could not read NIfTI file ${path}: ${msg}`, { cause: err });
  }
}
