/**
 * The training loop: steps of {@link trainStep} (IP with its recognition
 * networks) or of {@link trainVrStep} (a recognition network alone), over
 * batches the caller supplies, with resuming from a checkpoint, periodic
 * checkpoints, the stop on a non-finite loss, a per-step log, a progress line
 * and events. It knows nothing of configs, datasets or the results cache: the
 * experiment runner (`lib/experiments/run_experiment.ts`) is one caller.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { basename, dirname } from "node:path";
import type { Module } from "../models/module.ts";
import { removeStaleTemporaries } from "../util/remove_stale_temporaries.ts";
import { Progress } from "./progress.ts";
import { loadTrainingState, saveTrainingState, type TrainingParts } from "./training_state.ts";
import {
  type Recognizer,
  type StepLog,
  type TrainBatch,
  trainStep,
  type TrainStepSetup,
  trainVrStep,
} from "./train_step.ts";

/** A recognition network trained alone on its labels (VR pre-training, Benchmark-ii). */
export interface VrTrainSetup {
  vr: Recognizer;
  optimizer: tf.Optimizer;
}

/** A batch of {@link VrTrainSetup}: images `[N, H, W, C]`, labels `[N]` or masks `[N, H, W, 1]`. */
export interface VrBatch {
  images: tf.Tensor4D;
  labels: tf.Tensor;
}

/** The batch a setup trains on: {@link TrainBatch} for IP with VRs, {@link VrBatch} for a VR alone. */
export type BatchOf<S extends TrainStepSetup | VrTrainSetup> = S extends TrainStepSetup ? TrainBatch
  : VrBatch;

/**
 * The batches of a loop, one per step, in order. The loop disposes every
 * tensor of a batch once its step is done (or has failed).
 */
export interface BatchSource<B> {
  /** Builds the batch of the next step. */
  next(): B;
  /**
   * Moves past one step's batch without building it: resuming replays the
   * steps a checkpoint holds this way, so that the next step sees the batch
   * (and noise) it would have seen. Default: builds the batch and disposes it.
   */
  skip?(): void;
}

/**
 * What the loop reports as it trains (see {@link TrainLoopOptions.onEvent});
 * `step` counts steps done, out of `total`.
 *
 * - `resume`: the checkpoint at `path` was restored, `step` steps done;
 *   training goes on with step `step + 1`.
 * - `step`: this call trained step number `step` (1-based).
 * - `checkpoint`: the state after `step` steps was saved to `path`.
 */
export type TrainEvent =
  | { type: "resume"; step: number; total: number; path: string }
  | { type: "step"; step: number; total: number }
  | { type: "checkpoint"; step: number; total: number; path: string };

/**
 * The per-step log of a loop, values rounded to 6 significant digits; NaN
 * (`null` in JSON) where a step has no such value (no VR: all but L_IP; a VR
 * trained alone: all but L_VR).
 */
export interface TrainLog {
  /** L_IP, L_VR (summed over auxiliaries), cos(G_IP, G_VR), weight given to G_VR. */
  lossIp: number[];
  lossVr: number[];
  cosine: number[];
  auxWeight: number[];
  /** With two auxiliaries or more: the same per auxiliary. */
  perAux?: { task: string; lossVr: number[]; cosine: number[]; auxWeight: number[] }[];
  /**
   * IP with a VR: cos(G_IP, G_VR) per variable of IP (`names`, without the
   * model's scope), sampled at `steps` (1-based).
   */
  layers?: { names: string[]; steps: number[]; cosine: number[][] };
}

/** Options of {@link trainLoop}. */
export interface TrainLoopOptions<S extends TrainStepSetup | VrTrainSetup> {
  /** IP with its VRs, optimizers and strategy ({@link trainStep}), or a VR alone ({@link trainVrStep}). */
  setup: S;
  /** The batches, one per step. */
  batches: BatchSource<BatchOf<S>>;
  /** Steps of the whole run (a resumed run trains only those after its checkpoint). */
  steps: number;
  /** Shown on the progress line and at the start of errors (default `train`). */
  label?: string;
  /** Print the progress line and events to stderr (default true). */
  progress?: boolean;
  /** Show on the progress line how often G_VR got a weight above 0 (GradProm's gate). */
  showGate?: boolean;
  /** Names of the auxiliaries (`setup.vr`, then `setup.extra`), for `log.perAux` (default `vr`, `vr1`, …). */
  auxTasks?: string[];
  /** Log per-variable cosines every this many steps (default: about 50 times a run). */
  layerEvery?: number;
  /**
   * With a strategy whose update is always G_IP + G_VR (Joint, Frozen-params:
   * `Strategy.sumOnly`), measure cos(G_IP, G_VR) every this many steps only (default:
   * `layerEvery`, the same steps). The other steps backpropagate L_IP + λ·L_VR once, as PyTorch's
   * joint training does, and log a NaN cosine. 1 measures every step (one backward pass more
   * through IP per step). Other strategies measure it on every step, as they need both gradients.
   */
  cosineEvery?: number;
  /**
   * Save the state (models, optimizers, log) to `path` every `every` steps
   * (default: a tenth of the run, at least 10), and start from the state
   * found there unless `resume` is false (a checkpoint that cannot be read is
   * an error naming it). Temporaries that a process killed while saving left
   * beside it are removed at the start. The loop never deletes the checkpoint
   * itself: remove it (`removeTrainingState`) once the run's results are safe.
   */
  checkpoint?: { path: string; every?: number; resume?: boolean };
  /** Stop (throw) after this step, as an interruption would: for tests of resuming. */
  stopAfterStep?: number;
  /** Called on resuming, after every step trained and after every checkpoint saved. */
  onEvent?: (event: TrainEvent) => void;
}

/** What {@link trainLoop} returns. */
export interface TrainLoopResult {
  /** The log of every step of the run, those restored from a checkpoint included. */
  log: TrainLog;
  /** Steps restored from the checkpoint (absent when training started at step 0). */
  resumedFrom?: number;
}

/**
 * Trains for `steps` steps: each step takes the next batch, runs
 * {@link trainStep} (or {@link trainVrStep} for a VR alone), logs it, reports
 * it, and saves a checkpoint when one is due. With a checkpoint left by an
 * interrupted run it restores the models, optimizers and log, replays the
 * batches of the steps done (`batches.skip`) and goes on from there, so the
 * run ends with the numbers of an uninterrupted one.
 *
 * A step whose loss is NaN or infinite stops the loop: the
 * {@link NonFiniteLossError} (nothing was updated in that step) is rethrown
 * with the label, the step and the last good checkpoint in its message.
 *
 * @param options Setup, batches, steps; optionally label, progress, checkpoints, events.
 * @returns The per-step log, and the step it resumed from.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { srResNet } from "../models/sr_resnet.ts";
 * import { ipOnly } from "../strategies/ip_only.ts";
 * import { trainLoop } from "./train_loop.ts";
 * await setupBackend({ backend: "cpu", quiet: true });
 * // A tiny denoiser, trained for 20 steps on noisy copies of four images.
 * const ip = srResNet({ channels: 4, blocks: 1, outerKernel: 3 }, 0);
 * const ipOptimizer = tf.train.adam(1e-2);
 * const clean = tf.randomUniform([4, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * let seed = 0;
 * const { log } = await trainLoop({
 *   setup: { ip, vrMode: "none", strategy: ipOnly, lambda: 0, ipOptimizer },
 *   batches: {
 *     next: () =>
 *       tf.tidy(() => ({
 *         target: tf.clone(clean),
 *         input: tf.add(clean, tf.randomNormal(clean.shape, 0, 0.1, "float32", seed++)) as tf.Tensor4D,
 *       })),
 *   },
 *   steps: 20,
 *   progress: false,
 * });
 * assert.equal(log.lossIp.length, 20);
 * assert.ok(log.lossIp[19] < log.lossIp[0] / 2, `L_IP ${log.lossIp[0]} → ${log.lossIp[19]}`);
 * ip.module.dispose();
 * ipOptimizer.dispose();
 * clean.dispose();
 * ```
 */
export async function trainLoop<S extends TrainStepSetup | VrTrainSetup>(
  options: TrainLoopOptions<S>,
): Promise<TrainLoopResult> {
  const { setup, batches, steps: total, checkpoint, onEvent } = options;
  const label = options.label ?? "train";
  const log = emptyLog(setup, options.auxTasks);
  const progress = new Progress(label, total, { enabled: options.progress !== false });
  const parts = trainingParts(setup);
  const every = checkpoint?.every ?? Math.max(10, Math.ceil(total / 10));
  const layerEvery = options.layerEvery ?? Math.max(1, Math.floor(total / 50));
  const cosineEvery = options.cosineEvery ?? layerEvery;
  if (!Number.isInteger(cosineEvery) || cosineEvery < 1) {
    throw new RangeError(`Expected cosineEvery to be an integer ≥ 1 but found ${cosineEvery}`);
  }
  let start = 0;
  if (checkpoint) {
    // A process killed while saving leaves its temporary beside the checkpoint.
    await removeStaleTemporaries(dirname(checkpoint.path), { target: basename(checkpoint.path) });
  }
  if (checkpoint && checkpoint.resume !== false) {
    const resumed = await loadTrainingState(checkpoint.path, parts);
    if (resumed) {
      start = resumed.step;
      Object.assign(log, resumed.meta as TrainLog);
      // Replay the batch streams, so that step `start` sees the batch it would have.
      for (let s = 0; s < start; s++) skipBatch(batches);
      progress.note(`resumed at step ${start} of ${total} from checkpoint ${checkpoint.path}`);
      onEvent?.({ type: "resume", step: start, total, path: checkpoint.path });
    }
  }
  let opened = log.auxWeight.filter((w) => w > 0).length;
  for (let step = start; step < total; step++) {
    const batch = batches.next();
    let out: StepLog;
    try {
      out = runStep(
        setup,
        batch,
        !!log.layers && step % layerEvery === 0,
        step % cosineEvery === 0,
      );
    } catch (e) {
      const last = checkpoint && step >= every ? Math.floor(step / every) * every : 0;
      if (e instanceof Error) {
        e.message = `${label}, step ${step + 1}: ${e.message}` +
          (last ? ` (the last good checkpoint, step ${last}, is kept: ${checkpoint!.path})` : "");
      }
      throw e;
    }
    appendLog(log, out, step);
    if (out.auxWeight > 0) opened++;
    progress.update(step + 1, {
      L_IP: Number.isNaN(out.lossIp) ? undefined : out.lossIp,
      L_VR: Number.isNaN(out.lossVr) ? undefined : out.lossVr,
      cos: Number.isNaN(out.cosine) ? undefined : out.cosine,
      gate: options.showGate ? `${Math.round((100 * opened) / (step + 1))}%open` : undefined,
    });
    onEvent?.({ type: "step", step: step + 1, total });
    if (checkpoint && (step + 1) % every === 0 && step + 1 < total) {
      await saveTrainingState(checkpoint.path, step + 1, log, parts);
      progress.note(`checkpoint saved at step ${step + 1} of ${total}: ${checkpoint.path}`);
      onEvent?.({ type: "checkpoint", step: step + 1, total, path: checkpoint.path });
    }
    if (options.stopAfterStep !== undefined && step + 1 >= options.stopAfterStep) {
      throw new Error(`${label}: stopped after step ${step + 1} (stopAfterStep)`);
    }
  }
  return { log, ...(start > 0 ? { resumedFrom: start } : {}) };
}

/** One step on one batch; the batch is disposed after it, whatever happens. */
function runStep<S extends TrainStepSetup | VrTrainSetup>(
  setup: S,
  batch: BatchOf<S>,
  layerCosines: boolean,
  measureCosine: boolean,
): StepLog {
  try {
    if (isIpSetup(setup)) {
      return trainStep({ ...setup, layerCosines, measureCosine }, batch as TrainBatch);
    }
    const { images, labels } = batch as VrBatch;
    const lossVr = trainVrStep(setup.vr, setup.optimizer, images, labels);
    return { lossIp: NaN, lossVr, cosine: NaN, auxWeight: NaN };
  } finally {
    tf.dispose(batch as unknown as tf.TensorContainer);
  }
}

function skipBatch<B>(batches: BatchSource<B>): void {
  if (batches.skip) batches.skip();
  else tf.dispose(batches.next() as unknown as tf.TensorContainer);
}

function isIpSetup(setup: TrainStepSetup | VrTrainSetup): setup is TrainStepSetup {
  return "ip" in setup;
}

/** The log before the first step: per-auxiliary series with two or more, layers with a VR. */
function emptyLog(setup: TrainStepSetup | VrTrainSetup, auxTasks?: string[]): TrainLog {
  const log: TrainLog = { lossIp: [], lossVr: [], cosine: [], auxWeight: [] };
  if (!isIpSetup(setup)) return log;
  const auxes = 1 + (setup.extra?.length ?? 0);
  const tasks = auxTasks ?? Array.from({ length: auxes }, (_, k) => (k ? `vr${k}` : "vr"));
  if (tasks.length !== auxes) {
    throw new RangeError(`Expected ${auxes} auxTasks (vr and extra) but found ${tasks.length}`);
  }
  if (auxes > 1) {
    log.perAux = tasks.map((task) => ({ task, lossVr: [], cosine: [], auxWeight: [] }));
  }
  if (setup.vrMode !== "none") {
    // Parameter paths without the model instance's scope (`head/conv/w`).
    const names = setup.ip.module.trainable().map((v) => v.name.replace(/^[^/]+\//, ""));
    log.layers = { names, steps: [], cosine: [] };
  }
  return log;
}

function appendLog(log: TrainLog, out: StepLog, step: number): void {
  log.lossIp.push(round(out.lossIp));
  log.lossVr.push(round(out.lossVr));
  log.cosine.push(round(out.cosine));
  log.auxWeight.push(round(out.auxWeight));
  if (out.layerCosine && log.layers) {
    log.layers.steps.push(step + 1);
    log.layers.cosine.push(out.layerCosine.map(round));
  }
  out.perAux?.forEach((p, k) => {
    const l = log.perAux![k];
    l.lossVr.push(round(p.lossVr));
    l.cosine.push(round(p.cosine));
    l.auxWeight.push(round(p.auxWeight));
  });
}

/** The models and optimizers a checkpoint holds: `ip`, `vr`, `vr1`, … */
function trainingParts(setup: TrainStepSetup | VrTrainSetup): TrainingParts {
  if (!isIpSetup(setup)) {
    return { modules: { vr: setup.vr.module }, optimizers: { vr: setup.optimizer } };
  }
  const modules: Record<string, Module> = { ip: setup.ip.module };
  const optimizers: Record<string, tf.Optimizer> = { ip: setup.ipOptimizer };
  if (setup.vr) modules.vr = setup.vr.module;
  if (setup.vrOptimizer) optimizers.vr = setup.vrOptimizer;
  setup.extra?.forEach((aux, k) => {
    modules[`vr${k + 1}`] = aux.vr.module;
    if (aux.vrOptimizer) optimizers[`vr${k + 1}`] = aux.vrOptimizer;
  });
  return { modules, optimizers };
}

const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);
