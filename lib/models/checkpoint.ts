/**
 * Saving and loading a model's variables, bit-exactly.
 *
 * Format: one binary file, a little-endian uint32 header length, a UTF-8
 * JSON header `{format, scope, variables: [{path, shape, offset}]}` and the
 * float32 values. Paths are relative to the model's scope, so weights saved
 * from `resnet_3` load into `resnet_7` of the same architecture.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFile } from "node:fs/promises";
import { _readTensorFile } from "../util/_tensor_file.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";
import type { Module } from "./module.ts";

const FORMAT = "gradprom-weights-v1";

/** Encodes every variable (parameters and state) of a module. */
export function encodeWeights(m: Module): Uint8Array {
  const vars = [...m.params.entries(), ...m.state.entries()];
  let offset = 0;
  const entries = vars.map(([name, v]) => {
    const e = { path: name.slice(m.scope.length + 1), shape: v.shape, offset };
    offset += v.size;
    return e;
  });
  const header = new TextEncoder().encode(
    JSON.stringify({ format: FORMAT, scope: m.scope, variables: entries }),
  );
  const values = new Float32Array(offset);
  vars.forEach(([, v], i) => values.set(v.dataSync() as Float32Array, entries[i].offset));
  const pad = (4 - ((4 + header.length) % 4)) % 4;
  const out = new Uint8Array(4 + header.length + pad + values.byteLength);
  new DataView(out.buffer).setUint32(0, header.length + pad, true);
  out.set(header, 4);
  out.fill(0x20, 4 + header.length, 4 + header.length + pad);
  out.set(new Uint8Array(values.buffer), 4 + header.length + pad);
  return out;
}

/** What to do with a weights file that cannot be read. */
const HINT = "delete it, or run again with --force, to compute it again";

/**
 * Assigns weights encoded by {@link encodeWeights} to a module of the same
 * architecture. The bytes are checked whole before any variable changes.
 *
 * @param m The module.
 * @param bytes The encoded weights.
 * @param source Where they came from (a path), for errors.
 * @throws {Error} Naming `source` and what is wrong: a file that is empty, truncated, of the
 *   wrong size for its header or with a garbled header (`<source>: not a valid weights file
 *   (gradprom-weights-v1): the file is 3 bytes (expected at least 4); …`), or the first variable
 *   that is missing, extra or of another shape.
 */
export function decodeWeightsInto(m: Module, bytes: Uint8Array, source = "weights"): void {
  const { header, values } = _readTensorFile<
    { format: string; variables: { path: string; shape: number[]; offset: number }[] }
  >(bytes, source, {
    format: FORMAT,
    what: "weights file",
    entries: "variables",
    name: "path",
    hint: HINT,
  });
  const mine = new Map(
    [...m.params.entries(), ...m.state.entries()].map(([k, v]) => [k.slice(m.scope.length + 1), v]),
  );
  for (const e of header.variables) {
    const v = mine.get(e.path);
    if (!v) throw new Error(`${source}: variable '${e.path}' does not exist in ${m.scope}`);
    if (v.shape.join() !== e.shape.join()) {
      throw new Error(
        `${source}: expected shape [${v.shape}] for '${e.path}' but found [${e.shape}]`,
      );
    }
  }
  const given = new Set(header.variables.map((e) => e.path));
  const missing = [...mine.keys()].filter((k) => !given.has(k));
  if (missing.length) throw new Error(`${source}: no values for ${missing.join(", ")}`);
  for (const e of header.variables) {
    const v = mine.get(e.path)!;
    tf.tidy(() =>
      v.assign(tf.tensor(values.subarray(e.offset, e.offset + v.size), v.shape, "float32"))
    );
  }
}

/** Saves a module's variables to a file atomically. */
export async function saveWeights(m: Module, path: string): Promise<void> {
  await writeFileAtomic(path, encodeWeights(m));
}

/**
 * Loads a module's variables from a file written by {@link saveWeights}.
 *
 * @throws {Error} Naming the file and what is wrong with it (see {@link decodeWeightsInto}).
 */
export async function loadWeights(m: Module, path: string): Promise<void> {
  decodeWeightsInto(m, new Uint8Array(await readFile(path)), path);
}
