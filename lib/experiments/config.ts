/**
 * Typed experiment configs: defaults, overrides that must keep the default's
 * type, and unknown keys as errors (nanoGPT's rule). The whole config is
 * saved next to every result and is what the results cache is keyed by.
 *
 * @module
 */
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
