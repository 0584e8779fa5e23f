/**
 * A writer for MATLAB Level 5 MAT-files (what `save -v6` / `save -v7` and
 * `scipy.io.savemat` produce), numeric and logical arrays only: the counterpart of
 * {@linkcode readMat}, used to write the synthetic Lizard labels.
 *
 * Layout written (MathWorks, "MAT-File Format"): a 128-byte header (116 bytes of
 * text padded with spaces, 8 zero bytes of subsystem offset, version 0x0100,
 * endian indicator `IM`: little-endian), then one `miMATRIX` element per variable
 * (array flags, dimensions, name, real part, each padded to 8 bytes), or with
 * `compress` one `miCOMPRESSED` element (zlib, level 6) wrapping each `miMATRIX`
 * (`-v7`). Values are stored in the data type of their class (double → `miDOUBLE`,
 * uint16 → `miUINT16`, logical → `miUINT8` with the logical flag, …). The output
 * depends only on the input: no date is written, so it is byte-stable.
 *
 * @module
 */

import { deflateSync } from "node:zlib";
import type { MatClassName } from "./mat_v5.ts";

/** One variable to write: `data` in MATLAB's column-major order (`(i, j)` at `i + j * dims[0]`). */
export interface MatVariable {
  /** MATLAB class of the stored array. */
  className: MatClassName;
  /** Dimensions, at least 2 (`[rows, cols]`); their product must equal `data.length`. */
  dims: readonly number[];
  /** Values, column-major; each must be representable exactly in `className`. */
  data: ArrayLike<number | bigint>;
}

/** Options of {@linkcode writeMat}. */
export interface WriteMatOptions {
  /** Wrap every variable in a zlib `miCOMPRESSED` element, as `save -v7` does (default true). */
  compress?: boolean;
  /** Header text (at most 116 ASCII characters); default names this writer. */
  header?: string;
}

/**
 * Writes numeric variables as a MATLAB Level 5 MAT-file.
 *
 * @param variables Variables by name (a record or a Map; written in its order). Names
 * must start with a letter and hold letters, digits and `_` (at most 63 characters).
 * @param options Compression and header text.
 * @returns The file's bytes. Throws a TypeError for an unknown class or bad name and a
 * RangeError, naming the variable, for dims that do not match the data or a value the
 * class cannot hold exactly (e.g. 70000 in uint16, 1.5 in int32).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeMat } from "./mat_v5_write.ts";
 * import { readMat } from "./mat_v5.ts";
 * const bytes = writeMat({ class: { className: "double", dims: [3, 1], data: [2, 3, 6] } });
 * assert.equal(readMat(bytes).get("class")!.get(2, 0), 6);
 * ```
 */
export function writeMat(
  variables: Record<string, MatVariable> | Map<string, MatVariable>,
  options: WriteMatOptions = {},
): Uint8Array {
  const { compress = true, header = "MATLAB 5.0 MAT-file, written by @gradprom/lib writeMat" } =
    options;
  if (!/^[\x20-\x7e]*$/.test(header) || header.length > 116) {
    throw new RangeError(
      `Expected header text of at most 116 printable ASCII characters but found ${header.length}`,
    );
  }
  const entries = variables instanceof Map ? [...variables] : Object.entries(variables);
  const parts: Uint8Array[] = [_header(header)];
  const seen = new Set<string>();
  for (const [name, v] of entries) {
    if (seen.has(name)) throw new TypeError(`Variable '${name}' given twice`);
    seen.add(name);
    const matrix = _matrix(name, v);
    if (compress) {
      const z = new Uint8Array(deflateSync(matrix, { level: 6 }));
      parts.push(_tag(MI_COMPRESSED, z.length), z);
    } else parts.push(matrix);
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ------------------------------------------------------------------------------------ internals

const MI_INT8 = 1, MI_INT32 = 5, MI_UINT32 = 6, MI_MATRIX = 14, MI_COMPRESSED = 15;

type _Typed = { new (n: number): ArrayLike<number | bigint> & { buffer: ArrayBufferLike } };

/** class → [mx class code, mi data type, typed array]. */
const _CLASS: Record<MatClassName, [number, number, _Typed]> = {
  double: [6, 9, Float64Array],
  single: [7, 7, Float32Array],
  int8: [8, 1, Int8Array],
  uint8: [9, 2, Uint8Array],
  int16: [10, 3, Int16Array],
  uint16: [11, 4, Uint16Array],
  int32: [12, 5, Int32Array],
  uint32: [13, 6, Uint32Array],
  int64: [14, 12, BigInt64Array],
  uint64: [15, 13, BigUint64Array],
  logical: [9, 2, Uint8Array],
};

function _header(text: string): Uint8Array {
  const out = new Uint8Array(128);
  out.fill(0x20, 0, 116);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  // bytes 116..123: subsystem data offset, zero; 124..125 version; 126..127 "IM".
  new DataView(out.buffer).setUint16(124, 0x0100, true);
  out[126] = 0x49; // I
  out[127] = 0x4d; // M
  return out;
}

function _tag(type: number, nbytes: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, nbytes, true);
  return out;
}

/** A data element: tag, data, zero padding to 8 bytes. */
function _element(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + Math.ceil(data.length / 8) * 8);
  out.set(_tag(type, data.length));
  out.set(data, 8);
  return out;
}

function _matrix(name: string, v: MatVariable): Uint8Array {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new TypeError(
      `Expected a variable name of a letter then letters, digits or _ (at most 63) but found ` +
        JSON.stringify(name),
    );
  }
  const spec = _CLASS[v?.className];
  if (!spec) {
    throw new TypeError(
      `Expected className of '${name}' to be one of ${Object.keys(_CLASS).join(", ")} but ` +
        `found ${JSON.stringify(v?.className)}`,
    );
  }
  const dims = [...v.dims];
  if (dims.length < 2 || !dims.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 31)) {
    throw new RangeError(
      `Expected dims of '${name}' to be at least 2 non-negative integers but found ` +
        `[${dims.join(", ")}]`,
    );
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== v.data.length) {
    throw new RangeError(
      `Expected ${count} values for '${name}' (dims [${dims.join(", ")}]) but found ` +
        `${v.data.length}`,
    );
  }
  const [mx, mi, Ctor] = spec;
  const typed = new Ctor(count) as unknown as { [i: number]: number | bigint; buffer: ArrayBuffer };
  const big = Ctor === BigInt64Array || Ctor === BigUint64Array;
  for (let i = 0; i < count; i++) {
    const x = v.data[i];
    let ok: boolean;
    if (big) {
      const b = typeof x === "bigint" ? x : Number.isInteger(x) ? BigInt(x) : undefined;
      typed[i] = b ?? 0n;
      ok = b !== undefined && typed[i] === b;
    } else {
      const n = Number(x);
      typed[i] = n;
      ok = Object.is(typed[i], n) || (Number.isNaN(n) && Number.isNaN(typed[i] as number));
      if (v.className === "logical") ok = ok && (n === 0 || n === 1);
    }
    if (!ok) {
      throw new RangeError(
        `Value ${x} at index ${i} of '${name}' cannot be stored exactly as ${v.className}`,
      );
    }
  }
  const flags = new Uint8Array(8);
  new DataView(flags.buffer).setUint32(0, mx | (v.className === "logical" ? 0x200 : 0), true);
  const dimBytes = new Uint8Array(dims.length * 4);
  const dv = new DataView(dimBytes.buffer);
  dims.forEach((d, k) => dv.setInt32(k * 4, d, true));
  const body = [
    _element(MI_UINT32, flags),
    _element(MI_INT32, dimBytes),
    _element(MI_INT8, new TextEncoder().encode(name)),
    _element(mi, _leBytes(typed.buffer)),
  ];
  const size = body.reduce((a, b) => a + b.length, 0);
  const out = new Uint8Array(8 + size);
  out.set(_tag(MI_MATRIX, size));
  let off = 8;
  for (const b of body) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

const _HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function _leBytes(buffer: ArrayBuffer): Uint8Array {
  const bytes = new Uint8Array(buffer);
  if (_HOST_LE) return bytes;
  throw new Error("writeMat supports little-endian hosts only");
}
