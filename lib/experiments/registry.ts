/**
 * The paper's experiments by id, each with a `quick` profile (embedded data,
 * minutes on 2 CPU cores) and a `paper` profile (real data, paper sizes).
 *
 * @module
 */
import {
  type ConfigOverrides,
  type Dataset,
  DEFAULT_CONFIG,
  type ExperimentConfig,
  mergeConfig,
  type Method,
  type Task,
} from "./config.ts";
import { datasetFor, DATASETS, getDataset } from "../data/registry.ts";

/** A run profile. */
export type Profile = "smoke" | "quick" | "paper";

/** Every profile, for argument checking. */
export const PROFILES: Profile[] = ["smoke", "quick", "paper"];

/**
 * Training seeds of each profile when none is asked for (`--seeds`, `GRADPROM_SEEDS`, a grid's
 * `seeds`): three where the numbers are meant to be read, so that every verdict carries its
 * error bar (mean ± std over the seeds); one for the smoke profile, whose numbers mean nothing.
 */
export const DEFAULT_SEEDS: Record<Profile, number> = { smoke: 1, quick: 3, paper: 3 };

/** A paper value to show beside ours. */
export interface PaperValue {
  method: Method;
  sigma: number;
  /** The row group it belongs to, when the spec groups by something else than σ. */
  group?: string;
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
  /** The runs of the grid for a profile and a number of seeds (default {@link DEFAULT_SEEDS}). */
  grid(
    profile: Profile,
    options?: { seeds?: number; dataRoot?: string | null },
  ): ExperimentConfig[];
  paper: PaperValue[];
  claims: PaperClaim[];
  /** The label of a run's row group (default `σ = <sigma>`), e.g. `λ = 0.1` for a sweep. */
  groupOf?: (config: ExperimentConfig) => string;
  /** Row order of the methods (default: `methodIds()`: the built-ins, then those registered). */
  methodOrder?: readonly Method[];
  /** Leave out the Benchmark-ii rows (e.g. where VR's pre-training is the same in every group). */
  hideBenchmarkIi?: boolean;
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
  /** Compare within this row group instead of by σ (for specs with `groupOf`). */
  group?: string;
  /** The row group of `worse`, when it differs from `group` (comparisons across groups). */
  worseGroup?: string;
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
    // Every ISIC grid starts from the same base, so that equal runs share the cache.
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    return withSeeds(
      TABLE1_SIGMAS[profile].map((sigma) =>
        TABLE1_METHODS.map((method) => ({ method, degradation: { sigma } }))
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
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
      mergeConfig(c, { data: { task: "segmentation" } })
    );
  },
};

/**
 * The overrides that fit the networks to a dataset and task: image channels
 * and class counts (the engine checks them and names these keys when they
 * are wrong).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetOverrides } from "./registry.ts";
 * assert.deepEqual(datasetOverrides("covid_ct", "diagnosis").vr, { imageChannels: 1, classes: 2 });
 * ```
 */
export function datasetOverrides(
  dataset: Dataset,
  task: Task,
  root?: string | null,
): {
  data: { dataset: Dataset; task: Task };
  ip: { imageChannels: number };
  vr: { imageChannels: number; classes: number };
  seg: { imageChannels: number; classes: number };
} {
  // A dataset read from its folder (`folder`): that folder's, once `resolveDataset` read it.
  const { channels, tasks } = datasetFor(dataset, root);
  return {
    data: { dataset, task },
    ip: { imageChannels: channels },
    vr: { imageChannels: channels, classes: tasks.diagnosis?.classes.length ?? 0 },
    // A dataset without masks keeps a valid (unused) U-Net head.
    seg: { imageChannels: channels, classes: Math.max(2, tasks.segmentation?.classes.length ?? 0) },
  };
}

/** Overrides `a` then `b` (plain deep merge; the result is checked when merged into a config). */
function both(
  a: ConfigOverrides<ExperimentConfig>,
  b: ConfigOverrides<ExperimentConfig>,
): ConfigOverrides<ExperimentConfig> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === "object" && !Array.isArray(prev) && v && typeof v === "object" &&
        !Array.isArray(v)
        ? { ...prev, ...v }
        : v;
  }
  return out as ConfigOverrides<ExperimentConfig>;
}

/** The base config of a profile (with the U-Net sizes of the profile). */
function profileBase(profile: Profile, dataRoot: string | null, what: string): ExperimentConfig {
  if (!PROFILES.includes(profile)) {
    throw new RangeError(`Expected profile ${PROFILES.join(", ")} but found "${profile}"`);
  }
  if (profile === "paper" && !dataRoot) {
    throw new TypeError(
      `The paper profile needs the real ${what} folder (--data <dir> or GRADPROM_DATA)`,
    );
  }
  return mergeConfig(
    mergeConfig(mergeConfig(DEFAULT_CONFIG, PROFILE_OVERRIDES[profile]), SEG_OVERRIDES[profile]),
    { data: { root: dataRoot } },
  );
}

/** `seeds` copies of each config, seed-major within each group (as Table 1 lists them). */
function withSeeds(
  groups: ConfigOverrides<ExperimentConfig>[][],
  base: ExperimentConfig,
  seeds: number,
): ExperimentConfig[] {
  const out: ExperimentConfig[] = [];
  for (const group of groups) {
    for (let seed = 0; seed < seeds; seed++) {
      for (const o of group) out.push(mergeConfig(mergeConfig(base, o), { seed }));
    }
  }
  return out;
}

/** Methods of the smaller grids (the paper's comparison without the weighted form). */
const CORE_METHODS: Method[] = ["benchmark-i", "joint", "frozen", "gradprom"];

const datasetsSpec: ExperimentSpec = {
  id: "datasets-denoise",
  title: "Other datasets: COVID-CT, Lizard and CAMUS denoising",
  description: "Benchmark-i, Joint, Frozen-params, GradProm at σ = 0.1 on COVID-CT (diagnosis), " +
    "Lizard and CAMUS (segmentation)",
  paper: [],
  claims: [DATASETS.covid_ct, DATASETS.lizard, DATASETS.camus].flatMap(({ name }) => [
    {
      text: `GradProm beats Frozen-params in PSNR on ${name}`,
      better: "gradprom" as Method,
      worse: "frozen" as Method,
      metric: "psnr" as const,
      sigma: 0.1,
      group: name,
    },
    {
      text: `GradProm beats Joint training in PSNR on ${name}`,
      better: "gradprom" as Method,
      worse: "joint" as Method,
      metric: "psnr" as const,
      sigma: 0.1,
      group: name,
    },
  ]),
  groupOf: (c) => getDataset(c.data.dataset).name,
  grid(profile, options = {}) {
    // One data folder cannot hold three datasets: the paper profile takes
    // GRADPROM_DATA_<DATASET> (e.g. GRADPROM_DATA_COVID_CT) for each.
    const base = profileBase(profile, options.dataRoot ?? null, "COVID-CT/Lizard/CAMUS");
    const tasks: [Dataset, Task][] = [
      [DATASETS.covid_ct.id, "diagnosis"],
      [DATASETS.lizard.id, "segmentation"],
      [DATASETS.camus.id, "segmentation"],
    ];
    return withSeeds(
      tasks.map(([d, t]) =>
        CORE_METHODS.map((method) =>
          both(datasetOverrides(d, t) as ConfigOverrides<ExperimentConfig>, {
            method,
            data: { root: datasetRoot(d, options.dataRoot ?? null, profile) },
          })
        )
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** The folder of a dataset for a grid: `GRADPROM_DATA_<ID>` when set, else the embedded copy (quick) or `dataRoot`. */
function datasetRoot(d: Dataset, dataRoot: string | null, profile: Profile): string | null {
  const env = Deno.env.get(`GRADPROM_DATA_${d.toUpperCase()}`);
  if (env) return env;
  return profile === "paper" ? dataRoot : null;
}

const srSpec: ExperimentSpec = {
  id: "sr-isic",
  title: "Super-resolution ×2 and ×4 on ISIC 2018, diagnosis as the auxiliary task",
  description: "Benchmark-i, Joint, Frozen-params, GradProm with bicubic ×2 / ×4 downsampling",
  paper: [],
  claims: [2, 4].flatMap((f) => [
    {
      text: `GradProm beats Frozen-params in PSNR at ×${f}`,
      better: "gradprom" as Method,
      worse: "frozen" as Method,
      metric: "psnr" as const,
      sigma: 0,
      group: `SR ×${f}`,
    },
    {
      text: `GradProm beats Joint training in PSNR at ×${f}`,
      better: "gradprom" as Method,
      worse: "joint" as Method,
      metric: "psnr" as const,
      sigma: 0,
      group: `SR ×${f}`,
    },
  ]),
  groupOf: (c) => `SR ×${c.degradation.factor}`,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    return withSeeds(
      ([2, 4] as const).map((factor) =>
        CORE_METHODS.map((method) => ({
          method,
          degradation: { kind: "bicubic" as const, sigma: 0, factor },
          ip: { scale: factor },
        }))
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** Table 5's methods: the paper's and the gradient-surgery baselines standing in for its peers. */
export const TABLE5_METHODS: Method[] = [
  "frozen",
  "joint",
  "pcgrad",
  "gradvac",
  "cagrad",
  "mgda",
  "gradsim",
  "gradprom-weighted",
  "gradprom",
];

const table5: ExperimentSpec = {
  id: "table5-methods",
  title: "Table 5: GradProm against ESTR and other ways of combining the two gradients",
  description: "Frozen-params (ESTR), Joint, PCGrad, GradVac, CAGrad, MGDA, Du et al., GradProm; " +
    "ISIC 2018 denoising, diagnosis auxiliary",
  paper: [
    { method: "frozen", sigma: 0.1, psnr: 33.723, source: "Table 5, ESTR (ResNet-101)" },
    { method: "gradprom", sigma: 0.1, psnr: 36.173, source: "Table 5, GradProm (ResNet-101)" },
    { method: "frozen", sigma: 0.2, psnr: 25.925, source: "Table 5, ESTR (ResNet-101)" },
    { method: "gradprom", sigma: 0.2, psnr: 28.024, source: "Table 5, GradProm (ResNet-101)" },
    { method: "frozen", sigma: 0.3, psnr: 20.163, source: "Table 5, ESTR (ResNet-101)" },
    { method: "gradprom", sigma: 0.3, psnr: 23.703, source: "Table 5, GradProm (ResNet-101)" },
  ],
  claims: [
    {
      text: "GradProm beats ESTR (Frozen-params) in PSNR at σ = 0.1 (paper: +2.450 dB)",
      better: "gradprom",
      worse: "frozen",
      metric: "psnr",
      sigma: 0.1,
      paperDelta: 2.45,
    },
    // Du et al.'s unweighted rule is GradProm's gate itself (same numbers: a check, not a claim).
    ...(["pcgrad", "gradvac", "cagrad", "mgda"] as Method[]).map((m) => ({
      text: `GradProm beats ${m} in PSNR at σ = 0.1 (not in the paper)`,
      better: "gradprom" as Method,
      worse: m,
      metric: "psnr" as const,
      sigma: 0.1,
    })),
  ],
  methodOrder: TABLE5_METHODS,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    // The quick profile checks σ = 0.1 only (Table 1 has the rest).
    const sigmas = profile === "paper" ? [0.1, 0.2, 0.3] : [0.1];
    return withSeeds(
      sigmas.map((sigma) => TABLE5_METHODS.map((method) => ({ method, degradation: { sigma } }))),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

const unsupervisedSpec: ExperimentSpec = {
  id: "ablation-unsupervised",
  title: "Ablation: supervised and unsupervised auxiliary losses",
  description: "Joint, Frozen-params, GradProm with L_VR from labels (supervised) or from VR's " +
    "output on the clean image (unsupervised); ISIC 2018, σ = 0.1",
  paper: [],
  claims: (["supervised", "unsupervised"] as const).flatMap((a) => [
    {
      text: `GradProm beats Joint training in PSNR (${a})`,
      better: "gradprom" as Method,
      worse: "joint" as Method,
      metric: "psnr" as const,
      sigma: 0.1,
      group: a,
    },
    {
      text: `GradProm beats Frozen-params in PSNR (${a})`,
      better: "gradprom" as Method,
      worse: "frozen" as Method,
      metric: "psnr" as const,
      sigma: 0.1,
      group: a,
    },
  ]),
  groupOf: (c) => c.train.auxLoss,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    return withSeeds(
      (["supervised", "unsupervised"] as const).map((auxLoss) =>
        (["joint", "frozen", "gradprom"] as Method[]).map((method) => ({
          method,
          train: { auxLoss },
        }))
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

const MULTI_LABELS: Record<Task, string> = {
  "diagnosis": "diagnosis only",
  "segmentation": "segmentation only",
  "diagnosis+segmentation": "diagnosis + segmentation",
};

const multitaskSpec: ExperimentSpec = {
  id: "ablation-multitask",
  title: "Ablation: diagnosis and segmentation together as auxiliary tasks (Lizard)",
  description: "Joint and GradProm with one auxiliary (diagnosis or segmentation) or both, " +
    "each with its own gate; Lizard, σ = 0.1",
  paper: [],
  claims: ["diagnosis only", "segmentation only"].flatMap((one) =>
    (["psnr", "accuracy", "miou"] as const).filter((m) =>
      !(m === "accuracy" && one === "segmentation only") &&
      !(m === "miou" && one === "diagnosis only")
    ).map((metric) => ({
      text: `GradProm with ${one.replace(" only", "")} alone beats GradProm with both ` +
        `auxiliaries in ${metric === "miou" ? "mIoU" : metric === "psnr" ? "PSNR" : "accuracy"} ` +
        `(paper: both together is worse than either alone)`,
      better: "gradprom" as Method,
      worse: "gradprom" as Method,
      metric,
      sigma: 0.1,
      group: one,
      worseGroup: "diagnosis + segmentation",
    }))
  ),
  groupOf: (c) => MULTI_LABELS[c.data.task],
  hideBenchmarkIi: true,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "Lizard");
    const lizard = DATASETS.lizard.id;
    const root = datasetRoot(lizard, options.dataRoot ?? null, profile);
    return withSeeds(
      (["diagnosis", "segmentation", "diagnosis+segmentation"] as Task[]).map((task) =>
        (["benchmark-i", "joint", "gradprom"] as Method[]).map((method) =>
          both(datasetOverrides(lizard, task) as ConfigOverrides<ExperimentConfig>, {
            method,
            data: { root },
          })
        )
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** The composite degradation of the ablation: blur σ 1 px, 200 photons, Gaussian σ 0.05. */
export const COMPOSITE_DEGRADATION = {
  kind: "composite",
  sigma: 0.05,
  photons: 200,
  blurSigma: 1,
  factor: 1,
} as const;

const compositeSpec: ExperimentSpec = {
  id: "ablation-composite",
  title: "Ablation: composite degradation (blur + Poisson + Gaussian noise)",
  description: "Benchmark-i, Joint, Frozen-params, GradProm on ISIC 2018 with blur σ 1 px, " +
    "200 photons and σ = 0.05",
  paper: [],
  claims: [
    {
      text: "GradProm beats Frozen-params in PSNR under composite noise (paper: +0.384 dB)",
      better: "gradprom",
      worse: "frozen",
      metric: "psnr",
      sigma: COMPOSITE_DEGRADATION.sigma,
      paperDelta: 0.384,
    },
  ],
  groupOf: () => "composite",
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    return withSeeds(
      [CORE_METHODS.map((method) => ({ method, degradation: { ...COMPOSITE_DEGRADATION } }))],
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** The paper's cross-domain values (GradProm trained on ISIC 2018, tested on Lizard). */
export const CROSS_DOMAIN_PAPER: {
  auxLoss: "supervised" | "unsupervised";
  psnr: number;
  ssim: number;
}[] = [
  { auxLoss: "supervised", psnr: 13.825, ssim: 0.458 },
  { auxLoss: "unsupervised", psnr: 13.273, ssim: 0.325 },
];

const crossDomainSpec: ExperimentSpec = {
  id: "ablation-cross-domain",
  title: "Ablation: cross-domain, trained on ISIC 2018, tested on Lizard",
  description: "IP trained on ISIC 2018 (σ = 0.1, diagnosis auxiliary, supervised and " +
    "unsupervised) and evaluated on Lizard's test tiles",
  // The paper's values are on Lizard (CROSS_DOMAIN_PAPER), not beside our ISIC PSNR.
  paper: [],
  claims: [],
  groupOf: (c) => c.train.auxLoss,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    const evalDataset = DATASETS.lizard.id;
    const evalRoot = datasetRoot(evalDataset, null, "quick");
    if (profile === "paper" && !evalRoot) {
      throw new TypeError("The paper profile's cross-domain test needs GRADPROM_DATA_LIZARD");
    }
    return withSeeds(
      (["supervised", "unsupervised"] as const).map((auxLoss) =>
        CORE_METHODS.filter((m) => auxLoss === "supervised" || m !== "benchmark-i").map((
          method,
        ) => ({ method, train: { auxLoss }, data: { evalDataset, evalRoot } }))
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** λ values of the sweep (decade-spaced; the quick profile's default is 0.01). */
export const LAMBDA_SWEEP: Record<Profile, number[]> = {
  smoke: [0.01, 0.1],
  quick: [0.001, 0.01, 0.1, 1],
  paper: [1e-4, 1e-3, 1e-2, 1e-1, 1],
};

const lambdaSpec: ExperimentSpec = {
  id: "lambda-sweep",
  title: "Sensitivity to λ (not in the paper)",
  description: "Joint, Frozen-params, GradProm (gate and weighted) over decade-spaced λ; " +
    "Benchmark-i as the reference; ISIC 2018, σ = 0.1",
  paper: [],
  claims: [],
  groupOf: (c) => `λ = ${c.train.lambda}`,
  hideBenchmarkIi: true,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    const lambdas = LAMBDA_SWEEP[profile];
    const ref = base.train.lambda;
    return withSeeds(
      lambdas.map((lambda) =>
        (lambda === ref ? TABLE1_METHODS : TABLE1_METHODS.filter((m) => m !== "benchmark-i"))
          .map((method) => ({ method, train: { lambda } }))
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** Plain SGD's learning rate in the optimizer comparison (Adam keeps the profile's). */
export const SGD_LR: Record<Profile, number> = { smoke: 0.05, quick: 0.05, paper: 0.01 };

const optimizerSpec: ExperimentSpec = {
  id: "optimizer-sgd-vs-adam",
  title: "Plain SGD against Adam: does the gate still protect IP? (not in the paper)",
  description: "Benchmark-i, Joint, GradProm trained with Adam and with plain SGD; ISIC 2018, " +
    "σ = 0.1",
  paper: [],
  claims: (["adam", "sgd"] as const).map((o) => ({
    text: `GradProm beats Joint training in PSNR with ${o === "sgd" ? "plain SGD" : "Adam"}`,
    better: "gradprom" as Method,
    worse: "joint" as Method,
    metric: "psnr" as const,
    sigma: 0.1,
    group: o === "sgd" ? "SGD" : "Adam",
  })),
  groupOf: (c) => (c.train.optimizer === "sgd" ? "SGD" : "Adam"),
  hideBenchmarkIi: true,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    return withSeeds(
      (["adam", "sgd"] as const).map((optimizer) =>
        (["benchmark-i", "joint", "gradprom"] as Method[]).map((method) => ({
          method,
          train: optimizer === "sgd"
            ? { optimizer, lr: SGD_LR[profile], vrLr: SGD_LR[profile] }
            : { optimizer },
        }))
      ),
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

const dynamicsSpec: ExperimentSpec = {
  id: "gradient-dynamics",
  title: "Gradient dynamics: the cosine, the gate, and a gate per layer (not in the paper)",
  description: "Joint and GradProm (one gate over all of θ, and one gate per variable) on ISIC " +
    "2018, σ = 0.1, with per-layer cosines logged",
  paper: [],
  claims: [
    {
      text: "A gate per layer beats one global gate in PSNR (not in the paper)",
      better: "gradprom",
      worse: "gradprom",
      metric: "psnr",
      sigma: 0.1,
      group: "per-layer gate",
      worseGroup: "global gate",
    },
  ],
  groupOf: (c) => (c.train.granularity === "layer" ? "per-layer gate" : "global gate"),
  hideBenchmarkIi: true,
  grid(profile, options = {}) {
    const base = profileBase(profile, options.dataRoot ?? null, "ISIC 2018");
    return withSeeds(
      [
        (["joint", "gradprom"] as Method[]).map((method) => ({ method })),
        [{ method: "gradprom" as Method, train: { granularity: "layer" as const } }],
      ],
      base,
      options.seeds ?? DEFAULT_SEEDS[profile],
    );
  },
};

/** Every experiment by id. */
export const EXPERIMENTS: Record<string, ExperimentSpec> = Object.fromEntries(
  [
    table1,
    table2,
    datasetsSpec,
    srSpec,
    table5,
    unsupervisedSpec,
    multitaskSpec,
    compositeSpec,
    crossDomainSpec,
    lambdaSpec,
    optimizerSpec,
    dynamicsSpec,
  ].map((s) => [s.id, s]),
);

/**
 * An experiment by id, or a clear error listing the known ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getExperiment } from "./registry.ts";
 * assert.equal(getExperiment("table1-isic-denoise").grid("quick").length, 30); // 3 seeds
 * assert.equal(getExperiment("table1-isic-denoise").grid("quick", { seeds: 1 }).length, 10);
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
