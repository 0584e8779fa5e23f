/**
 * Every paper figure that `deno task figures` exports, by id. A figure is
 * built from the results cache (see {@link experimentResults}) or computed
 * directly (the toy problem of Fig. 1); to add one, add an entry to
 * {@link FIGURES}.
 *
 * @module
 */
import { setupBackend } from "../backend/setup_backend.ts";
import type { PlotlyFigure } from "../plots/plotly.ts";
import {
  dynamicsFigure,
  layerCosineFigure,
  metricBarFigure,
  sweepFigure,
} from "../plots/table_figures.ts";
import { NOTEBOOKS } from "../experiments/notebook_index.ts";
import { EXPERIMENTS } from "../experiments/registry.ts";
import { toyContourFigure, toyGateFigure, toyLossFigure } from "../plots/toy_figures.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { ipOnly } from "../strategies/ip_only.ts";
import { joint } from "../strategies/joint.ts";
import { simulate, type ToyTrajectory } from "../toy/simulate.ts";
import { twoParamProblem, type Vec2 } from "../toy/two_param_problem.ts";
import { experimentResults, type FigureContext } from "./experiment_results.ts";
import { taskAttentionFigures } from "../plots/task_attention_figures.ts";
import { qualitativeFigures } from "../plots/qualitative_figures.ts";
import type { ExportSize } from "./figure_exporter.ts";

export type { FigureContext };

/** What a figure's `build` returns: one figure, or named panels (files `<id>-<panel>.*`). */
export type FigureOutput = PlotlyFigure | Record<string, PlotlyFigure>;

/** One paper figure. */
export interface FigureSpec {
  /** File-name-safe id (`[a-z0-9-]+`): the files are `<id>.png`/`.svg`, or `<id>-<panel>.*`. */
  id: string;
  /** What it shows, with the paper item it reproduces. */
  title: string;
  /** Ids of the experiments it reads (empty when it computes its own content). */
  experiments: string[];
  /**
   * Exported only with `--all` or `--only` (its experiments take long: the
   * same notebooks `deno task reproduce` keeps out of its default run).
   */
  extra?: boolean;
  /** Export size (default: the figure's layout size, else 900 × 600 at scale 2). */
  size?: ExportSize;
  /** Builds the figure (or its panels). */
  build(ctx: FigureContext): Promise<FigureOutput>;
}

/** Is `out` one figure (as opposed to named panels)? */
export function isSingleFigure(out: FigureOutput): out is PlotlyFigure {
  return Array.isArray((out as PlotlyFigure).data) &&
    typeof (out as PlotlyFigure).layout === "object";
}

/** The Fig. 1 toy runs exactly as `notebooks/fig1_gradient_promotion.ipynb` sets them. */
const _FIG1 = { lambda: 1, lr: 0.02, lrAdam: 0.05, start: [-4, -3] as Vec2 };

const fig1: FigureSpec = {
  id: "fig1-toy",
  title:
    "Fig. 1: IP only, Joint and GradProm on the two-parameter toy problem (plain gradient descent and Adam)",
  experiments: [],
  async build(ctx) {
    await setupBackend({ quiet: true });
    const problem = twoParamProblem();
    const steps = ctx.profile === "smoke" ? 80 : 300;
    const runAll = (optimizer: "sgd" | "adam", lr: number): Record<string, ToyTrajectory> => {
      const methods = {
        "IP only": ipOnly,
        "Joint": joint,
        "GradProm (gate)": gradProm(),
        "GradProm (weighted)": gradProm({ mode: "weighted" }),
      };
      const opts = { steps, lr, start: _FIG1.start, lambda: _FIG1.lambda, optimizer, problem };
      return Object.fromEntries(
        Object.entries(methods).map(([name, s]) => [name, simulate(s, opts)]),
      );
    };
    const sgd = runAll("sgd", _FIG1.lr);
    const adam = runAll("adam", _FIG1.lrAdam);
    return {
      "sgd-trajectories": toyContourFigure(problem, sgd, {
        title: "Plain gradient descent: trajectories",
      }),
      "sgd-gate": toyGateFigure(sgd),
      "sgd-loss": toyLossFigure(sgd, { title: "Plain gradient descent: L_IP per step" }),
      "adam-trajectories": toyContourFigure(problem, adam, {
        title: `Adam (lr ${_FIG1.lrAdam}): trajectories`,
      }),
      "adam-loss": toyLossFigure(adam, { title: `Adam (lr ${_FIG1.lrAdam}): L_IP per step` }),
    };
  },
};

const table1: FigureSpec = {
  id: "table1-isic-denoise",
  title: "Table 1: PSNR, SSIM and diagnosis accuracy by method and σ (ISIC 2018 denoising)",
  experiments: ["table1-isic-denoise"],
  async build(ctx) {
    const { rows } = await experimentResults(ctx, "table1-isic-denoise");
    return {
      psnr: metricBarFigure(rows, "psnr"),
      ssim: metricBarFigure(rows, "ssim"),
      accuracy: metricBarFigure(rows, "accuracy"),
    };
  },
};

const table2: FigureSpec = {
  id: "table2-isic-seg-denoise",
  title: "Table 2: PSNR, SSIM and segmentation mIoU by method and σ (ISIC 2018 denoising)",
  experiments: ["table2-isic-seg-denoise"],
  async build(ctx) {
    const { rows } = await experimentResults(ctx, "table2-isic-seg-denoise");
    return {
      psnr: metricBarFigure(rows, "psnr"),
      ssim: metricBarFigure(rows, "ssim"),
      miou: metricBarFigure(rows, "miou"),
    };
  },
};

const dynamics: FigureSpec = {
  id: "dynamics-isic-denoise",
  title:
    "Beyond the paper: cos(G_IP, G_VR) and GradProm's gate over training (Table 1, lowest σ, seed 0)",
  experiments: ["table1-isic-denoise"],
  async build(ctx) {
    const { results } = await experimentResults(ctx, "table1-isic-denoise");
    const sigma0 = Math.min(...results.map((r) => r.config.degradation.sigma));
    return dynamicsFigure(
      results.filter((r) =>
        r.config.degradation.sigma === sigma0 && r.config.seed === 0 &&
        ["joint", "gradprom"].includes(r.config.method)
      ),
    );
  },
};

/** Is every notebook that shows `experiment` kept out of `reproduce`'s default run? */
const extraExperiment = (experiment: string) => {
  const nbs = NOTEBOOKS.filter((n) => n.experiments.includes(experiment));
  return nbs.length > 0 && nbs.every((n) => n.extra);
};

/** Bar panels of an experiment's table: PSNR, SSIM and its recognition scores. */
function tableFigure(id: string): FigureSpec {
  return {
    id,
    title: `${EXPERIMENTS[id].title}: PSNR, SSIM and recognition scores by method and setting`,
    experiments: [id],
    extra: extraExperiment(id),
    async build(ctx) {
      const { rows } = await experimentResults(ctx, id);
      const out: Record<string, PlotlyFigure> = {
        psnr: metricBarFigure(rows, "psnr"),
        ssim: metricBarFigure(rows, "ssim"),
      };
      if (rows.some((r) => r.task !== "segmentation")) {
        out.accuracy = metricBarFigure(rows.filter((r) => r.task !== "segmentation"), "accuracy");
      }
      if (rows.some((r) => r.miou && r.task !== "diagnosis")) {
        out.miou = metricBarFigure(rows, "miou");
      }
      return out;
    },
  };
}

const lambda: FigureSpec = {
  id: "lambda-sweep",
  title: "Beyond the paper: PSNR and accuracy against λ (ISIC 2018, σ = 0.1)",
  experiments: ["lambda-sweep"],
  extra: extraExperiment("lambda-sweep"),
  async build(ctx) {
    const { rows } = await experimentResults(ctx, "lambda-sweep");
    const x = (r: { group: string }) => Number(r.group.replace("λ = ", ""));
    const o = { xTitle: "λ", log: true, reference: "benchmark-i" as const };
    return { psnr: sweepFigure(rows, "psnr", x, o), accuracy: sweepFigure(rows, "accuracy", x, o) };
  },
};

const layerCosines: FigureSpec = {
  id: "gradient-dynamics-layers",
  title: "Beyond the paper: cos(G_IP, G_VR) per layer of IP over training (GradProm, σ = 0.1)",
  experiments: ["gradient-dynamics"],
  extra: extraExperiment("gradient-dynamics"),
  async build(ctx) {
    const { results } = await experimentResults(ctx, "gradient-dynamics");
    const run = results.find((r) =>
      r.config.method === "gradprom" && r.config.train.granularity === "global" &&
      r.config.seed === 0
    );
    if (!run) throw new Error("Expected the GradProm run of gradient-dynamics but found none");
    return layerCosineFigure(run);
  },
};

const fig2: FigureSpec = {
  id: "fig2-task-attention",
  title: "Fig. 2: what denoising, segmentation and diagnosis attend to on the same test images",
  experiments: [],
  async build(ctx) {
    const f = await taskAttentionFigures({
      profile: ctx.profile,
      dataRoot: ctx.dataRoot,
      cache: ctx.cache,
      runMissing: ctx.runMissing,
    });
    return { maps: f.grid, stats: f.stats };
  },
};

const qualitative: FigureSpec = {
  id: "qualitative-isic-denoise",
  title: "Qualitative results: denoised test images and Grad-CAM per method (Table 1 runs)",
  experiments: ["table1-isic-denoise"],
  async build(ctx) {
    const q = await qualitativeFigures({
      profile: ctx.profile,
      dataRoot: ctx.dataRoot,
      cache: ctx.cache,
      runMissing: ctx.runMissing,
    });
    return {
      ...Object.fromEntries(
        q.denoising.map((d) => [`denoise-s${String(d.sigma).replace(".", "")}`, d.grid.figure]),
      ),
      cams: q.cams.figure,
      "cam-stats": q.camStatsFigure,
    };
  },
};

/** Every figure by id, in the order `deno task figures` exports them. */
export const FIGURES: Record<string, FigureSpec> = Object.fromEntries(
  [
    fig1,
    fig2,
    table1,
    qualitative,
    table2,
    dynamics,
    ...[
      "datasets-denoise",
      "sr-isic",
      "table5-methods",
      "ablation-unsupervised",
      "ablation-multitask",
      "ablation-composite",
      "ablation-cross-domain",
      "optimizer-sgd-vs-adam",
    ].map(tableFigure),
    lambda,
    layerCosines,
  ].map((f) => [f.id, f]),
);

/**
 * A figure by id, or a clear error listing the known ids.
 *
 * @param id A key of {@link FIGURES}.
 * @returns Its spec.
 * @throws {RangeError} On an unknown id.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getFigure } from "./registry.ts";
 * assert.deepEqual(getFigure("fig1-toy").experiments, []);
 * ```
 */
export function getFigure(id: string): FigureSpec {
  const spec = FIGURES[id];
  if (!spec) {
    throw new RangeError(`Unknown figure '${id}'; known: ${Object.keys(FIGURES).join(", ")}`);
  }
  return spec;
}
