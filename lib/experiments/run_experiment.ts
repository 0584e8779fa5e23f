/**
 * Runs one experiment (one method, degradation and seed) through the results
 * cache: data, VR pre-training (cached on its own), training, evaluation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import denoJson from "../../deno.json" with { type: "json" };
import { setupBackend } from "../backend/setup_backend.ts";
import { addGaussianNoise } from "../data/gaussian_noise.ts";
import { accuracy } from "../metrics/accuracy.ts";
import { psnrPerImage } from "../metrics/psnr.ts";
import { ssimPerImage } from "../metrics/ssim.ts";
import { decodeWeightsInto, encodeWeights } from "../models/checkpoint.ts";
import { resNet } from "../models/resnet.ts";
import { unet } from "../models/unet.ts";
import { meanIoU } from "../metrics/miou.ts";
import { type SrResNet, srResNet } from "../models/sr_resnet.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { ipOnly } from "../strategies/ip_only.ts";
import { joint } from "../strategies/joint.ts";
import { getStrategy } from "../strategies/registry.ts";
import type { Strategy } from "../strategies/types.ts";
import { Progress } from "../train/progress.ts";
import {
  loadTrainingState,
  removeTrainingState,
  saveTrainingState,
} from "../train/training_state.ts";
import {
  type Recognizer,
  type StepLog,
  trainStep,
  trainVrStep,
  type VrMode,
} from "../train/train_step.ts";
import { Rng } from "../util/rng.ts";
import type { ExperimentConfig, Method } from "./config.ts";
import { dataFingerprint, type DataSplits, loadSplits, type Split } from "./_data.ts";
import { ResultsCache, writeFileAtomic } from "./results_cache.ts";
import { readFile } from "node:fs/promises";

/** Version of the library, part of every cache key. */
export const LIB_VERSION: string = denoJson.version;

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
}

/** A finished run, as cached. */
export interface RunResult {
  key: string;
  config: ExperimentConfig;
  metrics: RunMetrics;
  /** Per-step log: L_IP, L_VR, cos(G_IP, G_VR), weight given to G_VR. */
  log: { lossIp: number[]; lossVr: number[]; cosine: number[]; auxWeight: number[] };
  /** The VR pre-training this run used (Benchmark-ii). */
  vrPretrain: VrPretrainResult;
  seconds: number;
  backend: string;
  version: string;
  createdAt: string;
  /** True when this value came from the cache. */
  fromCache?: boolean;
}

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

/** Options of {@link runExperiment}. */
export interface RunOptions {
  cache?: ResultsCache;
  /** Ignore a cached result and run again (the new result replaces it). */
  force?: boolean;
  /** Print progress to stderr (default true). */
  progress?: boolean;
  /**
   * Save a resumable checkpoint every this many steps (default: a tenth of
   * the run, at least 10). A later call with the same config resumes from it.
   */
  checkpointEvery?: number;
  /** Stop (throw) after this step, as an interruption would: for tests of resuming. */
  stopAfterStep?: number;
}

const STRATEGY: Record<Method, { vrMode: VrMode; strategy: (c: ExperimentConfig) => Strategy }> = {
  "benchmark-i": { vrMode: "none", strategy: () => ipOnly },
  "joint": { vrMode: "trained", strategy: () => joint },
  "frozen": { vrMode: "frozen", strategy: () => joint },
  "gradprom": {
    vrMode: "trained",
    strategy: (c) => gradProm({ mode: "gate", granularity: c.train.granularity }),
  },
  "gradprom-weighted": {
    vrMode: "trained",
    strategy: (c) => gradProm({ mode: "weighted", granularity: c.train.granularity }),
  },
  "pcgrad": { vrMode: "trained", strategy: () => getStrategy("pcgrad") },
  "gradvac": { vrMode: "trained", strategy: () => getStrategy("gradvac") },
  "cagrad": { vrMode: "trained", strategy: () => getStrategy("cagrad") },
  "mgda": { vrMode: "trained", strategy: () => getStrategy("mgda") },
  "gradsim": { vrMode: "trained", strategy: () => getStrategy("gradsim-unweighted") },
};

/** Cache key of a run: its config, the library version and the data's fingerprint. */
export async function runKey(config: ExperimentConfig): Promise<string> {
  const { hashKey } = await import("./results_cache.ts");
  return hashKey({
    kind: "run",
    config,
    version: LIB_VERSION,
    data: await dataFingerprint(config.data),
  });
}

/**
 * Runs an experiment, or returns its cached result.
 *
 * @param config A full config (see `mergeConfig`).
 * @param options Cache, force, progress.
 * @returns The result, with `fromCache` set when it came from the cache.
 */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunOptions = {},
): Promise<RunResult> {
  const cache = options.cache ?? new ResultsCache();
  const key = await runKey(config);
  if (!options.force) {
    const hit = await cache.get<RunResult>("runs", key);
    if (hit) return { ...hit, fromCache: true };
  }
  const backend = await setupBackend();
  const t0 = performance.now();
  const data = await loadSplits(config.data);
  const rng = new Rng(config.seed);
  const testInput = degradeTest(config, data.test);
  const models: { ip?: SrResNet; vr?: Recognizer } = {};
  const optimizers: tf.Optimizer[] = [];
  try {
    const pre = await pretrainVr(config, data, testInput, cache, options);
    const vr = makeVr(config, rng.fork("vr-init").seed());
    models.vr = vr;
    const { vrMode, strategy } = STRATEGY[config.method];
    if (vrMode !== "trained" || config.train.vrInit === "pretrained") {
      decodeWeightsInto(vr.module, pre.weights);
    }
    const ip = srResNet(config.ip, rng.fork("ip-init").seed());
    models.ip = ip;
    const ipOptimizer = makeOptimizer(config.train.optimizer, config.train.lr);
    const vrOptimizer = makeOptimizer(config.train.optimizer, config.train.vrLr);
    optimizers.push(ipOptimizer, vrOptimizer);
    const setup = {
      ip,
      vr,
      vrMode,
      strategy: strategy(config),
      lambda: config.train.lambda,
      auxLoss: config.train.auxLoss,
      ipOptimizer,
      vrOptimizer,
    };

    const log: RunResult["log"] = { lossIp: [], lossVr: [], cosine: [], auxWeight: [] };
    const label = `${config.method} σ=${config.degradation.sigma} seed ${config.seed}`;
    const progress = new Progress(label, config.train.steps, {
      enabled: options.progress !== false,
    });
    const sampler = batchSampler(
      data.train.images.shape[0],
      config.train.batchSize,
      rng.fork("batches"),
    );
    const noiseRng = rng.fork("train-noise");
    // Resume from a checkpoint of this very run, if an earlier process left one.
    const checkpoint = cache.sidePath("checkpoints", key, "state.bin");
    const parts = {
      modules: { ip: ip.module, vr: vr.module },
      optimizers: { ip: ipOptimizer, vr: vrOptimizer },
    };
    let start = 0;
    const resumed = options.force ? undefined : await loadTrainingState(checkpoint, parts);
    if (resumed) {
      start = resumed.step;
      Object.assign(log, resumed.meta as RunResult["log"]);
      // Replay the seeded streams, so that step `start` sees the batch and noise it would have.
      for (let s = 0; s < start; s++) {
        sampler();
        noiseRng.seed();
      }
      if (options.progress !== false) {
        console.error(`[${label}] resumed at step ${start} from ${checkpoint}`);
      }
    }
    const every = options.checkpointEvery ?? Math.max(10, Math.ceil(config.train.steps / 10));
    let opened = log.auxWeight.filter((w) => w > 0).length;
    for (let step = start; step < config.train.steps; step++) {
      const idx = tf.tensor1d(sampler(), "int32");
      let out: StepLog;
      const batch = tf.tidy(() => {
        const target = tf.gather(data.train.images, idx) as tf.Tensor4D;
        const input = degrade(config, target, noiseRng.seed());
        return { target, input, labels: tf.gather(data.train.labels, idx) };
      });
      try {
        out = trainStep(setup, batch);
      } catch (e) {
        if (e instanceof Error) {
          const last = step >= every ? Math.floor(step / every) * every : 0;
          e.message = `${label}, step ${step + 1}: ${e.message}` +
            (last ? ` (the last good checkpoint, step ${last}, is kept: ${checkpoint})` : "");
        }
        throw e;
      } finally {
        tf.dispose([batch.target, batch.input, batch.labels]);
        idx.dispose();
      }
      log.lossIp.push(round(out.lossIp));
      log.lossVr.push(round(out.lossVr));
      log.cosine.push(round(out.cosine));
      log.auxWeight.push(round(out.auxWeight));
      if (out.auxWeight > 0) opened++;
      progress.update(step + 1, {
        L_IP: out.lossIp,
        L_VR: Number.isNaN(out.lossVr) ? undefined : out.lossVr,
        cos: Number.isNaN(out.cosine) ? undefined : out.cosine,
        gate: vrMode === "trained" && config.method.startsWith("gradprom")
          ? `${Math.round((100 * opened) / (step + 1))}%open`
          : undefined,
      });
      if ((step + 1) % every === 0 && step + 1 < config.train.steps) {
        await saveTrainingState(checkpoint, step + 1, log, parts);
      }
      if (options.stopAfterStep !== undefined && step + 1 >= options.stopAfterStep) {
        throw new Error(`${label}: stopped after step ${step + 1} (stopAfterStep)`);
      }
    }
    const ev = evaluate(ip, vr, data.test, testInput, config.train.batchSize, classesOf(config));
    const result: RunResult = {
      key,
      config,
      metrics: { ...ev, psnrInput: pre.psnrInput, ssimInput: pre.ssimInput },
      log,
      vrPretrain: pre.result,
      seconds: (performance.now() - t0) / 1000,
      backend: backend.name,
      version: LIB_VERSION,
      createdAt: new Date().toISOString(),
    };
    // The trained networks, beside the result (for qualitative figures and CAMs).
    await writeFileAtomic(cache.sidePath("runs", key, "ip.bin"), encodeWeights(ip.module));
    await writeFileAtomic(cache.sidePath("runs", key, "vr.bin"), encodeWeights(vr.module));
    await cache.put("runs", key, result);
    await removeTrainingState(checkpoint);
    return result;
  } finally {
    models.ip?.module.dispose();
    models.vr?.module.dispose();
    for (const o of optimizers) o.dispose();
    testInput.dispose();
    data.dispose();
  }
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
  await setupBackend();
  const data = await loadSplits(config.data);
  const testInput = degradeTest(config, data.test);
  try {
    return (await pretrainVr(config, data, testInput, options.cache ?? new ResultsCache(), options))
      .result;
  } finally {
    testInput.dispose();
    data.dispose();
  }
}

/** A run's trained networks, rebuilt from its config and its saved weights. */
export interface RunModels {
  ip: SrResNet;
  /** The run's VR after training (for Benchmark-i and Frozen-params, the pre-trained one). */
  vr: Recognizer;
  dispose(): void;
}

/**
 * Loads the trained IP and VR networks of a finished run from the cache
 * (saved beside its result since library version 0.2).
 *
 * @param result A run's result (from {@link runExperiment} or `runGrid`).
 * @param cache The cache it came from.
 * @returns Both networks, ready for `apply(x, { training: false })`; call `dispose()` after use.
 * @example
 * ```ts ignore
 * const [r] = await runGrid(getExperiment("table1-isic-denoise").grid("quick").slice(0, 1));
 * const { ip, vr, dispose } = await loadRunModels(r);
 * const y = ip.apply(x, { training: false });
 * dispose();
 * ```
 */
export async function loadRunModels(
  result: RunResult,
  cache: ResultsCache = new ResultsCache(),
): Promise<RunModels> {
  await setupBackend();
  const read = async (name: string) => {
    const path = cache.sidePath("runs", result.key, name);
    try {
      return new Uint8Array(await readFile(path));
    } catch {
      throw new Error(
        `Expected the trained weights of run ${result.key} at ${path} but found none ` +
          `(results from before weights were saved: run again with force)`,
      );
    }
  };
  const [ipBytes, vrBytes] = [await read("ip.bin"), await read("vr.bin")];
  const ip = srResNet(result.config.ip, 0);
  const vr = makeVr(result.config, 0);
  decodeWeightsInto(ip.module, ipBytes);
  decodeWeightsInto(vr.module, vrBytes);
  return { ip, vr, dispose: () => (ip.module.dispose(), vr.module.dispose()) };
}

/** Degrades a clean batch as the config says (seeded). */
function degrade(config: ExperimentConfig, clean: tf.Tensor4D, seed: number): tf.Tensor4D {
  if (config.degradation.kind !== "gaussian") {
    throw new TypeError(`Unknown degradation '${config.degradation.kind}'`);
  }
  return addGaussianNoise(clean, config.degradation.sigma, seed) as tf.Tensor4D;
}

/** The degraded test set: the same for every method and training seed. */
function degradeTest(config: ExperimentConfig, test: Split): tf.Tensor4D {
  const seed = new Rng(config.data.splitSeed).fork(`test-noise:${config.degradation.sigma}`).seed();
  return degrade(config, test.images, seed);
}

function makeOptimizer(kind: "adam" | "sgd", lr: number): tf.Optimizer {
  if (kind === "adam") return tf.train.adam(lr);
  if (kind === "sgd") return tf.train.sgd(lr);
  throw new TypeError(`Expected optimizer "adam" or "sgd" but found "${kind}"`);
}

/** Epoch-wise shuffled batches of indices (the last partial batch is dropped). */
function batchSampler(n: number, batchSize: number, rng: Rng): () => number[] {
  if (n < batchSize) {
    throw new RangeError(`Expected at least ${batchSize} training images but found ${n}`);
  }
  let order: number[] = [];
  return () => {
    if (order.length < batchSize) order = rng.shuffle([...Array(n).keys()]);
    return order.splice(0, batchSize);
  };
}

/** The VR network of a config: the ResNet for diagnosis, the U-Net for segmentation. */
function makeVr(config: ExperimentConfig, seed: number): Recognizer {
  return config.data.task === "segmentation" ? unet(config.seg, seed) : resNet(config.vr, seed);
}

/** Number of classes of the config's recognition task. */
function classesOf(config: ExperimentConfig): number {
  return config.data.task === "segmentation" ? config.seg.classes : config.vr.classes;
}

/** VR's predictions (argmax on the last axis) on `images`, in batches, flattened. */
function predict(vr: Recognizer, images: tf.Tensor4D, batchSize: number): number[] {
  const preds: number[] = [];
  for (let i = 0; i < images.shape[0]; i += batchSize) {
    const size = Math.min(batchSize, images.shape[0] - i);
    const p = tf.tidy(() =>
      tf.argMax(
        vr.apply(tf.slice(images, [i, 0, 0, 0], [size, -1, -1, -1]), { training: false }),
        -1,
      )
    );
    preds.push(...(p.dataSync() as Int32Array));
    p.dispose();
  }
  return preds;
}

/** Recognition scores of predictions: accuracy (pixel accuracy for masks) and, for masks, mIoU. */
function recognitionScores(
  preds: number[],
  labels: tf.Tensor,
  classes: number,
): { accuracy: number; miou?: number } {
  const truth = Array.from(labels.dataSync());
  if (labels.rank === 1) return { accuracy: accuracy(preds, truth) };
  return { accuracy: accuracy(preds, truth), miou: meanIoU(preds, truth, { classes }) };
}

/** Evaluates IP (PSNR, SSIM against clean) and VR on IP's output (accuracy, mIoU). */
function evaluate(
  ip: SrResNet,
  vr: Recognizer,
  test: Split,
  testInput: tf.Tensor4D,
  batchSize: number,
  classes: number,
): { psnr: number; ssim: number; accuracy: number; miou?: number } {
  const psnrs: number[] = [], ssims: number[] = [];
  const n = test.images.shape[0];
  const enhancedAll: tf.Tensor4D[] = [];
  for (let i = 0; i < n; i += batchSize) {
    const size = Math.min(batchSize, n - i);
    const [enhanced, clean] = tf.tidy(() => {
      const x = tf.slice(testInput, [i, 0, 0, 0], [size, -1, -1, -1]);
      const y = tf.clipByValue(ip.apply(x, { training: false }), 0, 1);
      return [y, tf.slice(test.images, [i, 0, 0, 0], [size, -1, -1, -1])];
    });
    psnrs.push(...psnrPerImage(enhanced, clean, { maxValue: 1 }));
    ssims.push(...ssimPerImage(enhanced, clean, { dataRange: 1 }));
    enhancedAll.push(enhanced);
    clean.dispose();
  }
  const enhanced = tf.concat(enhancedAll) as tf.Tensor4D;
  tf.dispose(enhancedAll);
  const scores = recognitionScores(predict(vr, enhanced, batchSize), test.labels, classes);
  enhanced.dispose();
  return { psnr: mean(psnrs), ssim: mean(ssims), ...scores };
}

/** VR pre-training on clean images (cached with its weights). */
async function pretrainVr(
  config: ExperimentConfig,
  data: DataSplits,
  testInput: tf.Tensor4D,
  cache: ResultsCache,
  options: RunOptions,
): Promise<
  { result: VrPretrainResult; weights: Uint8Array; psnrInput: number; ssimInput: number }
> {
  const { hashKey } = await import("./results_cache.ts");
  const keyObj = {
    kind: "vr-pretrain",
    data: config.data,
    vr: config.data.task === "segmentation" ? config.seg : config.vr,
    vrPretrain: config.vrPretrain,
    seed: config.seed,
    version: LIB_VERSION,
    fingerprint: await dataFingerprint(config.data),
  };
  const key = hashKey(keyObj);
  const psnrInput = mean(psnrPerImage(testInput, data.test.images, { maxValue: 1 }));
  const ssimInput = mean(ssimPerImage(testInput, data.test.images, { dataRange: 1 }));
  const weightsPath = cache.sidePath("vr-pretrain", key, "weights.bin");
  const hit = options.force ? undefined : await cache.get<VrPretrainResult>("vr-pretrain", key);
  if (hit) {
    try {
      return {
        result: hit,
        weights: new Uint8Array(await readFile(weightsPath)),
        psnrInput,
        ssimInput,
      };
    } catch { /* weights missing: train again */ }
  }
  const t0 = performance.now();
  const rng = new Rng(config.seed).fork("vr-pretrain");
  const vr = makeVr(config, rng.fork("init").seed());
  const opt = makeOptimizer(config.train.optimizer, config.vrPretrain.lr);
  try {
    const p = config.vrPretrain;
    const progress = new Progress(`vr-pretrain seed ${config.seed}`, p.steps, {
      enabled: options.progress !== false,
    });
    const sampler = batchSampler(data.train.images.shape[0], p.batchSize, rng.fork("batches"));
    for (let step = 0; step < p.steps; step++) {
      const idx = tf.tensor1d(sampler(), "int32");
      const [x, y] = tf.tidy(
        () => [tf.gather(data.train.images, idx), tf.gather(data.train.labels, idx)],
      );
      let loss: number;
      try {
        loss = trainVrStep(vr, opt, x as tf.Tensor4D, y);
      } catch (e) {
        if (e instanceof Error) e.message = `VR pre-training, step ${step + 1}: ${e.message}`;
        throw e;
      } finally {
        tf.dispose([x, y, idx]);
      }
      progress.update(step + 1, { L_VR: loss });
    }
    const score = (images: tf.Tensor4D) =>
      recognitionScores(predict(vr, images, 32), data.test.labels, classesOf(config));
    const clean = score(data.test.images), degraded = score(testInput);
    const result: VrPretrainResult = {
      key,
      accuracyClean: clean.accuracy,
      accuracyDegraded: degraded.accuracy,
      ...(clean.miou !== undefined ? { miouClean: clean.miou, miouDegraded: degraded.miou } : {}),
      seconds: (performance.now() - t0) / 1000,
    };
    const weights = encodeWeights(vr.module);
    await writeFileAtomic(weightsPath, weights);
    await cache.put("vr-pretrain", key, result);
    return { result, weights, psnrInput, ssimInput };
  } finally {
    vr.module.dispose();
    opt.dispose();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);
