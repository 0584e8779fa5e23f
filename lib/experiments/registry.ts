/**
 * The paper's experiments by id, each with a `quick` profile (embedded data,
 * minutes on 2 CPU cores) and a `paper` profile (real data, paper sizes).
 *
 * @module
 */
import {
  type ConfigOverrides,
  DEFAULT_CONFIG,
  type ExperimentConfig,
  mergeConfig,
  type Method,
} from "./config.ts";

/** A run profile. */
export type Profile = "smoke" | "quick" | "paper";

/** Every profile, for argument checking. */
export const PROFILES: Profile[] = ["smoke", "quick", "paper"];

/** A paper value to show beside ours. */
export interface PaperValue {
  method: Method;
  sigma: number;
  psnr?: number;
  ssim?: number;
  accuracy?: number;
  source: string;
}

/** One experiment of the paper: a grid of runs. */
export interface ExperimentSpec {
  id: string;
  title: string;
  description: string;
  /** The runs of the grid for a profile and a number of seeds. */
  grid(
    profile: Profile,
    options?: { seeds?: number; dataRoot?: string | null },
  ): ExperimentConfig[];
  paper: PaperValue[];
  claims: PaperClaim[];
}

/**
 * Quick profile: a CPU-sized version of the paper's setting on the embedded
 * synthetic ISIC 2018 (32×32 images, a 16-channel 2-block SR-ResNet, a
 * 3-stage ResNet-8 of widths 8/16/32). λ is larger than ESTR's 1e-3 because
 * at this size the recognition loss must be able to move the enhancement
 * network within a few hundred steps; the λ notebook explores it.
 */
export const QUICK_OVERRIDES: ConfigOverrides<ExperimentConfig> = {
  data: { size: [32, 32] },
  ip: { channels: 16, blocks: 2, outerKernel: 5, batchNorm: true, globalResidual: true },
  vr: { blocks: [1, 1, 1], widths: [8, 16, 32] },
  train: { steps: 300, batchSize: 8, lr: 1e-3, vrLr: 1e-3, lambda: 0.01 },
  vrPretrain: { steps: 400, batchSize: 16, lr: 1e-3 },
};

/**
 * Smoke profile: a few steps on 16×16 images, to test the whole pipeline
 * (tests and CI) in seconds. Its numbers mean nothing.
 */
export const SMOKE_OVERRIDES: ConfigOverrides<ExperimentConfig> = {
  data: { size: [16, 16], trainLimit: 48, testLimit: 16 },
  ip: { channels: 4, blocks: 1, outerKernel: 3, batchNorm: true, globalResidual: true },
  vr: { blocks: [1, 1], widths: [4, 8] },
  train: { steps: 3, batchSize: 4, lr: 1e-3, vrLr: 1e-3, lambda: 0.01 },
  vrPretrain: { steps: 3, batchSize: 8, lr: 1e-3 },
};

/**
 * Paper profile: paper sizes where known (SR-ResNet 64×5 as in ESTR, Adam
 * 1e-4, λ 1e-3) on the real dataset given by `dataRoot`.
 */
export const PAPER_OVERRIDES: ConfigOverrides<ExperimentConfig> = {
  data: { size: [128, 128] },
  ip: { channels: 64, blocks: 5 },
  // ResNet-18 as torchvision builds it (7×7/2 stem and max pool); the paper also uses ResNet-101.
  vr: { blocks: [2, 2, 2, 2], widths: [64, 128, 256, 512], stem: "imagenet", stemStride: 2 },
  train: { steps: 20000, batchSize: 16, lr: 1e-4, vrLr: 1e-4, lambda: 1e-3 },
  vrPretrain: { steps: 10000, batchSize: 32, lr: 1e-3 },
};

/** Methods of Table 1, in the paper's row order. */
export const TABLE1_METHODS: Method[] = [
  "benchmark-i",
  "joint",
  "frozen",
  "gradprom",
  "gradprom-weighted",
];

/** Noise levels of each profile. */
export const TABLE1_SIGMAS: Record<Profile, number[]> = {
  smoke: [0.1],
  quick: [0.1, 0.2],
  paper: [0.1, 0.2, 0.3],
};

/** The overrides of each profile. */
export const PROFILE_OVERRIDES: Record<Profile, ConfigOverrides<ExperimentConfig>> = {
  smoke: SMOKE_OVERRIDES,
  quick: QUICK_OVERRIDES,
  paper: PAPER_OVERRIDES,
};

/** A claim of the paper that a table checks on our numbers. */
export interface PaperClaim {
  text: string;
  /** Holds when mean(metric of `better`) − mean(metric of `worse`) > 0 at `sigma`. */
  better: Method;
  worse: Method;
  metric: "psnr" | "ssim" | "accuracy" | "miou";
  sigma: number;
  /** The paper's difference, when it gives one. */
  paperDelta?: number;
}

const table1: ExperimentSpec = {
  id: "table1-isic-denoise",
  title: "Table 1: ISIC 2018 denoising with diagnosis as the auxiliary task",
  description: "Benchmark-i, Joint, Frozen-params and GradProm (gate and weighted) at several σ",
  paper: [
    { method: "frozen", sigma: 0.1, psnr: 32.152, ssim: 0.906, source: "Table 1/2, σ = 0.1" },
    { method: "gradprom", sigma: 0.1, psnr: 33.383, ssim: 0.915, source: "Table 1/2, σ = 0.1" },
  ],
  claims: [
    {
      text: "GradProm beats Frozen-params in PSNR at σ = 0.1 (paper: +1.231 dB)",
      better: "gradprom",
      worse: "frozen",
      metric: "psnr",
      sigma: 0.1,
      paperDelta: 1.231,
    },
    {
      text: "GradProm beats Frozen-params in SSIM at σ = 0.1 (paper: +0.009)",
      better: "gradprom",
      worse: "frozen",
      metric: "ssim",
      sigma: 0.1,
      paperDelta: 0.009,
    },
    {
      text: "GradProm beats Joint training in PSNR at σ = 0.1 (paper's ablation)",
      better: "gradprom",
      worse: "joint",
      metric: "psnr",
      sigma: 0.1,
    },
  ],
  grid(profile, options = {}) {
    const seeds = options.seeds ?? 1;
    if (!PROFILES.includes(profile)) {
      throw new RangeError(`Expected profile ${PROFILES.join(", ")} but found "${profile}"`);
    }
    const base = mergeConfig(DEFAULT_CONFIG, PROFILE_OVERRIDES[profile]);
    if (profile === "paper" && !options.dataRoot) {
      throw new TypeError(
        "The paper profile needs the real ISIC 2018 folder (--data <dir> or GRADPROM_DATA)",
      );
    }
    const root = options.dataRoot ?? null;
    const out: ExperimentConfig[] = [];
    for (const sigma of TABLE1_SIGMAS[profile]) {
      for (let seed = 0; seed < seeds; seed++) {
        for (const method of TABLE1_METHODS) {
          out.push(mergeConfig(base, { method, seed, degradation: { sigma }, data: { root } }));
        }
      }
    }
    return out;
  },
};

/** U-Net sizes of the segmentation variant, per profile. */
const SEG_OVERRIDES: Record<Profile, ConfigOverrides<ExperimentConfig>> = {
  smoke: { seg: { depth: 2, baseWidth: 4 } },
  quick: { seg: { depth: 3, baseWidth: 8 } },
  paper: { seg: { depth: 4, baseWidth: 64 } },
};

const table2: ExperimentSpec = {
  id: "table2-isic-seg-denoise",
  title: "Table 2: ISIC 2018 denoising with lesion segmentation as the auxiliary task",
  description: "the Table 1 methods with a U-Net (Task 1 masks, CE + Dice) as VR; mIoU",
  paper: [],
  claims: [
    {
      text: "GradProm beats Frozen-params in PSNR at σ = 0.1 (segmentation auxiliary)",
      better: "gradprom",
      worse: "frozen",
      metric: "psnr",
      sigma: 0.1,
    },
    {
      text: "GradProm beats Joint training in PSNR at σ = 0.1 (segmentation auxiliary)",
      better: "gradprom",
      worse: "joint",
      metric: "psnr",
      sigma: 0.1,
    },
  ],
  grid(profile, options = {}) {
    return table1.grid(profile, options).map((c) =>
      mergeConfig(mergeConfig(c, SEG_OVERRIDES[profile]), { data: { task: "segmentation" } })
    );
  },
};

/** Every experiment by id. */
export const EXPERIMENTS: Record<string, ExperimentSpec> = {
  [table1.id]: table1,
  [table2.id]: table2,
};

/**
 * An experiment by id, or a clear error listing the known ids.
 *
 * @example
 * ```ts
 * import { getExperiment } from "./registry.ts";
 * console.log(getExperiment("table1-isic-denoise").grid("quick").length); // 10
 * ```
 */
export function getExperiment(id: string): ExperimentSpec {
  const spec = EXPERIMENTS[id];
  if (!spec) {
    throw new RangeError(
      `Unknown experiment '${id}'; known: ${Object.keys(EXPERIMENTS).join(", ")}`,
    );
  }
  return spec;
}
