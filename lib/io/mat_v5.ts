/**
 * A reader for MATLAB Level 5 MAT-files (`save -v6` / `-v7`, `scipy.io.savemat`), enough for
 * the Lizard dataset's labels (`inst_map`, `id`, `class`, `bbox`, `centroid`).
 *
 * Written by hand because the only npm reader, `mat-for-js`, is GPL-3.0, which this MIT-style
 * library cannot take on; the format (MathWorks, "MAT-File Format") is small:
 *
 * - a 128-byte header: 116 bytes of text (`MATLAB 5.0 MAT-file, ...`), 8 bytes of subsystem
 *   offset, a 2-byte version (0x0100) and the endian indicator `IM` (little-endian) or `MI`
 *   (big-endian);
 * - then data elements, each an 8-byte tag (type, byte count) and its data padded to 8 bytes,
 *   or a "small data element" (count and type packed in the first 4 bytes, data in the next 4);
 * - each variable is a `miMATRIX` element (array flags, dimensions, name, real part, imaginary
 *   part), or a `miCOMPRESSED` element holding one zlib-compressed `miMATRIX` (`-v7`).
 *
 * Supported: numeric classes double, single, int8–int64, uint8–uint64, and logical, of any
 * number of dimensions, compressed or not, either byte order. The stored data type may be
 * narrower than the class (MATLAB stores integer-valued doubles as `miUINT8`, `miINT16`, …);
 * values are converted to the class. Not supported (an error names the variable): char arrays,
 * cells, structs, objects, sparse and complex arrays. MATLAB `-v7.3` files are HDF5 and are
 * refused with an error saying so.
 *
 * @module
 */

import { inflateSync } from "node:zlib";

/** MATLAB class of a {@linkcode MatArray} (the numeric classes and logical). */
export type MatClassName =
  | "double"
  | "single"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "logical";

/** The typed array holding a {@linkcode MatArray}'s values (logical → `Uint8Array` of 0/1). */
export type MatData =
  | Float64Array
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** One numeric variable of a MAT-file. */
export interface MatArray {
  /** Variable name. */
  name: string;
  /** MATLAB class; `data` has the matching typed array (int64/uint64 → BigInt arrays). */
  className: MatClassName;
  /** Dimensions as MATLAB reports them (`size(x)`), at least 2, e.g. `[rows, cols]`. */
  dims: number[];
  /** Values in MATLAB's column-major order: element `(i, j)` is `data[i + j * dims[0]]`. */
  data: MatData;
  /**
   * The value at a zero-based index, one index per dimension (`get(i, j)` for row i, column j)
   * or one linear column-major index. 64-bit integers are returned as `number` (exact up to
   * 2^53). Throws a RangeError for an index out of bounds.
   */
  get(...index: number[]): number;
}

/** Options of {@linkcode readMat}. */
export interface ReadMatOptions {
  /** Read only these variables; the others are skipped (even if unsupported). Default: all. */
  variables?: readonly string[];
  /** Skip variables of unsupported classes (char, cell, struct, …) instead of throwing. */
  skipUnsupported?: boolean;
}

/**
 * Reads the numeric variables of a MATLAB Level 5 MAT-file.
 *
 * @param input A path (string or file URL) or the file's bytes.
 * @param options Which variables to read, and whether to skip unsupported ones.
 * @returns The variables by name, in file order. Throws an Error naming the file and the byte
 * offset when the file is truncated or corrupt, naming the variable when its class is not
 * supported, and saying that a `-v7.3` file is HDF5.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMat, toRowMajor2d } from "./mat_v5.ts";
 * const path = new URL("../../tests/fixtures/formats/mat/lizard_compressed.mat", import.meta.url);
 * const vars = readMat(path);
 * const inst = vars.get("inst_map")!; // uint16, 37 × 23, column-major
 * assert.equal(inst.className, "uint16");
 * assert.deepEqual(inst.dims, [37, 23]);
 * const rows = toRowMajor2d(inst); // rows[i * 23 + j] === inst.get(i, j)
 * if (rows[5 * 23 + 7] !== inst.get(5, 7)) throw new Error("layout");
 * ```
 */
export function readMat(
  input: string | URL | Uint8Array,
  options: ReadMatOptions = {},
): Map<string, MatArray> {
  const source = input instanceof Uint8Array ? "<bytes>" : String(input);
  const bytes = input instanceof Uint8Array ? input : _readFile(input);
  const le = _checkHeader(bytes, source);
  const wanted = options.variables ? new Set(options.variables) : undefined;
  const out = new Map<string, MatArray>();
  const top = new _Reader(bytes, le, source);
  let off = 128;
  while (off < bytes.length) {
    const tag = top.tag(off, bytes.length);
    let arr: MatArray | _Unsupported | undefined;
    if (tag.type === MI_COMPRESSED) {
      const inner = new _Reader(_inflate(bytes, tag, source), le, source, tag.offset);
      const it = inner.tag(0, inner.bytes.length);
      if (it.type !== MI_MATRIX) {
        throw new Error(
          `${source}: expected miMATRIX (14) inside the miCOMPRESSED element at byte ` +
            `${tag.offset} but found data type ${it.type}`,
        );
      }
      arr = inner.matrix(it);
    } else if (tag.type === MI_MATRIX) {
      arr = top.matrix(tag);
    } else {
      throw new Error(
        `${source}: expected a miMATRIX (14) or miCOMPRESSED (15) element at byte ${off} ` +
          `but found data type ${tag.type}`,
      );
    }
    off = Math.min(tag.next, bytes.length);
    if (arr === undefined || (wanted && !wanted.has(arr.name))) continue;
    if ("unsupported" in arr) {
      if (options.skipUnsupported) continue;
      throw new Error(
        `${source}: variable '${arr.name}' is ${arr.unsupported}, which readMat does not ` +
          `support (numeric and logical arrays only); pass { variables: [...] } to read only ` +
          `the others, or { skipUnsupported: true }`,
      );
    }
    out.set(arr.name, arr);
  }
  if (wanted) {
    const missing = [...wanted].filter((n) => !out.has(n));
    if (missing.length) {
      throw new Error(
        `${source}: variable(s) ${missing.map((n) => `'${n}'`).join(", ")} not found; ` +
          `the file has ${[...out.keys()].map((n) => `'${n}'`).join(", ") || "none readable"}`,
      );
    }
  }
  return out;
}

/**
 * Copies a 2-D {@linkcode MatArray} into row-major order (`out[i * cols + j]` is row i,
 * column j), the layout of an H×W image; trailing singleton dimensions are allowed.
 *
 * @param array A variable returned by {@linkcode readMat}.
 * @returns A new typed array of the same type as `array.data`. Throws a RangeError if the
 * array has more than two non-singleton trailing dimensions.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMat, toRowMajor2d } from "./mat_v5.ts";
 * const path = new URL("../../tests/fixtures/formats/mat/lizard_plain.mat", import.meta.url);
 * const bbox = readMat(path).get("bbox")!; // N × 4 double
 * const rows = toRowMajor2d(bbox);
 * // The first instance's box: row 0 of the N × 4 array.
 * assert.deepEqual([...rows.slice(0, 4)], [0, 1, 2, 3].map((j) => bbox.get(0, j)));
 * ```
 */
export function toRowMajor2d(array: MatArray): MatData {
  const { dims, data } = array;
  if (dims.slice(2).some((d) => d !== 1)) {
    throw new RangeError(
      `Expected a 2-D array for '${array.name}' but found dims [${dims.join(", ")}]`,
    );
  }
  const [rows, cols] = dims;
  const out = new (data.constructor as new (n: number) => MatData)(data.length);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) out[i * cols + j] = data[i + j * rows];
  }
  return out;
}

// ------------------------------------------------------------------------------------ internals

const MI_INT8 = 1, MI_INT32 = 5, MI_UINT32 = 6, MI_MATRIX = 14, MI_COMPRESSED = 15;

type _Ctor = { new (n: number): MatData; new (b: ArrayBuffer, o: number, n: number): MatData };

/** Data types of data elements (`miINT8` … `miUINT64`): typed array and element size. */
const _MI_TYPES: Record<number, [_Ctor, number, string]> = {
  1: [Int8Array, 1, "miINT8"],
  2: [Uint8Array, 1, "miUINT8"],
  3: [Int16Array, 2, "miINT16"],
  4: [Uint16Array, 2, "miUINT16"],
  5: [Int32Array, 4, "miINT32"],
  6: [Uint32Array, 4, "miUINT32"],
  7: [Float32Array, 4, "miSINGLE"],
  9: [Float64Array, 8, "miDOUBLE"],
  12: [BigInt64Array, 8, "miINT64"],
  13: [BigUint64Array, 8, "miUINT64"],
};

/** Array classes (`mxDOUBLE_CLASS` = 6 …): numeric ones with their typed array. */
const _CLASSES: Record<number, [Exclude<MatClassName, "logical">, _Ctor]> = {
  6: ["double", Float64Array],
  7: ["single", Float32Array],
  8: ["int8", Int8Array],
  9: ["uint8", Uint8Array],
  10: ["int16", Int16Array],
  11: ["uint16", Uint16Array],
  12: ["int32", Int32Array],
  13: ["uint32", Uint32Array],
  14: ["int64", BigInt64Array],
  15: ["uint64", BigUint64Array],
};

const _OTHER_CLASSES: Record<number, string> = {
  1: "a cell array",
  2: "a struct",
  3: "an object",
  4: "a char array",
  5: "a sparse array",
  16: "a function handle",
  17: "an opaque object (e.g. string, table, classdef)",
};

const _HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface _Tag {
  /** Byte offset of the tag. */
  offset: number;
  type: number;
  nbytes: number;
  /** Byte offset of the data. */
  data: number;
  /** Byte offset of the next element. */
  next: number;
}

interface _Unsupported {
  name: string;
  unsupported: string;
}

class _Reader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
    readonly source: string,
    /** Offset of the miCOMPRESSED element this buffer was inflated from, if any. */
    readonly inflatedFrom?: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  where(off: number): string {
    return this.inflatedFrom === undefined
      ? `byte ${off}`
      : `byte ${off} of the decompressed miCOMPRESSED element at byte ${this.inflatedFrom}`;
  }

  fail(off: number, what: string): never {
    throw new Error(`${this.source}: ${what} at ${this.where(off)}`);
  }

  u32(off: number): number {
    return this.view.getUint32(off, this.le);
  }

  /** Reads the tag at `off`, checking that its data lies before `end`. */
  tag(off: number, end: number): _Tag {
    if (end - off < 8) {
      this.fail(
        off,
        `truncated file: expected an 8-byte data element tag but found ${end - off} bytes`,
      );
    }
    const word = this.u32(off);
    if (word >>> 16 !== 0) { // small data element: 2-byte count, 2-byte type, 4 data bytes
      const nbytes = word >>> 16;
      if (nbytes > 4) this.fail(off, `corrupt small data element (${nbytes} bytes > 4)`);
      return { offset: off, type: word & 0xffff, nbytes, data: off + 4, next: off + 8 };
    }
    const nbytes = this.u32(off + 4);
    const data = off + 8;
    if (nbytes > end - data) {
      this.fail(
        off,
        `truncated file: data element of type ${word} says ${nbytes} bytes but only ` +
          `${end - data} remain`,
      );
    }
    // miCOMPRESSED data is not padded; everything else is padded to 8 bytes.
    const next = word === MI_COMPRESSED ? data + nbytes : data + Math.ceil(nbytes / 8) * 8;
    return { offset: off, type: word, nbytes, data, next };
  }

  /** Parses the sub-elements of a miMATRIX element. */
  matrix(tag: _Tag): MatArray | _Unsupported | undefined {
    if (tag.nbytes === 0) return undefined; // an empty miMATRIX has no name: nothing to return
    const end = tag.data + tag.nbytes;
    const flags = this.tag(tag.data, end);
    if (flags.type !== MI_UINT32 || flags.nbytes !== 8) {
      this.fail(
        flags.offset,
        `corrupt miMATRIX: expected 8-byte miUINT32 array flags but found type ${flags.type} ` +
          `of ${flags.nbytes} bytes`,
      );
    }
    const flagWord = this.u32(flags.data);
    const classCode = flagWord & 0xff;
    const complex = (flagWord & 0x800) !== 0, logical = (flagWord & 0x200) !== 0;
    if (classCode === 17) { // opaque: flags, name, type system, class name, data; no dims
      return { name: this.text(this.tag(flags.next, end)), unsupported: _OTHER_CLASSES[17] };
    }
    const dimsTag = this.tag(flags.next, end);
    if (dimsTag.type !== MI_INT32 || dimsTag.nbytes % 4 !== 0 || dimsTag.nbytes < 8) {
      this.fail(
        dimsTag.offset,
        `corrupt miMATRIX: expected miINT32 dimensions (at least 2) but found type ` +
          `${dimsTag.type} of ${dimsTag.nbytes} bytes`,
      );
    }
    const dims: number[] = [];
    for (let p = dimsTag.data; p < dimsTag.data + dimsTag.nbytes; p += 4) {
      const d = this.view.getInt32(p, this.le);
      if (d < 0) this.fail(p, `corrupt miMATRIX: negative dimension ${d}`);
      dims.push(d);
    }
    const nameTag = this.tag(dimsTag.next, end);
    const name = this.text(nameTag);
    if (_OTHER_CLASSES[classCode]) return { name, unsupported: _OTHER_CLASSES[classCode] };
    const cls = _CLASSES[classCode];
    if (!cls) this.fail(flags.offset, `unknown array class ${classCode} for variable '${name}'`);
    if (complex) return { name, unsupported: `a complex ${cls[0]} array` };
    const className: MatClassName = logical && classCode === 9 ? "logical" : cls[0];
    const count = dims.reduce((a, b) => a * b, 1);
    if (count === 0 && nameTag.next >= end) return _matArray(name, className, dims, new cls[1](0));
    const real = this.tag(nameTag.next, end);
    const mi = _MI_TYPES[real.type];
    if (!mi) {
      this.fail(real.offset, `unknown data type ${real.type} in variable '${name}'`);
    }
    if (real.nbytes !== count * mi[1]) {
      this.fail(
        real.offset,
        `corrupt variable '${name}': dims [${dims.join(", ")}] need ${count} values but the ` +
          `${mi[2]} data has ${real.nbytes} bytes`,
      );
    }
    const stored = this.typed(real, mi);
    const data = stored instanceof cls[1] ? stored : _convert(stored, cls[1]);
    return _matArray(name, className, dims, data);
  }

  /** An miINT8 / miUINT8 name element as text. */
  text(tag: _Tag): string {
    if (tag.type !== MI_INT8 && tag.type !== 2) {
      this.fail(
        tag.offset,
        `corrupt miMATRIX: expected a miINT8 array name but found type ${tag.type}`,
      );
    }
    return new TextDecoder().decode(this.bytes.subarray(tag.data, tag.data + tag.nbytes));
  }

  /** The element's values in a fresh, aligned typed array, in host byte order. */
  typed(tag: _Tag, [Ctor, size]: [_Ctor, number, string]): MatData {
    // A fresh copy (not `slice`, which on a node Buffer shares memory) aligned at offset 0.
    const copy = new Uint8Array(tag.nbytes);
    copy.set(this.bytes.subarray(tag.data, tag.data + tag.nbytes));
    if (size > 1 && this.le !== _HOST_LE) {
      for (let p = 0; p < copy.length; p += size) copy.subarray(p, p + size).reverse();
    }
    return new Ctor(copy.buffer, 0, tag.nbytes / size);
  }
}

function _convert(src: MatData, Ctor: _Ctor): MatData {
  const out = new Ctor(src.length);
  const toBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[i] = (toBig ? BigInt(v) : Number(v)) as never;
  }
  return out;
}

function _matArray(name: string, className: MatClassName, dims: number[], data: MatData): MatArray {
  return {
    name,
    className,
    dims,
    data,
    get(...index: number[]): number {
      let k = 0;
      if (index.length === 1) k = index[0];
      else if (index.length === dims.length) {
        for (let d = dims.length - 1; d >= 0; d--) {
          const i = index[d];
          if (!Number.isInteger(i) || i < 0 || i >= dims[d]) {
            throw new RangeError(
              `Expected index ${d} of '${name}' in [0, ${dims[d] - 1}] but found ${i}`,
            );
          }
          k = k * dims[d] + i;
        }
      } else {
        throw new RangeError(
          `Expected 1 or ${dims.length} indices for '${name}' but found ${index.length}`,
        );
      }
      if (!Number.isInteger(k) || k < 0 || k >= data.length) {
        throw new RangeError(
          `Expected linear index of '${name}' in [0, ${data.length - 1}] but found ${k}`,
        );
      }
      return Number(data[k]);
    },
  };
}

function _readFile(path: string | URL): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`MAT-file not found: ${path}`, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`Could not read MAT-file ${path}: ${msg}`, { cause: err });
  }
}

const _HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function _isHdf5At(bytes: Uint8Array, off: number): boolean {
  return bytes.length >= off + 8 && _HDF5_SIGNATURE.every((b, i) => bytes[off + i] === b);
}

/** Checks the 128-byte header; returns whether the file is little-endian. */
function _checkHeader(bytes: Uint8Array, source: string): boolean {
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, Math.min(116, bytes.length)));
  const hdf5 = " MATLAB -v7.3 files are HDF5: re-save with save(..., '-v7') or read the " +
    "file with scipy / h5py";
  if (_isHdf5At(bytes, 0) || (text.startsWith("MATLAB 7.3") || _isHdf5At(bytes, 512))) {
    throw new Error(
      `${source}: this is a MATLAB 7.3 MAT-file (HDF5), which readMat cannot read.${hdf5}`,
    );
  }
  if (bytes.length < 128) {
    throw new Error(
      `${source}: truncated file: a MAT-file header is 128 bytes but found ${bytes.length}`,
    );
  }
  if (!text.startsWith("MATLAB")) {
    const shown = JSON.stringify(text.slice(0, 20));
    throw new Error(
      `${source}: not a MATLAB Level 5 MAT-file: expected header text starting with "MATLAB" ` +
        `at byte 0 but found ${shown} (MATLAB v4 files are not supported)`,
    );
  }
  const ind = String.fromCharCode(bytes[126], bytes[127]);
  if (ind !== "IM" && ind !== "MI") {
    throw new Error(
      `${source}: corrupt MAT-file header: expected endian indicator "IM" or "MI" at byte 126 ` +
        `but found ${JSON.stringify(ind)}`,
    );
  }
  const le = ind === "IM";
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint16(124, le);
  if (version === 0x0200) {
    throw new Error(
      `${source}: this is a MATLAB 7.3 MAT-file (HDF5), which readMat cannot read.${hdf5}`,
    );
  }
  if (version !== 0x0100) {
    throw new Error(
      `${source}: unsupported MAT-file version 0x${version.toString(16).padStart(4, "0")} at ` +
        `byte 124 (expected 0x0100, Level 5)`,
    );
  }
  return le;
}

function _inflate(bytes: Uint8Array, tag: _Tag, source: string): Uint8Array {
  try {
    return inflateSync(bytes.subarray(tag.data, tag.data + tag.nbytes));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${source}: could not decompress the miCOMPRESSED element at byte ${tag.offset} ` +
        `(${tag.nbytes} bytes): ${msg}`,
      { cause: err },
    );
  }
}
