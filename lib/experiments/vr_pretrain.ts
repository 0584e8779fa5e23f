/**
 * VR pre-training (Benchmark-ii, and the first stage of Frozen-params): the
 * recognition network trained alone on clean images, cached with its weights
 * under a key of its own. This module is the one place that decides which
 * runs share a pre-training ({@link vrPretrainKey}); the runner and the grid
 * runner both ask it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFile } from "node:fs/promises";
import { batchSampler } from "../data/batch_sampler.ts";
import { psnrPerImage } from "../metrics/psnr.ts";
import { ssimPerImage } from "../metrics/ssim.ts";
import { decodeWeightsInto, encodeWeights } from "../models/checkpoint.ts";
import { trainLoop } from "../train/train_loop.ts";
import type { Recognizer } from "../train/train_step.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";
import { Rng } from "../util/rng.ts";
import { type ExperimentConfig, resolveDataPaths } from "./config.ts";
import { dataFingerprint, type DataSplits, subtasks } from "./_data.ts";
import { atCleanSize, mean, predict, recognitionScores } from "./_evaluate.ts";
import { classesOf, makeVr, type SubTask } from "./_networks.ts";
import { hashKey, LIB_VERSION, type ResultsCache } from "./results_cache.ts";
import { runBackend } from "./_backend.ts";
import { FusedAdam } from "../train/fused_optimizer.ts";

/** VR trained alone on clean images (Benchmark-ii), as cached. */
export interface VrPretrainResult {
  key: string;
  /** Accuracy on clean test images, and on the degraded test images. */
  accuracyClean: number;
  accuracyDegraded: number;
  /** Segmentation only: mean IoU on clean and on degraded test images. */
  miouClean?: number;
  miouDegraded?: number;
  seconds: number;
}

/** A pre-training as a run uses it: its result, its weights, and the input's own scores. */
export interface VrPretraining {
  result: VrPretrainResult;
  weights: Uint8Array;
  /** The cache file the weights are kept in (named in errors). */
  weightsPath: string;
  /** PSNR / SSIM of the degraded test images themselves. */
  psnrInput: number;
  ssimInput: number;
}

/**
 * The cache key of the VR pre-training a config uses for one recognition
 * task: the data (without the degradation, so one pre-training serves every
 * noise level; its folder made absolute), the task's network, the pre-training
 * settings, the seed, the TF.js backend, the library version and the data's
 * fingerprint. Runs with equal keys share it; a pre-training computed on
 * another backend is not reused.
 *
 * @param config An experiment config.
 * @param task `diagnosis` or `segmentation` (one of the config's tasks).
 * @param backend The backend (default: this process's, see `runKey`).
 * @returns The key (hex).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
 * import { vrPretrainKey } from "./vr_pretrain.ts";
 * const a = mergeConfig(DEFAULT_CONFIG, { method: "joint", degradation: { sigma: 0.1 } });
 * const b = mergeConfig(DEFAULT_CONFIG, { method: "gradprom", degradation: { sigma: 0.3 } });
 * assert.equal(await vrPretrainKey(a, "diagnosis"), await vrPretrainKey(b, "diagnosis"));
 * ```
 */
export async function vrPretrainKey(
  config: ExperimentConfig,
  task: SubTask,
  backend?: string,
): Promise<string> {
  const d = resolveDataPaths(config).data;
  return hashKey({
    kind: "vr-pretrain",
    data: {
      dataset: d.dataset,
      root: d.root,
      task,
      size: d.size,
      splitSeed: d.splitSeed,
      trainLimit: d.trainLimit,
      testLimit: d.testLimit,
    },
    vr: task === "segmentation" ? config.seg : config.vr,
    vrPretrain: config.vrPretrain,
    seed: config.seed,
    // The random stream it draws from: a multi-task run's segmentation VR has its own, so its
    // pre-training is not the single-task one (before, both shared a key and the cache held
    // whichever a grid trained first).
    stream: pretrainStream(config, task),
    backend: backend ?? (await runBackend()).name,
    version: LIB_VERSION,
    fingerprint: await dataFingerprint(d),
  });
}

/**
 * The name of the random stream a VR pre-training draws from (its initial weights and batches):
 * `vr-pretrain`, except for the segmentation VR of a diagnosis + segmentation run, which has
 * its own (`vr-pretrain:segmentation`). Part of {@link vrPretrainKey}.
 *
 * @param config The run's config.
 * @param task The recognition task pre-trained.
 * @returns The stream's name.
 */
export function pretrainStream(config: ExperimentConfig, task: SubTask): string {
  return task === "diagnosis" || config.data.task !== "diagnosis+segmentation"
    ? "vr-pretrain"
    : `vr-pretrain:${task}`;
}

/**
 * Groups configs by the VR pre-trainings they use ({@link vrPretrainKey} of
 * each of their tasks): the configs of a group share every pre-training, so
 * training them for one config (the first) serves the whole group.
 *
 * @param configs Experiment configs.
 * @returns Groups of indices into `configs`, in order of first appearance.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
 * import { groupBySharedPretraining } from "./vr_pretrain.ts";
 * const c = (method: "joint" | "frozen", seed: number) => mergeConfig(DEFAULT_CONFIG, { method, seed });
 * const groups = await groupBySharedPretraining([c("joint", 0), c("joint", 1), c("frozen", 0)]);
 * assert.deepEqual(groups, [[0, 2], [1]]);
 * ```
 */
export async function groupBySharedPretraining(configs: ExperimentConfig[]): Promise<number[][]> {
  const groups = new Map<string, number[]>();
  for (const [i, config] of configs.entries()) {
    const group = await sharedPretrainingKey(config);
    groups.set(group, [...(groups.get(group) ?? []), i]);
  }
  return [...groups.values()];
}

/**
 * One key for all the VR pre-trainings a config uses (the {@link vrPretrainKey}
 * of each of its tasks): configs with equal keys share every pre-training.
 * The grid runner and the Slurm planner group runs by it.
 *
 * @param config An experiment config.
 * @returns The key (the tasks' keys, comma-joined).
 */
export async function sharedPretrainingKey(config: ExperimentConfig): Promise<string> {
  const keys = await Promise.all(subtasks(config.data.task).map((t) => vrPretrainKey(config, t)));
  return keys.join();
}

/**
 * A config's VR pre-training for one task, from the cache (weights beside
 * the entry) or trained now and cached, always with Adam at `vrPretrain.lr`
 * (whatever optimizer the run itself uses). The scores on the degraded test
 * images are computed for the config at hand (inference only).
 *
 * A cached entry whose weights file is gone is trained again (with a note). One whose weights
 * file is empty, truncated or not a weights file is an error naming the file: it is never
 * retrained silently nor removed; `force` trains it again and replaces the file.
 *
 * @param config An experiment config (checked).
 * @param data Its splits.
 * @param testInput Its degraded test images.
 * @param cache The results cache.
 * @param options `force`: train again even if cached; `progress`: print it (default true).
 * @param task The recognition task.
 * @throws {Error} `<weights file>: not a valid weights file (gradprom-weights-v1): <what is
 *   wrong>; delete it, or run again with --force, to compute it again`, for a cached
 *   pre-training whose weights file does not read.
 */
export async function vrPretraining(
  config: ExperimentConfig,
  data: DataSplits,
  testInput: tf.Tensor4D,
  cache: ResultsCache,
  options: { force?: boolean; progress?: boolean },
  task: SubTask,
): Promise<VrPretraining> {
  const key = await vrPretrainKey(config, task);
  const view = atCleanSize(testInput, data.test.images);
  const psnrInput = mean(psnrPerImage(view, data.test.images, { maxValue: 1 }));
  const ssimInput = mean(ssimPerImage(view, data.test.images, { dataRange: 1 }));
  const labels = data.test.targets[task]!;
  const classes = classesOf(config, task);
  const rng = new Rng(config.seed).fork(pretrainStream(config, task));
  const vr = makeVr(config, rng.fork("init").seed(), task);
  try {
    const weightsPath = cache.sidePath("vr-pretrain", key, "weights.bin");
    let clean: {
      result: Omit<VrPretrainResult, "accuracyDegraded" | "miouDegraded">;
      weights: Uint8Array;
    } | undefined;
    const hit = options.force ? undefined : await cache.get<VrPretrainResult>("vr-pretrain", key);
    if (hit) {
      const weights = await _readIfPresent(weightsPath);
      if (weights) {
        // A weights file that does not read is the user's to look at: refused, never replaced.
        decodeWeightsInto(vr.module, weights, weightsPath);
        clean = { result: hit, weights };
      } else if (options.progress !== false) {
        console.error(
          `note: the cached VR pre-training ${key.slice(0, 12)} (${task}) has no weights at ` +
            `${weightsPath}: training it again`,
        );
      }
    }
    if (!clean) {
      const t0 = performance.now();
      await trainVr(config, data, vr, rng, task, options.progress !== false);
      const s = recognitionScores(predict(vr, data.test.images, 32), labels, classes);
      const result = {
        key,
        accuracyClean: s.accuracy,
        ...(s.miou !== undefined ? { miouClean: s.miou } : {}),
        seconds: (performance.now() - t0) / 1000,
      };
      const weights = encodeWeights(vr.module);
      await writeFileAtomic(weightsPath, weights);
      await cache.put("vr-pretrain", key, result);
      clean = { result, weights };
    }
    // On the degraded test images of this config (cheap: inference only).
    const degraded = recognitionScores(predict(vr, view, 32), labels, classes);
    const result: VrPretrainResult = {
      ...clean.result,
      accuracyDegraded: degraded.accuracy,
      ...(degraded.miou !== undefined ? { miouDegraded: degraded.miou } : {}),
    };
    return { result, weights: clean.weights, weightsPath, psnrInput, ssimInput };
  } finally {
    vr.module.dispose();
    if (view !== testInput) view.dispose();
  }
}

/** A file's bytes, or undefined when there is no such file (other errors are thrown). */
async function _readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw new Error(
      `${path}: cannot read this weights file (${(e as Error).message}); make it readable, ` +
        `delete it, or run again with --force, to compute it again`,
      { cause: e },
    );
  }
}

/** Trains `vr` alone on the clean training images (the training loop, VR only). */
async function trainVr(
  config: ExperimentConfig,
  data: DataSplits,
  vr: Recognizer,
  rng: Rng,
  task: SubTask,
  progress: boolean,
): Promise<void> {
  const p = config.vrPretrain;
  const optimizer = new FusedAdam(p.lr);
  try {
    const sampler = batchSampler(data.train.images.shape[0], p.batchSize, rng.fork("batches"));
    await trainLoop({
      setup: { vr, optimizer },
      batches: {
        next: () =>
          tf.tidy(() => {
            const idx = tf.tensor1d(sampler(), "int32");
            return {
              images: tf.gather(data.train.images, idx) as tf.Tensor4D,
              labels: tf.gather(data.train.targets[task]!, idx),
            };
          }),
        skip: () => void sampler(),
      },
      steps: p.steps,
      label: `vr-pretrain ${task} seed ${config.seed}`,
      progress,
    });
  } finally {
    optimizer.dispose();
  }
}
