/**
 * Runs one experiment (one method, degradation and seed) through the results
 * cache: config → data, VR pre-training (cached on its own), networks,
 * optimizers and strategy → the training loop (`lib/train/train_loop.ts`) →
 * held-out metrics → the cache.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchSampler } from "../data/batch_sampler.ts";
import { encodeWeights } from "../models/checkpoint.ts";
import { removeTrainingState } from "../train/training_state.ts";
import {
  type BatchSource,
  type TrainEvent,
  type TrainLog,
  trainLoop,
} from "../train/train_loop.ts";
import type { TrainBatch, TrainStepSetup } from "../train/train_step.ts";
import { Rng } from "../util/rng.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";
import { datasetIds } from "../data/registry.ts";
import { checkConfigValues, type ExperimentConfig, resolveDataPaths } from "./config.ts";
import { checkStrategyOptions, methodSpec, methodStrategy } from "./methods.ts";
import {
  dataFingerprint,
  datasetInfo,
  type DataSplits,
  loadSplits,
  resolveConfigDataset,
  subtasks,
} from "./_data.ts";
import { degradeImages, degradeTestImages, describeDegradation } from "./degradation.ts";
import { evaluate, evaluateCrossDomain } from "./_evaluate.ts";
import { buildNetworks, type RunNetworks, stepNetworks } from "./_networks.ts";
import { LIB_VERSION, ResultsCache } from "./results_cache.ts";
import { runBackend } from "./_backend.ts";
import { type VrPretraining, vrPretraining, type VrPretrainResult } from "./vr_pretrain.ts";

// The parts of a run that live in modules of their own, where they were before.
export { degradationSpec, degradeTestImages, describeDegradation } from "./degradation.ts";
export { loadRunModels, type RunModels } from "./run_models.ts";
export { LIB_VERSION } from "./results_cache.ts";
export type { VrPretrainResult } from "./vr_pretrain.ts";

/** Held-out metrics of a run. */
export interface RunMetrics {
  /** PSNR (dB) / SSIM of IP's output against the clean test images. */
  psnr: number;
  ssim: number;
  /** PSNR / SSIM of the degraded input itself (the starting point). */
  psnrInput: number;
  ssimInput: number;
  /**
   * Accuracy of the run's VR on IP's output (the pre-trained VR for
   * Benchmark-i); for segmentation, pixel accuracy.
   */
  accuracy: number;
  /** Segmentation only: mean IoU over classes (background included) of VR on IP's output. */
  miou?: number;
  /** With `data.evalDataset`: IP on that dataset's test split (PSNR/SSIM, and of its degraded input). */
  cross?: { dataset: string; psnr: number; ssim: number; psnrInput: number; ssimInput: number };
}

/** A finished run, as cached. */
export interface RunResult {
  key: string;
  config: ExperimentConfig;
  metrics: RunMetrics;
  /**
   * Per-step log: L_IP, L_VR, cos(G_IP, G_VR), weight given to G_VR; for
   * `diagnosis+segmentation`, the same per auxiliary task (`perAux`, L_VR is
   * then their sum); with a VR, per-variable cosines (`layers`, about 50
   * samples a run; absent in results from before version 0.3).
   */
  log: TrainLog;
  /** The VR pre-training this run used (Benchmark-ii; the diagnosis one when there are two). */
  vrPretrain: VrPretrainResult;
  /** `diagnosis+segmentation` only: the segmentation network's pre-training. */
  vrPretrainExtra?: VrPretrainResult;
  seconds: number;
  /** The TF.js backend that computed it (part of the key, see {@link runKey}). */
  backend: string;
  /**
   * Threads the backend ran on (absent in results cached before it was recorded): results differ
   * at float-rounding level across thread counts, so a cached result computed on another
   * count is reported with a note, not recomputed.
   */
  threads?: number;
  version: string;
  createdAt: string;
  /** True when this value came from the cache. */
  fromCache?: boolean;
  /**
   * Steps restored from the checkpoint of an interrupted run: training ran
   * from this step on (absent when it ran from step 0). The numbers are those
   * of an uninterrupted run either way.
   */
  resumedFrom?: number;
  /**
   * What is wrong with the result although the run finished (absent when nothing is): today
   * one warning, {@link BELOW_INPUT}, when IP's output has a lower test PSNR than its own
   * degraded input (e.g. a learning rate so large that training wrecked IP). Printed at the
   * end of the run; the tables mark such rows (`summarize.ts`).
   */
  warnings?: string[];
}

/** The start of the warning of a run whose IP ends below its own input (see {@link runWarnings}). */
export const BELOW_INPUT = "IP ends below its own input";

/**
 * The warnings of a run's metrics: {@link BELOW_INPUT} when IP's output has a lower test PSNR
 * than the degraded input it was given.
 *
 * @param metrics A run's held-out metrics.
 * @returns The warnings (empty when none).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runWarnings } from "./run_experiment.ts";
 * const m = { psnr: 7.67, ssim: 0.02, psnrInput: 20.26, ssimInput: 0.44, accuracy: 0.5 };
 * assert.deepEqual(runWarnings(m), [
 *   "IP ends below its own input: test PSNR 7.67 dB against the degraded input's 20.26 dB",
 * ]);
 * assert.deepEqual(runWarnings({ ...m, psnr: 25 }), []);
 * ```
 */
export function runWarnings(metrics: RunMetrics): string[] {
  return metrics.psnr < metrics.psnrInput
    ? [
      `${BELOW_INPUT}: test PSNR ${metrics.psnr.toFixed(2)} dB against the degraded input's ` +
      `${metrics.psnrInput.toFixed(2)} dB`,
    ]
    : [];
}

/** Options of {@link runExperiment}. */
export interface RunOptions {
  cache?: ResultsCache;
  /** Ignore a cached result and run again (the new result replaces it). */
  force?: boolean;
  /**
   * Also train the VR pre-training again (default: `force`). A grid forced again trains each
   * shared pre-training once, first, then its runs with this false.
   */
  forcePretraining?: boolean;
  /** Print progress to stderr (default true). */
  progress?: boolean;
  /**
   * Save a resumable checkpoint every this many steps (default: a tenth of
   * the run, at least 10). A later call with the same config resumes from it.
   */
  checkpointEvery?: number;
  /** Stop (throw) after this step, as an interruption would: for tests of resuming. */
  stopAfterStep?: number;
  /**
   * Called as training goes: once at the start if the run resumes from a
   * checkpoint, after every step this call trains, after every checkpoint
   * saved. Resuming and checkpoints are also printed with the progress.
   */
  onEvent?: (event: RunEvent) => void;
}

/**
 * What a run reports while it trains (see {@link RunOptions.onEvent}); `step`
 * counts steps done, out of `total` (`config.train.steps`).
 *
 * - `resume`: the run restored the checkpoint at `path`, `step` steps done;
 *   training goes on with step `step + 1`.
 * - `step`: this call trained step number `step` (1-based).
 * - `checkpoint`: the state after `step` steps was saved to `path`.
 */
export type RunEvent = TrainEvent;

/**
 * Cache key of a run: its config (checked by {@link checkConfig}, its data folders made
 * absolute against the working directory), the TF.js backend of this process (started by
 * `setupBackend` if it is not yet: another backend computes and caches its own result), the
 * library version and the data's fingerprint. Empty `train.strategyOptions` are left out of it.
 *
 * @param config A full config.
 * @returns The key (hex).
 * @throws Errors of {@link checkConfig}: an invalid config has no key.
 */
export async function runKey(config: ExperimentConfig): Promise<string> {
  return await runKeyOnBackend(config, (await runBackend()).name);
}

/**
 * {@link runKey} of a run computed on a given backend.
 *
 * @param config A full config.
 * @param backend A TF.js backend name (`onednn`, `wasm`, …).
 * @returns The key (hex).
 */
export async function runKeyOnBackend(config: ExperimentConfig, backend: string): Promise<string> {
  const { hashKey } = await import("./results_cache.ts");
  await resolveConfigDataset(config.data);
  checkConfig(config);
  const c = resolveDataPaths(config);
  const { strategyOptions, ...train } = c.train;
  return hashKey({
    kind: "run",
    config: Object.keys(strategyOptions ?? {}).length ? c : { ...c, train },
    backend,
    version: LIB_VERSION,
    data: await dataFingerprint(c.data),
  });
}

/**
 * Runs an experiment, or returns its cached result.
 *
 * A run interrupted after a checkpoint (an exception, a killed process)
 * resumes from it on the next call with the same config: it says so
 * (`resumed at step k of n from checkpoint …` with the progress, a `resume`
 * event, `resumedFrom` in the result), trains only steps k+1 to n, and ends
 * with the numbers of an uninterrupted run.
 *
 * The config is checked first ({@link checkConfig}: nothing trains on a bad value) and its
 * relative data folders resolved against the working directory. A run whose IP ends below
 * its own input (lower test PSNR than the degraded input) finishes, with a warning printed
 * and recorded (`warnings`). A cached result computed on another thread count is returned
 * with a note printed.
 *
 * @param config A full config (see `mergeConfig`).
 * @param options Cache, force, progress, checkpoints, events.
 * @returns The result, with `fromCache` set when it came from the cache.
 */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunOptions = {},
): Promise<RunResult> {
  await resolveConfigDataset(config.data);
  checkConfig(config);
  config = resolveDataPaths(config);
  const cache = options.cache ?? new ResultsCache();
  await cache.prepareForWrites(); // before any work: fails at once if results cannot be stored
  const backend = await runBackend();
  const key = await runKeyOnBackend(config, backend.name);
  const say = (s: string) => options.progress !== false && console.error(s);
  if (!options.force) {
    const hit = await cache.get<RunResult>("runs", key);
    if (hit) {
      if (hit.threads !== undefined && hit.threads !== backend.threads) {
        say(
          `note: the cached result ${key.slice(0, 12)} was computed on ${hit.threads} ` +
            `${hit.backend} thread(s), this process uses ${backend.threads}: results differ ` +
            `at float-rounding level across thread counts (--force recomputes it)`,
        );
      }
      return { ...hit, fromCache: true };
    }
  }
  const t0 = performance.now();
  const data = await loadSplits(config.data);
  const rng = new Rng(config.seed);
  const testInput = degradeTestImages(config, data.test.images);
  const tasks = subtasks(config.data.task);
  const owned: { dispose(): void }[] = [];
  try {
    const pres = await vrPretrainings(config, data, testInput, cache, options);
    const { vrMode, gate } = methodSpec(config.method);
    const nets = buildNetworks(config, rng, pres, vrMode, owned);
    const setup: TrainStepSetup = {
      ...stepNetworks(nets),
      vrMode,
      strategy: methodStrategy(config),
      lambda: config.train.lambda,
      auxLoss: config.train.auxLoss,
    };
    // Resumes from a checkpoint of this very run, if an earlier process left one.
    const checkpoint = cache.sidePath("checkpoints", key, "state.bin");
    const { log, resumedFrom } = await trainLoop({
      setup,
      batches: trainBatches(config, data, rng),
      steps: config.train.steps,
      label: `${config.method} ${describeDegradation(config.degradation)} seed ${config.seed}`,
      progress: options.progress !== false,
      showGate: vrMode === "trained" && gate,
      auxTasks: tasks,
      checkpoint: { path: checkpoint, every: options.checkpointEvery, resume: !options.force },
      stopAfterStep: options.stopAfterStep,
      onEvent: options.onEvent,
    });
    const ev = evaluate(config, nets.ip, nets.vrs, data.test, testInput);
    const cross = config.data.evalDataset ? await evaluateCrossDomain(config, nets.ip) : undefined;
    const metrics: RunMetrics = {
      ...ev,
      psnrInput: pres[0].psnrInput,
      ssimInput: pres[0].ssimInput,
      ...(cross ? { cross } : {}),
    };
    const warnings = runWarnings(metrics);
    const result: RunResult = {
      key,
      config,
      metrics,
      log,
      vrPretrain: pres[0].result,
      ...(pres[1] ? { vrPretrainExtra: pres[1].result } : {}),
      seconds: (performance.now() - t0) / 1000,
      backend: backend.name,
      threads: backend.threads,
      version: LIB_VERSION,
      createdAt: new Date().toISOString(),
      ...(resumedFrom ? { resumedFrom } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
    await saveRun(cache, result, nets);
    await removeTrainingState(checkpoint);
    for (const w of warnings) say(`warning: ${runLabel(config)}: ${w}`);
    return result;
  } finally {
    for (const o of owned) o.dispose();
    testInput.dispose();
    data.dispose();
  }
}

/**
 * The training batches of a run: epoch-wise shuffled indices (`batches`
 * stream), the clean images as targets, their degraded copies as inputs (one
 * seed a step from the `train-noise` stream) and the labels of every task.
 */
function trainBatches(
  config: ExperimentConfig,
  data: DataSplits,
  rng: Rng,
): BatchSource<TrainBatch> {
  const n = data.train.images.shape[0];
  const sampler = batchSampler(n, config.train.batchSize, rng.fork("batches"));
  const noiseRng = rng.fork("train-noise");
  const tasks = subtasks(config.data.task);
  return {
    next: () => {
      const indices = sampler();
      return tf.tidy(() => {
        const idx = tf.tensor1d(indices, "int32");
        const target = tf.gather(data.train.images, idx) as tf.Tensor4D;
        const input = degradeImages(config, target, noiseRng.seed());
        const [labels, ...extraLabels] = tasks.map((t) => tf.gather(data.train.targets[t]!, idx));
        return { target, input, labels, extraLabels };
      });
    },
    skip: () => {
      sampler();
      noiseRng.seed();
    },
  };
}

/** A run's short name in messages: dataset, method, degradation, seed. */
const runLabel = (c: ExperimentConfig) =>
  `${c.data.dataset} ${c.method} ${describeDegradation(c.degradation)} seed ${c.seed}`;

/** Caches a finished run: its trained networks beside it (for figures and CAMs), then the result. */
async function saveRun(cache: ResultsCache, result: RunResult, nets: RunNetworks): Promise<void> {
  const path = (name: string) => cache.sidePath("runs", result.key, name);
  await writeFileAtomic(path("ip.bin"), encodeWeights(nets.ip.module));
  for (const [k, vr] of nets.vrs.entries()) {
    await writeFileAtomic(path(k ? `vr${k}.bin` : "vr.bin"), encodeWeights(vr.module));
  }
  await cache.put("runs", result.key, result);
}

/**
 * Trains (or finds in the cache) the VR pre-training a config uses (Benchmark-ii
 * and the first stage of Frozen-params), without running the config itself.
 * The grid runner calls it first, so that runs sharing a pre-training do not
 * each train it.
 *
 * @returns The pre-training's result (accuracy on clean and degraded test images).
 */
export async function ensureVrPretrain(
  config: ExperimentConfig,
  options: RunOptions = {},
): Promise<VrPretrainResult> {
  await resolveConfigDataset(config.data);
  checkConfig(config);
  config = resolveDataPaths(config);
  await runBackend();
  const cache = options.cache ?? new ResultsCache();
  const data = await loadSplits(config.data);
  const testInput = degradeTestImages(config, data.test.images);
  try {
    return (await vrPretrainings(config, data, testInput, cache, options))[0].result;
  } finally {
    testInput.dispose();
    data.dispose();
  }
}

/** The VR pre-trainings of a config, one per task, each from the cache or trained now. */
async function vrPretrainings(
  config: ExperimentConfig,
  data: DataSplits,
  testInput: tf.Tensor4D,
  cache: ResultsCache,
  options: RunOptions,
): Promise<VrPretraining[]> {
  const pres: VrPretraining[] = [];
  for (const task of subtasks(config.data.task)) {
    const force = options.forcePretraining ?? options.force;
    pres.push(await vrPretraining(config, data, testInput, cache, { ...options, force }, task));
  }
  return pres;
}

/**
 * Checks a config before anything runs: its method and `train.strategyOptions` against the
 * method's strategy; the range of every value (`checkConfigValues` in `config.ts`: steps,
 * batch sizes and sizes integers ≥ 1, learning rates finite and > 0, λ ≥ 0, σ in [0, 1],
 * data folders non-empty or null, …); then against its dataset: image channels and class
 * counts of the networks, the SR scale against the degradation. Errors name the keys to set.
 *
 * @param config A full config.
 * @throws {RangeError|TypeError} The first problem found, naming its key.
 */
export function checkConfig(config: ExperimentConfig): void {
  checkStrategyOptions(config);
  checkConfigValues(config);
  const { dataset, task, evalDataset } = config.data;
  const info = datasetInfo(dataset, config.data.root);
  if (!info) {
    throw new TypeError(
      `Expected data.dataset ${datasetIds().join(", ")} but found ${dataset}`,
    );
  }
  const { shapes } = info;
  if (!info.tasks.includes(task)) {
    throw new TypeError(
      `Expected data.task ${info.tasks.join(" or ")} for ${dataset} but found ${task}`,
    );
  }
  const errors: string[] = [];
  const expect = (key: string, found: number, want: number) => {
    if (found !== want) errors.push(`${key} ${want} (found ${found})`);
  };
  expect("ip.imageChannels", config.ip.imageChannels, shapes.channels);
  for (const t of subtasks(task)) {
    if (t === "diagnosis") {
      expect("vr.imageChannels", config.vr.imageChannels, shapes.channels);
      expect("vr.classes", config.vr.classes, shapes.diagnosisClasses);
    } else {
      expect("seg.imageChannels", config.seg.imageChannels, shapes.channels);
      expect("seg.classes", config.seg.classes, shapes.segmentationClasses);
    }
  }
  const want = config.degradation.kind === "bicubic" ? config.degradation.factor : 1;
  expect("ip.scale", config.ip.scale, want);
  if (evalDataset !== null && !datasetInfo(evalDataset)) {
    throw new TypeError(
      `Expected data.evalDataset ${datasetIds().join(", ")} or null but found ${evalDataset}`,
    );
  }
  if (evalDataset && datasetInfo(evalDataset)?.shapes.channels !== shapes.channels) {
    errors.push(
      `data.evalDataset with ${shapes.channels} channels like ${dataset} (found ${evalDataset})`,
    );
  }
  if (errors.length) {
    throw new TypeError(
      `Config does not fit ${dataset} / ${task} / ${config.degradation.kind}: expected ` +
        errors.join(", ") + " (the registry's datasetOverrides() gives them)",
    );
  }
}
