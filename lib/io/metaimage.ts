/**
 * A reader for MetaImage files (ITK MetaIO): a text header `.mhd` with its data in a separate
 * `.raw` / `.zraw` file, or a single `.mha` whose data follows the header (`ElementDataFile =
 * LOCAL`). CAMUS (echocardiography) ships its images and masks this way.
 *
 * Written by hand because the format is a few "Key = Value" lines and a block of samples,
 * while the ready-made reader `@itk-wasm/image-io` weighs ~27 MB.
 *
 * Header keys used (MetaIO spec: https://itk.org/Wiki/ITK/MetaIO/Documentation): `NDims`,
 * `DimSize` (x first), `ElementType` (`MET_CHAR`, `MET_UCHAR`, `MET_SHORT`, `MET_USHORT`,
 * `MET_INT`, `MET_UINT`, `MET_LONG`, `MET_ULONG` (4 bytes), `MET_LONG_LONG`,
 * `MET_ULONG_LONG`, `MET_FLOAT`, `MET_DOUBLE`, also as `…_ARRAY`), `ElementNumberOfChannels`,
 * `ElementSpacing` (or `ElementSize`), `BinaryDataByteOrderMSB` / `ElementByteOrderMSB`,
 * `CompressedData` (zlib or gzip stream), `HeaderSize` (bytes to skip in the data file; -1:
 * the data is at its end) and `ElementDataFile`, which must be the last key: `LOCAL` or one
 * file name relative to the header. File lists (`LIST`, `%d` patterns) are not supported.
 *
 * **Axis order.** Samples are stored x fastest (then y, z), channels innermost; `data` keeps
 * that order and `dims` is `DimSize` (`[nx, ny, nz]`). A 2-D image's row `y`, column `x`
 * is `data[y * dims[0] + x]` (times `channels`, plus the channel, if several).
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unzipSync } from "node:zlib";

/** A MetaImage as read by {@linkcode readMetaImage}. */
export interface MetaImage {
  /** `DimSize`: size along each axis, x first (`[nx, ny]` or `[nx, ny, nz]`). */
  dims: number[];
  /** `ElementSpacing` (1 for each axis when absent), same order as `dims`. */
  spacing: number[];
  /** `ElementNumberOfChannels` (1 when absent); channels are interleaved, innermost. */
  channels: number;
  /** `ElementType` as written, without an `_ARRAY` suffix, e.g. `MET_UCHAR`. */
  elementType: string;
  /** The samples as float32, x fastest (64-bit and float64 values are rounded). */
  data: Float32Array;
  /** Every header key and its raw value, in file order. */
  header: Record<string, string>;
}

/**
 * Reads a MetaImage: `.mhd` with its `.raw` / `.zraw`, or a `.mha`.
 *
 * @param input A path (string or file URL) to the header file, or the bytes of a `.mha` whose
 * `ElementDataFile` is `LOCAL`.
 * @returns Dims, spacing, channels, element type, the samples (float32, x fastest) and the
 * header. Throws an Error naming the file for a missing or truncated data file, a header that
 * is not MetaImage, or an unknown `ElementType`.
 * @example
 * ```ts
 * import { readMetaImage } from "./metaimage.ts";
 * const url = new URL("../../tests/fixtures/formats/metaimage/camus_2d_uchar.mhd", import.meta.url);
 * const img = readMetaImage(url); // reads camus_2d_uchar.raw beside it
 * const [w, h] = img.dims; // 7 columns, 5 rows
 * console.log(img.elementType, w, h, img.data[(h - 1) * w + (w - 1)]); // "MET_UCHAR" 7 5 …
 * ```
 */
export function readMetaImage(input: string | URL | Uint8Array): MetaImage {
  const path = input instanceof URL ? fileURLToPath(input) : input;
  const source = typeof path === "string" ? path : "<bytes>";
  const bytes = typeof path === "string" ? _readFile(path, "MetaImage header") : path;
  const { header, dataStart } = _parseHeader(bytes, source);
  const int = (key: string) => {
    const v = Number(header[key]);
    if (!Number.isInteger(v)) {
      _fail(source, `expected an integer ${key} but found "${header[key]}"`);
    }
    return v;
  };
  const ndims = int("NDims");
  const list = (key: string, fallback: number) => {
    const v = header[key] === undefined
      ? Array(ndims).fill(fallback)
      : header[key].trim().split(/\s+/).map(Number);
    if (v.length !== ndims || v.some((x) => !Number.isFinite(x))) {
      _fail(source, `expected ${ndims} numbers in ${key} but found "${header[key]}"`);
    }
    return v;
  };
  if (header.DimSize === undefined) _fail(source, "missing DimSize");
  const dims = list("DimSize", 0);
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) {
    _fail(source, `expected positive integers in DimSize but found "${header.DimSize}"`);
  }
  const spacing = list(header.ElementSpacing !== undefined ? "ElementSpacing" : "ElementSize", 1);
  const channels = header.ElementNumberOfChannels === undefined
    ? 1
    : int("ElementNumberOfChannels");
  const elementType = (header.ElementType ?? "").trim().replace(/_ARRAY$/, "");
  const type = _TYPES[elementType];
  if (!type) {
    _fail(
      source,
      `unknown ElementType "${header.ElementType}" (expected one of ${_TYPE_NAMES})`,
    );
  }
  const [Ctor, size] = type;
  const msb = /^true$/i.test(header.BinaryDataByteOrderMSB ?? header.ElementByteOrderMSB ?? "");
  const compressed = /^true$/i.test(header.CompressedData ?? "");
  const count = dims.reduce((a, b) => a * b, 1) * channels, need = count * size;

  // The data: after the header (LOCAL) or in the named file, minus HeaderSize bytes.
  const fileName = header.ElementDataFile.trim();
  let data = bytes.subarray(dataStart), dataSource = source;
  if (fileName === "LOCAL") {
    // the data follows the header line ElementDataFile = LOCAL
  } else if (fileName === "LIST" || fileName.includes("%") || /\s/.test(fileName)) {
    _fail(source, `ElementDataFile "${fileName}" (a file list) is not supported`);
  } else if (typeof path !== "string") {
    _fail(source, `ElementDataFile is "${fileName}": pass the header's path, not its bytes`);
  } else {
    dataSource = isAbsolute(fileName) ? fileName : join(dirname(path), fileName);
    data = _readFile(dataSource, "MetaImage data file", ` (the ElementDataFile of ${path})`);
  }
  const skip = header.HeaderSize === undefined ? 0 : int("HeaderSize");
  if (compressed) {
    try {
      data = unzipSync(data.subarray(Math.max(skip, 0)));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      _fail(dataSource, `could not decompress the CompressedData stream: ${msg}`);
    }
  } else if (skip === -1) data = data.subarray(Math.max(data.length - need, 0));
  else data = data.subarray(skip);
  if (data.length < need) {
    const perPixel = channels > 1 ? ` × ${channels}` : "";
    _fail(
      dataSource,
      `truncated data: ${elementType} [${
        dims.join(", ")
      }]${perPixel} needs ${need} bytes but found ${data.length}` +
        (fileName === "LOCAL" ? ` after the header (byte ${dataStart})` : "") +
        (compressed ? " after decompression" : ""),
    );
  }
  const raw = new Uint8Array(need);
  raw.set(data.subarray(0, need));
  if (size > 1 && msb === _HOST_LE) {
    for (let p = 0; p < raw.length; p += size) raw.subarray(p, p + size).reverse();
  }
  const stored = new Ctor(raw.buffer, 0, count);
  const out = new Float32Array(count);
  if (stored instanceof BigInt64Array || stored instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) out[i] = Number(stored[i]);
  } else out.set(stored);
  return { dims, spacing, channels, elementType, data: out, header };
}

// ------------------------------------------------------------------------------------ internals

type _Ctor = new (
  b: ArrayBuffer,
  o: number,
  n: number,
) =>
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const _TYPES: Record<string, [_Ctor, number]> = {
  MET_CHAR: [Int8Array, 1],
  MET_UCHAR: [Uint8Array, 1],
  MET_SHORT: [Int16Array, 2],
  MET_USHORT: [Uint16Array, 2],
  MET_INT: [Int32Array, 4],
  MET_UINT: [Uint32Array, 4],
  MET_LONG: [Int32Array, 4],
  MET_ULONG: [Uint32Array, 4],
  MET_LONG_LONG: [BigInt64Array, 8],
  MET_ULONG_LONG: [BigUint64Array, 8],
  MET_FLOAT: [Float32Array, 4],
  MET_DOUBLE: [Float64Array, 8],
};

const _TYPE_NAMES = Object.keys(_TYPES).join(", ");

const _HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function _fail(source: string, what: string): never {
  throw new Error(`${source}: ${what}`);
}

/** Reads "Key = Value" lines up to and including ElementDataFile. */
function _parseHeader(bytes: Uint8Array, source: string) {
  const header: Record<string, string> = {};
  const decoder = new TextDecoder("latin1");
  let pos = 0;
  while (pos < bytes.length) {
    let end = bytes.indexOf(0x0a, pos);
    if (end < 0) end = bytes.length;
    const line = decoder.decode(bytes.subarray(pos, end)).replace(/\r$/, "");
    const lineStart = pos;
    pos = end + 1;
    if (line.trim() === "") continue;
    const m = /^\s*([A-Za-z_]\w*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) {
      const shown = JSON.stringify(line.slice(0, 40));
      _fail(
        source,
        `not a MetaImage header: expected a "Key = Value" line but found ${shown} at byte ` +
          `${lineStart}`,
      );
    }
    header[m[1]] = m[2];
    if (m[1] !== "ElementDataFile") continue;
    if (header.NDims === undefined) {
      _fail(source, "not a MetaImage header: no NDims before ElementDataFile");
    }
    return { header, dataStart: Math.min(pos, bytes.length) };
  }
  _fail(source, "not a complete MetaImage header: no ElementDataFile line (it must come last)");
}

function _readFile(path: string, what: string, note = ""): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${what} not found: ${path}${note}`, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`Could not read ${what} ${path}${note}: ${msg}`, { cause: err });
  }
}
