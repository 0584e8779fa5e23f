/**
 * Checkpoints of a training run in progress: the step, the log so far, every
 * model variable (parameters and batch-norm statistics) and every optimizer
 * slot (Adam's moments and its step count), in one file written atomically.
 * A run resumed from one ends with exactly the numbers of an uninterrupted run
 * (the caller replays its seeded batch and noise streams up to the step).
 *
 * Format: a little-endian uint32 header length, a UTF-8 JSON header
 * `{format, step, meta, tensors: [{name, shape, offset}]}`, then float32 values.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFile, rm } from "node:fs/promises";
import type { Module } from "../models/module.ts";
import { _readTensorFile, _sizeOf } from "../util/_tensor_file.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

const FORMAT = "gradprom-training-state-v1";

/** What a checkpoint holds besides tensors. */
export interface TrainingStateMeta {
  /** Steps completed. */
  step: number;
  /** Anything JSON the loop needs back (e.g. its per-step log). */
  meta: unknown;
}

/** The models and optimizers a checkpoint covers, by a stable name. */
export interface TrainingParts {
  modules: Record<string, Module>;
  optimizers: Record<string, tf.Optimizer>;
}

/**
 * Saves the state of a run atomically (a reader never sees half a file).
 *
 * @param path File to write.
 * @param step Steps completed.
 * @param meta JSON-serialisable loop state.
 * @param parts Models and optimizers.
 */
export async function saveTrainingState(
  path: string,
  step: number,
  meta: unknown,
  parts: TrainingParts,
): Promise<void> {
  const named: { name: string; tensor: tf.Tensor }[] = [];
  for (const [m, mod] of Object.entries(parts.modules)) {
    for (const [name, v] of [...mod.params.entries(), ...mod.state.entries()]) {
      named.push({ name: `module:${m}:${name.slice(mod.scope.length + 1)}`, tensor: v });
    }
  }
  const owned: tf.Tensor[] = [];
  for (const [o, opt] of Object.entries(parts.optimizers)) {
    const weights = await opt.getWeights();
    weights.forEach((w, i) => {
      owned.push(w.tensor);
      named.push({ name: `optimizer:${o}:${i}:${w.name}`, tensor: w.tensor });
    });
    for (const [k, v] of Object.entries(_adamPowers(opt))) {
      named.push({ name: `adampow:${o}:${k}`, tensor: v });
    }
  }
  try {
    let offset = 0;
    const entries = named.map(({ name, tensor }) => {
      const e = { name, shape: tensor.shape, offset };
      offset += tensor.size;
      return e;
    });
    const values = new Float32Array(offset);
    named.forEach(({ tensor }, i) =>
      values.set(tensor.dataSync() as Float32Array, entries[i].offset)
    );
    const header = new TextEncoder().encode(
      JSON.stringify({ format: FORMAT, step, meta, tensors: entries }),
    );
    const pad = (4 - ((4 + header.length) % 4)) % 4;
    const out = new Uint8Array(4 + header.length + pad + values.byteLength);
    new DataView(out.buffer).setUint32(0, header.length + pad, true);
    out.set(header, 4);
    out.fill(0x20, 4 + header.length, 4 + header.length + pad);
    out.set(new Uint8Array(values.buffer), 4 + header.length + pad);
    await writeFileAtomic(path, out);
  } finally {
    // getWeights() returns new tensors for the step counter; the slots themselves are variables.
    for (const t of owned) if (!(t instanceof tf.Variable)) t.dispose();
  }
}

/** What to do with a checkpoint that cannot be read. */
const HINT = "delete it, or run again with --force, to start over";

/**
 * Restores a checkpoint into freshly built models and optimizers of the same
 * run. Returns undefined when there is no checkpoint. The file is checked
 * whole before anything is restored.
 *
 * @param path The checkpoint.
 * @param parts The models and optimizers to restore into.
 * @returns The step and loop state, or undefined when there is no file.
 * @throws {Error} Naming the file: one that cannot be read, is empty, truncated, of the wrong
 *   size for its header or has a garbled header (`<path>: not a valid checkpoint
 *   (gradprom-training-state-v1): the file is empty (0 bytes; expected at least 4); delete it,
 *   or run again with --force, to start over`), or the variable that does not fit the models.
 */
export async function loadTrainingState(
  path: string,
  parts: TrainingParts,
): Promise<TrainingStateMeta | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw new Error(`${path}: cannot read the checkpoint: ${(e as Error).message}; ${HINT}`, {
      cause: e,
    });
  }
  const { header, values } = _readTensorFile<{
    format: string;
    step: number;
    meta: unknown;
    tensors: { name: string; shape: number[]; offset: number }[];
  }>(bytes, path, {
    format: FORMAT,
    what: "checkpoint",
    entries: "tensors",
    name: "name",
    hint: HINT,
  });
  if (!Number.isInteger(header.step) || header.step < 0) {
    throw new Error(
      `${path}: not a valid checkpoint (${FORMAT}): expected a step count but found ` +
        `${JSON.stringify(header.step)}; ${HINT}`,
    );
  }
  const slice = (e: { shape: number[]; offset: number }) =>
    tf.tensor(values.subarray(e.offset, e.offset + _sizeOf(e.shape)), e.shape, "float32");
  const optWeights: Record<string, { name: string; tensor: tf.Tensor }[]> = {};
  const adamPowers: [tf.Variable, { shape: number[]; offset: number }][] = [];
  try {
    for (const e of header.tensors) {
      const [kind, owner, ...rest] = e.name.split(":");
      if (kind === "module") {
        const mod = parts.modules[owner];
        const v = mod?.params.get(mod.key(rest.join(":"))) ??
          mod?.state.get(mod.key(rest.join(":")));
        if (!v) {
          throw new Error(`${path}: checkpoint variable '${e.name}' has no place in the models`);
        }
        if (v.shape.join() !== e.shape.join()) {
          throw new Error(
            `${path}: expected shape [${v.shape}] for '${e.name}' but found [${e.shape}]`,
          );
        }
        tf.tidy(() => v.assign(slice(e)));
      } else if (kind === "adampow") {
        const v = _adamPowers(parts.optimizers[owner] ?? ({} as tf.Optimizer))[rest[0]];
        if (!v) throw new Error(`${path}: optimizer '${owner}' is not an Adam optimizer`);
        adamPowers.push([v, e]);
      } else if (kind === "optimizer") {
        if (!parts.optimizers[owner]) {
          throw new Error(`${path}: no optimizer '${owner}' to restore`);
        }
        (optWeights[owner] ??= []).push({ name: rest.slice(1).join(":"), tensor: slice(e) });
      }
    }
    for (const [o, weights] of Object.entries(optWeights)) {
      await parts.optimizers[o].setWeights(weights);
    }
  } finally {
    // setWeights copies the slots into new variables; the loaded tensors can go.
    for (const weights of Object.values(optWeights)) tf.dispose(weights.map((w) => w.tensor));
  }
  // After setWeights (which recomputes them with pow, not bit-equal to the running product).
  for (const [v, e] of adamPowers) tf.tidy(() => v.assign(slice(e)));
  return { step: header.step, meta: header.meta };
}

/** Deletes a checkpoint (once its run has finished). */
export async function removeTrainingState(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Adam's running powers β1^t and β2^t. TF.js keeps them as private variables
 * and, on `setWeights`, recomputes them with `pow`, which is not bit-equal to
 * the product it accumulates step by step; saving and restoring them is what
 * makes a resumed run match an uninterrupted one exactly.
 */
function _adamPowers(opt: tf.Optimizer): Record<string, tf.Variable> {
  const o = opt as unknown as { accBeta1?: unknown; accBeta2?: unknown };
  return o.accBeta1 instanceof tf.Variable && o.accBeta2 instanceof tf.Variable
    ? { beta1: o.accBeta1, beta2: o.accBeta2 }
    : {};
}
