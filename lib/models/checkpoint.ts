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

/**
 * Assigns weights encoded by {@link encodeWeights} to a module of the same
 * architecture. Throws naming the first variable that is missing, extra or of
 * another shape.
 */
export function decodeWeightsInto(m: Module, bytes: Uint8Array, source = "weights"): void {
  if (bytes.length < 4) {
    throw new Error(`${source}: expected a weights file but found ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = view.getUint32(0, true);
  let header: { format: string; variables: { path: string; shape: number[]; offset: number }[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + hlen)));
  } catch {
    throw new Error(`${source}: corrupt header (not ${FORMAT})`);
  }
  if (header.format !== FORMAT) {
    throw new Error(`${source}: expected format ${FORMAT} but found ${header.format}`);
  }
  const values = new Float32Array(bytes.slice(4 + hlen).buffer);
  const mine = new Map(
    [...m.params.entries(), ...m.state.entries()].map(([k, v]) => [k.slice(m.scope.length + 1), v]),
  );
  const seen = new Set<string>();
  for (const e of header.variables) {
    const v = mine.get(e.path);
    if (!v) throw new Error(`${source}: variable '${e.path}' does not exist in ${m.scope}`);
    if (v.shape.join() !== e.shape.join()) {
      throw new Error(
        `${source}: expected shape [${v.shape}] for '${e.path}' but found [${e.shape}]`,
      );
    }
    const size = v.size;
    if (e.offset + size > values.length) throw new Error(`${source}: truncated at '${e.path}'`);
    tf.tidy(() =>
      v.assign(tf.tensor(values.subarray(e.offset, e.offset + size), v.shape, "float32"))
    );
    seen.add(e.path);
  }
  const missing = [...mine.keys()].filter((k) => !seen.has(k));
  if (missing.length) throw new Error(`${source}: no values for ${missing.join(", ")}`);
}

/** Saves a module's variables to a file atomically. */
export async function saveWeights(m: Module, path: string): Promise<void> {
  await writeFileAtomic(path, encodeWeights(m));
}

/** Loads a module's variables from a file written by {@link saveWeights}. */
export async function loadWeights(m: Module, path: string): Promise<void> {
  decodeWeightsInto(m, new Uint8Array(await readFile(path)), path);
}
