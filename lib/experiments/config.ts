/**
 * Typed experiment configs: defaults, overrides that must keep the default's
 * type, and unknown keys as errors (nanoGPT's rule). The whole config is
 * saved next to every result and is what the results cache is keyed by.
 *
 * @module
 */
import { resolve } from "node:path";
import { RESNET_DEFAULTS, type ResNetOptions } from "../models/resnet.ts";
import { SR_RESNET_DEFAULTS, type SrResNetOptions } from "../models/sr_resnet.ts";
import { UNET_DEFAULTS, type UNetOptions } from "../models/unet.ts";
import { type DatasetId, DATASETS } from "../data/registry.ts";
import { METHOD_IDS, type MethodId, PAPER_ROLES } from "./methods.ts";

/** Training methods of the paper's tables: the keys of `METHOD_SPECS` (`./methods.ts`), in order. */
export const METHODS: readonly Method[] = METHOD_IDS;
/** A training method (a key of `METHOD_SPECS`, which says what it is). */
export type Method = MethodId;

/**
 * A dataset id: a key of `DATASETS` (`lib/data/registry.ts`), whose descriptor says
 * what the dataset is (each read from its published layout, or its embedded synthetic copy).
 */
export type Dataset = DatasetId;

/**
 * The auxiliary recognition task: `diagnosis` (image labels, VR = the ResNet
 * `vr`), `segmentation` (masks, VR = the U-Net `seg`), or both at once, each
 * with its own gradient and gate (the paper's multi-task ablation).
 */
export type Task = "diagnosis" | "segmentation" | "diagnosis+segmentation";

/** Degradations of the input (see `lib/data/degradations`). */
export const DEGRADATION_KINDS = ["gaussian", "poisson", "blur", "composite", "bicubic"] as const;

/** One experiment: one method, one degradation, one seed. */
export interface ExperimentConfig {
  /**
   * A key of `METHOD_SPECS` (`./methods.ts`), which gives its VR mode and its strategy of
   * `lib/strategies/registry.ts` (with that strategy's defaults, unless `train.strategyOptions`).
   */
  method: Method;
  /** Seed of everything random in the run: initialisation, batches, noise. */
  seed: number;
  data: {
    /** A key of `DATASETS` (`lib/data/registry.ts`). */
    dataset: Dataset;
    /** Folder of the real dataset, or null for the embedded synthetic one. */
    root: string | null;
    /**
     * `diagnosis` (ISIC Task 3, COVID-CT, Lizard's dominant nucleus type, CAMUS's view;
     * VR = the ResNet `vr`), `segmentation` (ISIC Task 1, Lizard, CAMUS masks; VR = the
     * U-Net `seg`), or `diagnosis+segmentation` (Lizard, CAMUS: both, each with its own gate).
     */
    task: Task;
    /** Height and width the images are resized to. */
    size: [number, number];
    /** Seed of the train/val/test split (kept fixed across training seeds). */
    splitSeed: number;
    /** Use at most this many training / test images (null: all). */
    trainLimit: number | null;
    testLimit: number | null;
    /**
     * Cross-domain evaluation: also measure IP (PSNR, SSIM) on this dataset's
     * test split, degraded the same way (null: none). Its images must have the
     * same channels.
     */
    evalDataset: Dataset | null;
    /** Folder of `evalDataset` (null: its embedded synthetic copy). */
    evalRoot: string | null;
  };
  /**
   * The degradation. `gaussian`: additive noise of std `sigma`; `poisson`: shot
   * noise with `photons` at value 1; `blur`: Gaussian blur of std `blurSigma`
   * pixels; `composite`: blur, then Poisson, then Gaussian (`photons` 0 means no
   * Poisson step); `bicubic`: MATLAB-style bicubic downsampling by `factor`
   * (super-resolution; `ip.scale` must equal it). Fields a kind does not use are ignored.
   */
  degradation: {
    kind: (typeof DEGRADATION_KINDS)[number];
    sigma: number;
    photons: number;
    blurSigma: number;
    factor: number;
  };
  ip: SrResNetOptions;
  /** The diagnosis network (used when `data.task` is `diagnosis`). */
  vr: ResNetOptions;
  /** The segmentation network (used when `data.task` is `segmentation`). */
  seg: UNetOptions;
  train: {
    steps: number;
    batchSize: number;
    optimizer: "adam" | "sgd";
    /** Learning rate of IP (θ). ESTR: Adam, 1e-4. */
    lr: number;
    /** Learning rate of VR (φ). */
    vrLr: number;
    /** λ in L_total = L_IP + λ·L_VR. ESTR uses 1e-3 for SR; the paper does not say. */
    lambda: number;
    /** GradProm's cosine over all of θ (`global`, default) or per variable (`layer`). */
    granularity: "global" | "layer";
    /**
     * VR's starting point in Joint/GradProm: `pretrained` (the same clean-image
     * classifier the Frozen-params recipe freezes; default) or `scratch`.
     */
    vrInit: "pretrained" | "scratch";
    /**
     * `supervised` (default): L_VR uses the ground-truth labels. `unsupervised`:
     * no labels in L_VR; VR's output on the enhanced image is pulled towards its
     * output on the clean image (ESTR's unsupervised variant; the paper does not
     * define its setting further).
     */
    auxLoss: "supervised" | "unsupervised";
    /**
     * Options of the method's strategy (e.g. `{ symmetric: true }` for `pcgrad`), over its
     * defaults; keys must be among the strategy's `optionKeys` (checked by `checkConfig`).
     * GradProm's `granularity` is `train.granularity`. Left out of the cache key when empty.
     */
    strategyOptions: Record<string, unknown>;
  };
  /** Training of VR alone on clean images (Benchmark-ii and Frozen-params's first stage). */
  vrPretrain: { steps: number; batchSize: number; lr: number };
}

/** A deep partial of a config, for overrides. */
export type ConfigOverrides<T> = {
  [K in keyof T]?: T[K] extends unknown[] | null | string | number | boolean ? T[K]
    : T[K] extends object ? ConfigOverrides<T[K]>
    : T[K];
};

/** Defaults of a full-size run (the paper's setting where known, ESTR's where not). */
export const DEFAULT_CONFIG: ExperimentConfig = {
  method: PAPER_ROLES.proposed,
  seed: 0,
  data: {
    dataset: DATASETS.isic2018.id,
    root: null,
    task: "diagnosis",
    size: [64, 64],
    splitSeed: 0,
    trainLimit: null,
    testLimit: null,
    evalDataset: null,
    evalRoot: null,
  },
  degradation: { kind: "gaussian", sigma: 0.1, photons: 0, blurSigma: 0, factor: 1 },
  ip: { ...SR_RESNET_DEFAULTS },
  vr: { ...RESNET_DEFAULTS },
  seg: { ...UNET_DEFAULTS },
  train: {
    steps: 2000,
    batchSize: 16,
    optimizer: "adam",
    lr: 1e-4,
    vrLr: 1e-4,
    lambda: 1e-3,
    granularity: "global",
    vrInit: "pretrained",
    auxLoss: "supervised",
    strategyOptions: {},
  },
  vrPretrain: { steps: 1000, batchSize: 16, lr: 1e-3 },
};

/**
 * Applies overrides to a config. Unknown keys and values whose type differs
 * from the default's are errors naming the key path. `train.strategyOptions`
 * takes any keys (`checkConfig` checks them against the strategy) and an
 * override replaces it whole.
 *
 * @param base The config to start from.
 * @param overrides Values to replace, nested like the config.
 * @returns A new config (the inputs are not modified).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
 * const c = mergeConfig(DEFAULT_CONFIG, { train: { steps: 10 } });
 * assert.deepEqual([c.train.steps, c.train.lr], [10, 0.0001]);
 * ```
 */
export function mergeConfig<T>(
  base: T,
  overrides: ConfigOverrides<T> | Record<string, unknown>,
): T {
  return mergeAt(base, overrides, "") as T;
}

function mergeAt(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return structuredClone(base);
  const isObj = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(base)) {
    if (!isObj(over)) {
      throw new TypeError(
        `Expected an object at '${path || "."}' but found ${JSON.stringify(over)}`,
      );
    }
    const b = base as Record<string, unknown>, o = over as Record<string, unknown>;
    if (OPEN_RECORDS.includes(path)) return structuredClone(o);
    const unknown = Object.keys(o).filter((k) => !(k in b));
    if (unknown.length) {
      throw new TypeError(
        `Unknown config key${unknown.length > 1 ? "s" : ""} ${
          unknown.map((k) => `'${join(path, k)}'`).join(", ")
        }; ` +
          `expected one of: ${Object.keys(b).join(", ")}`,
      );
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(b)) out[k] = mergeAt(b[k], o[k], join(path, k));
    return out;
  }
  const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  // `null` defaults (optional paths and limits) accept a string/number in their place.
  if (base !== null && over !== null && kind(base) !== kind(over)) {
    throw new TypeError(
      `Expected ${kind(base)} at '${path}' but found ${kind(over)} ${JSON.stringify(over)}`,
    );
  }
  return structuredClone(over);
}

/** Records whose keys are free (checked where they are used): an override replaces them whole. */
const OPEN_RECORDS = ["train.strategyOptions"];

const join = (path: string, k: string) => (path ? `${path}.${k}` : k);

/**
 * Checks the range of every value of a config that has one, before anything runs: counts and
 * sizes are integers ≥ 1 (≥ 0 for seeds and `ip.blocks`), learning rates finite and > 0, λ
 * finite and ≥ 0, σ in [0, 1], the named choices among their names, and the data folders
 * non-empty strings or null. `mergeConfig` has checked the types already, except where the
 * default is null (`data.root`, the limits), which takes a value of any type. The first
 * value out of range is the error; `checkConfig` (`run_experiment.ts`) calls this first.
 *
 * @param config A merged config.
 * @throws {RangeError} For a number out of its range or a choice that is not among the names,
 *   in the form `Expected train.batchSize to be an integer ≥ 1 but found 2.5`.
 * @throws {TypeError} For a value of the wrong type where the default is null.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkConfigValues, DEFAULT_CONFIG, mergeConfig } from "./config.ts";
 * checkConfigValues(DEFAULT_CONFIG);
 * assert.throws(
 *   () => checkConfigValues(mergeConfig(DEFAULT_CONFIG, { train: { batchSize: 2.5 } })),
 *   { message: "Expected train.batchSize to be an integer ≥ 1 but found 2.5" },
 * );
 * ```
 */
export function checkConfigValues(config: ExperimentConfig): void {
  const { data: d, degradation: g, ip, vr, seg, train: t, vrPretrain: p } = config;
  integer("seed", config.seed, 0);
  folder("data.root", d.root);
  if (
    !Array.isArray(d.size) || d.size.length !== 2 ||
    !d.size.every((v) => Number.isInteger(v) && v >= 1)
  ) {
    throw new RangeError(
      `Expected data.size to be [height, width], integers ≥ 1, but found ${found(d.size)}`,
    );
  }
  integer("data.splitSeed", d.splitSeed, 0);
  for (const [key, v] of [["data.trainLimit", d.trainLimit], ["data.testLimit", d.testLimit]]) {
    if (v !== null && !(Number.isInteger(v) && (v as number) >= 1)) {
      const E = typeof v === "number" ? RangeError : TypeError;
      throw new E(`Expected ${key} to be an integer ≥ 1 or null but found ${found(v)}`);
    }
  }
  if (d.evalDataset !== null && typeof d.evalDataset !== "string") {
    throw new TypeError(
      `Expected data.evalDataset to be a dataset id or null but found ${found(d.evalDataset)}`,
    );
  }
  folder("data.evalRoot", d.evalRoot);
  oneOf("degradation.kind", g.kind, DEGRADATION_KINDS);
  if (!(g.sigma >= 0 && g.sigma <= 1)) {
    throw new RangeError(`Expected degradation.sigma to be in [0, 1] but found ${found(g.sigma)}`);
  }
  atLeast("degradation.photons", g.photons, 0);
  if (g.kind === "poisson" && !(g.photons > 0)) {
    throw new RangeError(
      `Expected degradation.photons to be a finite number > 0 for poisson but found ${g.photons}`,
    );
  }
  atLeast("degradation.blurSigma", g.blurSigma, 0);
  integer("degradation.factor", g.factor, 1);
  if (g.kind === "bicubic" && g.factor !== 2 && g.factor !== 4) {
    throw new RangeError(
      `Expected degradation.factor to be 2 or 4 for bicubic but found ${g.factor}`,
    );
  }
  integer("ip.channels", ip.channels, 1);
  integer("ip.blocks", ip.blocks, 0);
  oneOf("ip.scale", ip.scale, [1, 2, 4]);
  integer("ip.imageChannels", ip.imageChannels, 1);
  integer("ip.outerKernel", ip.outerKernel, 1);
  for (const key of ["blocks", "widths"] as const) {
    if (!Array.isArray(vr[key]) || vr[key].length === 0) {
      throw new RangeError(`Expected vr.${key} to be a non-empty list but found ${found(vr[key])}`);
    }
    vr[key].forEach((v, i) => integer(`vr.${key}[${i}]`, v, 1));
  }
  if (vr.widths.length !== vr.blocks.length) {
    throw new RangeError(
      `Expected vr.widths to have one width per stage of vr.blocks (${vr.blocks.length}) ` +
        `but found ${found(vr.widths)}`,
    );
  }
  integer("vr.classes", vr.classes, 1);
  integer("vr.imageChannels", vr.imageChannels, 1);
  oneOf("vr.stemStride", vr.stemStride, [1, 2]);
  oneOf("vr.block", vr.block, ["basic", "bottleneck"]);
  oneOf("vr.stem", vr.stem, ["small", "imagenet"]);
  positive("vr.widthMultiplier", vr.widthMultiplier);
  integer("seg.depth", seg.depth, 1);
  integer("seg.baseWidth", seg.baseWidth, 1);
  integer("seg.classes", seg.classes, 1);
  integer("seg.imageChannels", seg.imageChannels, 1);
  oneOf("seg.upsampling", seg.upsampling, ["transpose", "bilinear"]);
  integer("train.steps", t.steps, 1);
  integer("train.batchSize", t.batchSize, 1);
  oneOf("train.optimizer", t.optimizer, ["adam", "sgd"]);
  positive("train.lr", t.lr);
  positive("train.vrLr", t.vrLr);
  atLeast("train.lambda", t.lambda, 0);
  oneOf("train.granularity", t.granularity, ["global", "layer"]);
  oneOf("train.vrInit", t.vrInit, ["pretrained", "scratch"]);
  oneOf("train.auxLoss", t.auxLoss, ["supervised", "unsupervised"]);
  integer("vrPretrain.steps", p.steps, 1);
  integer("vrPretrain.batchSize", p.batchSize, 1);
  positive("vrPretrain.lr", p.lr);
}

/** A found value as an error shows it: numbers as they print (NaN, 2.5), the rest as JSON. */
const found = (v: unknown) => (typeof v === "number" ? String(v) : JSON.stringify(v));

function integer(key: string, v: number, min: number): void {
  if (!(Number.isInteger(v) && v >= min)) {
    throw new RangeError(`Expected ${key} to be an integer ≥ ${min} but found ${found(v)}`);
  }
}

function positive(key: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) {
    throw new RangeError(`Expected ${key} to be a finite number > 0 but found ${found(v)}`);
  }
}

function atLeast(key: string, v: number, min: number): void {
  if (!(Number.isFinite(v) && v >= min)) {
    throw new RangeError(`Expected ${key} to be a finite number ≥ ${min} but found ${found(v)}`);
  }
}

function oneOf<T>(key: string, v: T, allowed: readonly T[]): void {
  if (!allowed.includes(v)) {
    throw new RangeError(
      `Expected ${key} to be one of ${allowed.map(found).join(", ")} but found ${found(v)}`,
    );
  }
}

function folder(key: string, v: unknown): void {
  if (v !== null && (typeof v !== "string" || v === "")) {
    throw new TypeError(
      `Expected ${key} to be a folder path (a non-empty string) or null but found ${found(v)}`,
    );
  }
}

/**
 * The config with its data folders (`data.root`, `data.evalRoot`) made absolute: a relative
 * folder is resolved against `base`. `runExperiment` and `runGrid` resolve against the
 * current working directory, so that no worker process resolves a path against another
 * folder; `readConfigFile` (`worker.ts`) resolves the folders a config file gives against the
 * file's own folder.
 *
 * @param config A config (its folders checked by {@link checkConfigValues} or not yet: values
 *   that are not non-empty strings are left as they are).
 * @param base The folder relative paths are relative to (default: the working directory).
 * @returns A new config, or `config` itself when nothing changes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG, mergeConfig, resolveDataPaths } from "./config.ts";
 * const c = mergeConfig(DEFAULT_CONFIG, { data: { root: "data/ISIC2018" } });
 * assert.equal(resolveDataPaths(c, "/home/me").data.root, "/home/me/data/ISIC2018");
 * assert.equal(resolveDataPaths(DEFAULT_CONFIG, "/home/me"), DEFAULT_CONFIG);
 * ```
 */
export function resolveDataPaths(
  config: ExperimentConfig,
  base: string = Deno.cwd(),
): ExperimentConfig {
  const abs = (p: string | null) => (typeof p === "string" && p !== "" ? resolve(base, p) : p);
  const root = abs(config.data.root), evalRoot = abs(config.data.evalRoot);
  if (root === config.data.root && evalRoot === config.data.evalRoot) return config;
  return { ...config, data: { ...config.data, root, evalRoot } };
}
