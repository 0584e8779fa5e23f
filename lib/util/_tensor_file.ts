/**
 * Reading the binary files that hold tensors (model weights, training
 * checkpoints), with errors that name the file and say what is wrong with it.
 *
 * Layout: a little-endian uint32 header length, a UTF-8 JSON header (padded
 * with spaces so that the values start at a multiple of 4), then float32
 * values. The header has a `format` string and a list of entries, each with a
 * name, a `shape` and an `offset` (in values); the entries cover the values
 * exactly.
 *
 * @module
 */

/** One tensor in a file's header. */
export interface TensorEntry {
  shape: number[];
  offset: number;
}

/** What the reader needs to know of a format. */
export interface TensorFileSpec {
  /** The `format` string of the header (e.g. `gradprom-weights-v1`). */
  format: string;
  /** What the file is, for messages (e.g. `weights file`, `checkpoint`). */
  what: string;
  /** The header key of the entry list (e.g. `variables`). */
  entries: string;
  /** The key of an entry's name (e.g. `path`). */
  name: string;
  /** Appended to every error: what to do (e.g. `delete it, or run again with --force, to start over`). */
  hint: string;
}

/**
 * Checks a tensor file's bytes whole (length, header, format, entries, size)
 * before anything is read from it, and returns its header and values.
 *
 * @param bytes The file's contents.
 * @param source The file's path (or another name of where the bytes came from).
 * @param spec The format's name, keys and the hint for errors.
 * @throws {Error} `<source>: not a valid <what> (<format>): <what is wrong>; <hint>`, or
 *   `<source>: expected format <format> but found <other>; <hint>`.
 */
export function _readTensorFile<H extends { format: string }>(
  bytes: Uint8Array,
  source: string,
  spec: TensorFileSpec,
): { header: H; values: Float32Array } {
  const fail = (reason: string) =>
    new Error(`${source}: not a valid ${spec.what} (${spec.format}): ${reason}; ${spec.hint}`);
  if (bytes.length < 4) {
    throw fail(
      bytes.length === 0
        ? "the file is empty (0 bytes; expected at least 4)"
        : `the file is ${bytes.length} byte${bytes.length === 1 ? "" : "s"} (expected at least 4)`,
    );
  }
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (hlen > bytes.length - 4) {
    throw fail(
      `its header length says ${hlen} bytes but only ${bytes.length - 4} follow ` +
        `(the file is ${bytes.length} bytes: truncated, or not a ${spec.format} file)`,
    );
  }
  let header: H;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4, 4 + hlen)),
    );
  } catch {
    throw fail(`its header (${hlen} bytes) is not JSON`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw fail(`its header is not a JSON object`);
  }
  if (header.format !== spec.format) {
    throw new Error(
      `${source}: expected format ${spec.format} but found ${String(header.format)}; ${spec.hint}`,
    );
  }
  const list = (header as Record<string, unknown>)[spec.entries];
  if (!Array.isArray(list)) throw fail(`its header has no '${spec.entries}' list`);
  let end = 0;
  for (const [i, e] of list.entries()) {
    const ok = typeof e === "object" && e !== null && typeof e[spec.name] === "string" &&
      Array.isArray(e.shape) && e.shape.every(_isCount) && _isCount(e.offset);
    if (!ok) throw fail(`entry ${i} of its header is not {${spec.name}, shape, offset}`);
    end = Math.max(end, e.offset + _sizeOf(e.shape));
  }
  if ((4 + hlen) % 4 !== 0) {
    throw fail(`its header length ${hlen} does not end at a multiple of 4 bytes`);
  }
  const expected = 4 + hlen + 4 * end;
  if (bytes.length !== expected) {
    throw fail(
      `the file is ${bytes.length} bytes, expected ${expected} from its header ` +
        (bytes.length < expected ? "(truncated)" : `(${bytes.length - expected} bytes too many)`),
    );
  }
  const values = new Float32Array(bytes.slice(4 + hlen).buffer);
  return { header, values };
}

/** Whether a header value is a whole number ≥ 0. */
function _isCount(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}

/** The number of values of a shape. */
export function _sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
