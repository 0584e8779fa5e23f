/**
 * Runs one experiment (one method, degradation and seed) through the results
 * cache: data, VR pre-training (cached on its own), training, evaluation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import denoJson from "../../deno.json" with { type: "json" };
import { setupBackend } from "../backend/setup_backend.ts";
import { type DegradationSpec, degrade as applyDegradation } from "../data/degradations/mod.ts";
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
import {
  dataFingerprint,
  DATASET_SHAPES,
  DATASET_TASKS,
  type DataSplits,
  loadSplits,
  type Split,
  subtasks,
} from "./_data.ts";
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
  /** With `data.evalDataset`: IP on that dataset's test split (PSNR/SSIM, and of its degraded input). */
  cross?: { dataset: string; psnr: number; ssim: number; psnrInput: number; ssimInput: number };
}

/** A finished run, as cached. */
export interface RunResult {
  key: string;
  config: ExperimentConfig;
  metrics: RunMetrics;
  /** Per-step log: L_IP, L_VR, cos(G_IP, G_VR), weight given to G_VR. */
  log: {
    lossIp: number[];
    lossVr: number[];
    cosine: number[];
    auxWeight: number[];
    /** `diagnosis+segmentation` only: the same per auxiliary task (L_VR is then their sum). */
    perAux?: { task: string; lossVr: number[]; cosine: number[]; auxWeight: number[] }[];
    /**
     * With a VR: cos(G_IP, G_VR) per variable of IP (`names`), sampled at `steps`
     * (about 50 samples a run). Absent in results from before version 0.3.
     */
    layers?: { names: string[]; steps: number[]; cosine: number[][] };
  };
  /** The VR pre-training this run used (Benchmark-ii; the diagnosis one when there are two). */
  vrPretrain: VrPretrainResult;
  /** `diagnosis+segmentation` only: the segmentation network's pre-training. */
  vrPretrainExtra?: VrPretrainResult;
  seconds: number;
  backend: string;
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
export type RunEvent =
  | { type: "resume"; step: number; total: number; path: string }
  | { type: "step"; step: number; total: number }
  | { type: "checkpoint"; step: number; total: number; path: string };

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
 * A run interrupted after a checkpoint (an exception, a killed process)
 * resumes from it on the next call with the same config: it says so
 * (`resumed at step k of n from checkpoint …` with the progress, a `resume`
 * event, `resumedFrom` in the result), trains only steps k+1 to n, and ends
 * with the numbers of an uninterrupted run.
 *
 * @param config A full config (see `mergeConfig`).
 * @param options Cache, force, progress, checkpoints, events.
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
  checkConfig(config);
  const backend = await setupBackend();
  const t0 = performance.now();
  const data = await loadSplits(config.data);
  const rng = new Rng(config.seed);
  const testInput = degradeTest(config, data.test);
  const tasks = subtasks(config.data.task);
  const models: { ip?: SrResNet; vrs: Recognizer[] } = { vrs: [] };
  const optimizers: tf.Optimizer[] = [];
  try {
    const pres: Awaited<ReturnType<typeof pretrainVr>>[] = [];
    for (const task of tasks) {
      pres.push(await pretrainVr(config, data, testInput, cache, options, task));
    }
    const { vrMode, strategy } = STRATEGY[config.method];
    const vrs = tasks.map((task, k) => {
      // The first VR keeps its historical seed stream, so single-task runs are unchanged.
      const vr = makeVr(config, rng.fork(k ? `vr-init:${task}` : "vr-init").seed(), task);
      models.vrs.push(vr);
      if (vrMode !== "trained" || config.train.vrInit === "pretrained") {
        decodeWeightsInto(vr.module, pres[k].weights);
      }
      return vr;
    });
    const vr = vrs[0];
    const pre = pres[0];
    const ip = srResNet(config.ip, rng.fork("ip-init").seed());
    models.ip = ip;
    const ipOptimizer = makeOptimizer(config.train.optimizer, config.train.lr);
    const vrOptimizers = vrs.map(() => makeOptimizer(config.train.optimizer, config.train.vrLr));
    const vrOptimizer = vrOptimizers[0];
    optimizers.push(ipOptimizer, ...vrOptimizers);
    const setup = {
      ip,
      vr,
      vrMode,
      strategy: strategy(config),
      lambda: config.train.lambda,
      auxLoss: config.train.auxLoss,
      ipOptimizer,
      vrOptimizer,
      extra: vrs.slice(1).map((v, k) => ({ vr: v, vrOptimizer: vrOptimizers[k + 1] })),
    };

    const log: RunResult["log"] = {
      lossIp: [],
      lossVr: [],
      cosine: [],
      auxWeight: [],
      ...(tasks.length > 1
        ? { perAux: tasks.map((task) => ({ task, lossVr: [], cosine: [], auxWeight: [] })) }
        : {}),
      ...(vrMode !== "none"
        ? {
          layers: {
            // Parameter paths without the model instance's scope (`head/conv/w`).
            names: ip.module.trainable().map((v) => v.name.replace(/^[^/]+\//, "")),
            steps: [],
            cosine: [],
          },
        }
        : {}),
    };
    const layerEvery = Math.max(1, Math.floor(config.train.steps / 50));
    const label = `${config.method} ${describeDegradation(config.degradation)} seed ${config.seed}`;
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
      modules: {
        ip: ip.module,
        vr: vr.module,
        ...Object.fromEntries(vrs.slice(1).map((v, k) => [`vr${k + 1}`, v.module])),
      },
      optimizers: {
        ip: ipOptimizer,
        vr: vrOptimizer,
        ...Object.fromEntries(vrOptimizers.slice(1).map((o, k) => [`vr${k + 1}`, o])),
      },
    };
    const total = config.train.steps;
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
      progress.note(`resumed at step ${start} of ${total} from checkpoint ${checkpoint}`);
      options.onEvent?.({ type: "resume", step: start, total, path: checkpoint });
    }
    const every = options.checkpointEvery ?? Math.max(10, Math.ceil(config.train.steps / 10));
    let opened = log.auxWeight.filter((w) => w > 0).length;
    for (let step = start; step < config.train.steps; step++) {
      const idx = tf.tensor1d(sampler(), "int32");
      let out: StepLog;
      const batch = tf.tidy(() => {
        const target = tf.gather(data.train.images, idx) as tf.Tensor4D;
        const input = degrade(config, target, noiseRng.seed());
        const [labels, ...extraLabels] = tasks.map((t) => tf.gather(data.train.targets[t]!, idx));
        return { target, input, labels, extraLabels };
      });
      try {
        out = trainStep({ ...setup, layerCosines: step % layerEvery === 0 }, batch);
      } catch (e) {
        if (e instanceof Error) {
          const last = step >= every ? Math.floor(step / every) * every : 0;
          e.message = `${label}, step ${step + 1}: ${e.message}` +
            (last ? ` (the last good checkpoint, step ${last}, is kept: ${checkpoint})` : "");
        }
        throw e;
      } finally {
        tf.dispose([batch.target, batch.input, batch.labels, ...batch.extraLabels]);
        idx.dispose();
      }
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
      if (out.auxWeight > 0) opened++;
      progress.update(step + 1, {
        L_IP: out.lossIp,
        L_VR: Number.isNaN(out.lossVr) ? undefined : out.lossVr,
        cos: Number.isNaN(out.cosine) ? undefined : out.cosine,
        gate: vrMode === "trained" && config.method.startsWith("gradprom")
          ? `${Math.round((100 * opened) / (step + 1))}%open`
          : undefined,
      });
      options.onEvent?.({ type: "step", step: step + 1, total });
      if ((step + 1) % every === 0 && step + 1 < total) {
        await saveTrainingState(checkpoint, step + 1, log, parts);
        progress.note(`checkpoint saved at step ${step + 1} of ${total}: ${checkpoint}`);
        options.onEvent?.({ type: "checkpoint", step: step + 1, total, path: checkpoint });
      }
      if (options.stopAfterStep !== undefined && step + 1 >= options.stopAfterStep) {
        throw new Error(`${label}: stopped after step ${step + 1} (stopAfterStep)`);
      }
    }
    const ev = evaluate(config, ip, vrs, data.test, testInput);
    const cross = config.data.evalDataset ? await evaluateCrossDomain(config, ip) : undefined;
    const result: RunResult = {
      key,
      config,
      metrics: {
        ...ev,
        psnrInput: pre.psnrInput,
        ssimInput: pre.ssimInput,
        ...(cross ? { cross } : {}),
      },
      log,
      vrPretrain: pre.result,
      ...(pres[1] ? { vrPretrainExtra: pres[1].result } : {}),
      seconds: (performance.now() - t0) / 1000,
      backend: backend.name,
      version: LIB_VERSION,
      createdAt: new Date().toISOString(),
      ...(start > 0 ? { resumedFrom: start } : {}),
    };
    // The trained networks, beside the result (for qualitative figures and CAMs).
    await writeFileAtomic(cache.sidePath("runs", key, "ip.bin"), encodeWeights(ip.module));
    for (const [k, v] of vrs.entries()) {
      await writeFileAtomic(
        cache.sidePath("runs", key, k ? `vr${k}.bin` : "vr.bin"),
        encodeWeights(v.module),
      );
    }
    await cache.put("runs", key, result);
    await removeTrainingState(checkpoint);
    return result;
  } finally {
    models.ip?.module.dispose();
    for (const v of models.vrs) v.module.dispose();
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
  checkConfig(config);
  await setupBackend();
  const data = await loadSplits(config.data);
  const testInput = degradeTest(config, data.test);
  try {
    let first: VrPretrainResult | undefined;
    for (const task of subtasks(config.data.task)) {
      const r = await pretrainVr(
        config,
        data,
        testInput,
        options.cache ?? new ResultsCache(),
        options,
        task,
      );
      first ??= r.result;
    }
    return first!;
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
  /** `diagnosis+segmentation` runs: the segmentation network (`vr` is then the classifier). */
  segmenter?: Recognizer;
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
  const [task, extraTask] = subtasks(result.config.data.task);
  const vr = makeVr(result.config, 0, task);
  decodeWeightsInto(ip.module, ipBytes);
  decodeWeightsInto(vr.module, vrBytes);
  let segmenter: Recognizer | undefined;
  if (extraTask) {
    segmenter = makeVr(result.config, 0, extraTask);
    decodeWeightsInto(segmenter.module, await read("vr1.bin"));
  }
  return {
    ip,
    vr,
    ...(segmenter ? { segmenter } : {}),
    dispose: () => (ip.module.dispose(), vr.module.dispose(), segmenter?.module.dispose()),
  };
}

/**
 * The degradation of a config as the `degrade` function of
 * `lib/data/degradations` takes it.
 *
 * @example
 * ```ts
 * import { degradationSpec } from "./run_experiment.ts";
 * const d = { kind: "bicubic", sigma: 0, photons: 0, blurSigma: 0, factor: 4 } as const;
 * console.log(degradationSpec(d)); // { kind: "bicubic", factor: 4 }
 * ```
 */
export function degradationSpec(d: ExperimentConfig["degradation"]): DegradationSpec {
  switch (d.kind) {
    case "gaussian":
      return { kind: "gaussian", sigma: d.sigma };
    case "poisson":
      return { kind: "poisson", photons: d.photons };
    case "blur":
      return { kind: "blur", sigma: d.blurSigma };
    case "composite":
      return {
        kind: "composite",
        sigma: d.sigma,
        photons: d.photons > 0 ? d.photons : Infinity,
        blurSigma: d.blurSigma,
      };
    case "bicubic":
      if (d.factor !== 2 && d.factor !== 4) {
        throw new RangeError(
          `Expected degradation.factor 2 or 4 for bicubic but found ${d.factor}`,
        );
      }
      return { kind: "bicubic", factor: d.factor };
  }
  throw new TypeError(`Unknown degradation kind ${JSON.stringify((d as { kind: unknown }).kind)}`);
}

/** A short label of a degradation: `σ=0.1`, `bicubic ×4`, `composite σ=0.05 …`. */
export function describeDegradation(d: ExperimentConfig["degradation"]): string {
  switch (d.kind) {
    case "gaussian":
      return `σ=${d.sigma}`;
    case "poisson":
      return `Poisson ${d.photons} photons`;
    case "blur":
      return `blur σ=${d.blurSigma}px`;
    case "composite":
      return `composite σ=${d.sigma}${d.photons > 0 ? ` ${d.photons} photons` : ""}${
        d.blurSigma > 0 ? ` blur ${d.blurSigma}px` : ""
      }`;
    case "bicubic":
      return `bicubic ×${d.factor}`;
  }
  return String(d.kind);
}

/** Degrades a clean batch as the config says (seeded). */
function degrade(config: ExperimentConfig, clean: tf.Tensor4D, seed: number): tf.Tensor4D {
  return applyDegradation(clean, degradationSpec(config.degradation), seed);
}

/** The seed of the fixed degraded test set (the same for every method and training seed). */
function testSeed(config: ExperimentConfig): number {
  const d = config.degradation;
  // Gaussian keeps the stream of earlier versions; other kinds are keyed by their whole spec.
  const tag = d.kind === "gaussian"
    ? `test-noise:${d.sigma}`
    : `test-noise:${JSON.stringify(degradationSpec(d))}`;
  return new Rng(config.data.splitSeed).fork(tag).seed();
}

/** The degraded test set: the same for every method and training seed. */
function degradeTest(config: ExperimentConfig, test: Split): tf.Tensor4D {
  return degradeTestImages(config, test.images);
}

/**
 * Degrades clean test images exactly as the runner does for a config's
 * held-out metrics: the seed comes from `data.splitSeed` and the degradation,
 * never from the run's seed, so every method and training seed sees the same
 * degraded test set (for super-resolution: the low-resolution images).
 *
 * @param config An experiment config.
 * @param clean Clean test images `[N, H, W, C]` in [0, 1] (not disposed).
 * @returns The degraded images (a new tensor).
 */
export function degradeTestImages(config: ExperimentConfig, clean: tf.Tensor4D): tf.Tensor4D {
  return degrade(config, clean, testSeed(config));
}

/**
 * The degraded images at the clean images' size: themselves, or for
 * super-resolution bilinearly upsampled (what VR and the input PSNR see).
 */
function atCleanSize(x: tf.Tensor4D, like: tf.Tensor4D): tf.Tensor4D {
  const [h, w] = [like.shape[1], like.shape[2]];
  if (x.shape[1] === h && x.shape[2] === w) return x;
  return tf.tidy(() => tf.clipByValue(tf.image.resizeBilinear(x, [h, w], true), 0, 1));
}

/**
 * Checks a config against its dataset before anything runs: image channels
 * and class counts of the networks, the SR scale against the degradation.
 * Errors name the keys to set.
 */
export function checkConfig(config: ExperimentConfig): void {
  const { dataset, task, evalDataset } = config.data;
  const shapes = DATASET_SHAPES[dataset];
  if (!shapes) {
    throw new TypeError(
      `Expected data.dataset ${Object.keys(DATASET_SHAPES).join(", ")} but found ${dataset}`,
    );
  }
  if (!DATASET_TASKS[dataset].includes(task)) {
    throw new TypeError(
      `Expected data.task ${DATASET_TASKS[dataset].join(" or ")} for ${dataset} but found ${task}`,
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
  if (evalDataset && DATASET_SHAPES[evalDataset]?.channels !== shapes.channels) {
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

/** The VR network of a task: the ResNet for diagnosis, the U-Net for segmentation. */
function makeVr(config: ExperimentConfig, seed: number, task: SubTask): Recognizer {
  return task === "segmentation" ? unet(config.seg, seed) : resNet(config.vr, seed);
}

type SubTask = "diagnosis" | "segmentation";

/** Number of classes of a recognition task. */
function classesOf(config: ExperimentConfig, task: SubTask): number {
  return task === "segmentation" ? config.seg.classes : config.vr.classes;
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

/** IP's output on the degraded test set in batches, clipped to [0, 1]. */
function enhanceAll(ip: SrResNet, input: tf.Tensor4D, batchSize: number): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  for (let i = 0; i < input.shape[0]; i += batchSize) {
    const size = Math.min(batchSize, input.shape[0] - i);
    parts.push(tf.tidy(() =>
      tf.clipByValue(
        ip.apply(tf.slice(input, [i, 0, 0, 0], [size, -1, -1, -1]), { training: false }),
        0,
        1,
      )
    ));
  }
  const out = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return out;
}

/**
 * Evaluates IP (PSNR, SSIM against clean) and each VR on IP's output
 * (accuracy for diagnosis; pixel accuracy and mIoU for segmentation; with
 * both tasks, `accuracy` is the diagnosis accuracy).
 */
function evaluate(
  config: ExperimentConfig,
  ip: SrResNet,
  vrs: Recognizer[],
  test: Split,
  testInput: tf.Tensor4D,
): { psnr: number; ssim: number; accuracy: number; miou?: number } {
  const batchSize = config.train.batchSize;
  const enhanced = enhanceAll(ip, testInput, batchSize);
  try {
    const psnr = mean(psnrPerImage(enhanced, test.images, { maxValue: 1 }));
    const ssim = mean(ssimPerImage(enhanced, test.images, { dataRange: 1 }));
    const tasks = subtasks(config.data.task);
    const scores = tasks.map((t, k) =>
      recognitionScores(
        predict(vrs[k], enhanced, batchSize),
        test.targets[t]!,
        classesOf(config, t),
      )
    );
    return {
      psnr,
      ssim,
      accuracy: scores[0].accuracy,
      ...(scores.at(-1)!.miou !== undefined ? { miou: scores.at(-1)!.miou } : {}),
    };
  } finally {
    enhanced.dispose();
  }
}

/** IP on another dataset's test split, degraded the same way (cross-domain). */
async function evaluateCrossDomain(
  config: ExperimentConfig,
  ip: SrResNet,
): Promise<NonNullable<RunMetrics["cross"]>> {
  const dataset = config.data.evalDataset!;
  const data = await loadSplits({
    dataset,
    root: config.data.evalRoot,
    task: DATASET_TASKS[dataset][0],
    size: config.data.size,
    splitSeed: config.data.splitSeed,
    trainLimit: 1,
    testLimit: config.data.testLimit,
  });
  const input = degrade(config, data.test.images, testSeed(config));
  try {
    const enhanced = enhanceAll(ip, input, config.train.batchSize);
    const view = atCleanSize(input, data.test.images);
    const out = {
      dataset,
      psnr: mean(psnrPerImage(enhanced, data.test.images, { maxValue: 1 })),
      ssim: mean(ssimPerImage(enhanced, data.test.images, { dataRange: 1 })),
      psnrInput: mean(psnrPerImage(view, data.test.images, { maxValue: 1 })),
      ssimInput: mean(ssimPerImage(view, data.test.images, { dataRange: 1 })),
    };
    tf.dispose([enhanced, ...(view === input ? [] : [view])]);
    return out;
  } finally {
    input.dispose();
    data.dispose();
  }
}

/**
 * VR pre-training on clean images (cached with its weights), always with
 * Adam at `vrPretrain.lr` (whatever optimizer the run itself uses). The cache
 * key leaves out the degradation: one pre-training serves every noise level;
 * the score on the degraded test images is computed for the config at hand.
 */
async function pretrainVr(
  config: ExperimentConfig,
  data: DataSplits,
  testInput: tf.Tensor4D,
  cache: ResultsCache,
  options: RunOptions,
  task: SubTask,
): Promise<
  { result: VrPretrainResult; weights: Uint8Array; psnrInput: number; ssimInput: number }
> {
  const { hashKey } = await import("./results_cache.ts");
  const d = config.data;
  const keyObj = {
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
    version: LIB_VERSION,
    fingerprint: await dataFingerprint(config.data),
  };
  const key = hashKey(keyObj);
  const view = atCleanSize(testInput, data.test.images);
  const psnrInput = mean(psnrPerImage(view, data.test.images, { maxValue: 1 }));
  const ssimInput = mean(ssimPerImage(view, data.test.images, { dataRange: 1 }));
  const labels = data.test.targets[task]!;
  const classes = classesOf(config, task);
  const rng = new Rng(config.seed).fork(
    task === "diagnosis" || config.data.task !== "diagnosis+segmentation"
      ? "vr-pretrain"
      : `vr-pretrain:${task}`,
  );
  const vr = makeVr(config, rng.fork("init").seed(), task);
  try {
    const weightsPath = cache.sidePath("vr-pretrain", key, "weights.bin");
    let clean: {
      result: Omit<VrPretrainResult, "accuracyDegraded" | "miouDegraded">;
      weights: Uint8Array;
    } | undefined;
    const hit = options.force ? undefined : await cache.get<VrPretrainResult>("vr-pretrain", key);
    if (hit) {
      try {
        clean = { result: hit, weights: new Uint8Array(await readFile(weightsPath)) };
        decodeWeightsInto(vr.module, clean.weights);
      } catch { /* weights missing: train again */ }
    }
    if (!clean) {
      const t0 = performance.now();
      const opt = tf.train.adam(config.vrPretrain.lr);
      try {
        const p = config.vrPretrain;
        const progress = new Progress(`vr-pretrain ${task} seed ${config.seed}`, p.steps, {
          enabled: options.progress !== false,
        });
        const sampler = batchSampler(data.train.images.shape[0], p.batchSize, rng.fork("batches"));
        for (let step = 0; step < p.steps; step++) {
          const idx = tf.tensor1d(sampler(), "int32");
          const [x, y] = tf.tidy(
            () => [tf.gather(data.train.images, idx), tf.gather(data.train.targets[task]!, idx)],
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
      } finally {
        opt.dispose();
      }
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
    return { result, weights: clean.weights, psnrInput, ssimInput };
  } finally {
    vr.module.dispose();
    if (view !== testInput) view.dispose();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);
