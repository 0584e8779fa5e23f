/**
 * Every paper figure that `deno task figures` exports, by id, derived from the notebook index
 * (`lib/experiments/notebook_index.ts`): each notebook contributes the figures it shows, in the
 * index's order. A figure is drawn from the results cache (see {@link experimentResults}) or
 * computed directly (the toy problem of Fig. 1), through the same library calls the notebook
 * makes. By default a notebook's experiments each give their bar panels ({@link tableFigures});
 * notebooks that show something else are listed in `_NOTEBOOK_FIGURES`.
 *
 * @module
 */
import { setupBackend } from "../backend/setup_backend.ts";
import type { PlotlyFigure } from "../plots/plotly.ts";
import { layerCosineFigure } from "../plots/table_figures.ts";
import { NOTEBOOKS } from "../experiments/notebook_index.ts";
import { EXPERIMENTS } from "../experiments/registry.ts";
import {
  gateDynamicsFigure,
  gateDynamicsRuns,
  qualitativeRuns,
  settingSweepFigure,
  tableFigures,
  taskAttentionRuns,
} from "../experiments/report.ts";
import { experimentResults, type FigureContext } from "./experiment_results.ts";
import { fig1Figures, fig1Runs, fig1Settings } from "./fig1_toy.ts";
import { taskAttentionFigures } from "../plots/task_attention_figures.ts";
import { qualitativeFigures } from "../plots/qualitative_figures.ts";
import type { ExportSize } from "./figure_exporter.ts";
import { PAPER_ROLES } from "../experiments/methods.ts";

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

const fig1: FigureSpec = {
  id: "fig1-toy",
  title:
    "Fig. 1: IP only, Joint and GradProm on the two-parameter toy problem (plain gradient descent and Adam)",
  experiments: [],
  async build(ctx) {
    await setupBackend({ quiet: true });
    return fig1Figures(fig1Runs(fig1Settings(ctx.profile)));
  },
};

/** Bar panels of an experiment's table: PSNR, SSIM and its recognition scores. */
function tableFigure(id: string): FigureSpec {
  return {
    id,
    title: `${EXPERIMENTS[id].title}: PSNR, SSIM and recognition scores by method and setting`,
    experiments: [id],
    async build(ctx) {
      return tableFigures(await experimentResults(ctx, id));
    },
  };
}

const dynamics: FigureSpec = {
  id: "dynamics-isic-denoise",
  title:
    "Beyond the paper: cos(G_IP, G_VR) and GradProm's gate over training (Table 1, lowest σ, seed 0)",
  experiments: ["table1-isic-denoise"],
  async build(ctx) {
    return gateDynamicsFigure(await experimentResults(ctx, "table1-isic-denoise"));
  },
};

const lambda: FigureSpec = {
  id: "lambda-sweep",
  title: "Beyond the paper: PSNR and accuracy against λ (ISIC 2018, σ = 0.1)",
  experiments: ["lambda-sweep"],
  async build(ctx) {
    const report = await experimentResults(ctx, "lambda-sweep");
    const o = { log: true, reference: PAPER_ROLES.ipOnly };
    return {
      psnr: settingSweepFigure(report, "psnr", o),
      accuracy: settingSweepFigure(report, "accuracy", o),
    };
  },
};

const layerCosines: FigureSpec = {
  id: "gradient-dynamics-layers",
  title: "Beyond the paper: cos(G_IP, G_VR) per layer of IP over training (GradProm, σ = 0.1)",
  experiments: ["gradient-dynamics"],
  async build(ctx) {
    const { results } = await experimentResults(ctx, "gradient-dynamics");
    const [run] = gateDynamicsRuns(results, {
      methods: [PAPER_ROLES.proposed],
      granularity: "global",
    });
    if (!run) throw new Error("Expected the GradProm run of gradient-dynamics but found none");
    return layerCosineFigure(run);
  },
};

const fig2: FigureSpec = {
  id: "fig2-task-attention",
  title: "Fig. 2: what denoising, segmentation and diagnosis attend to on the same test images",
  experiments: [],
  async build(ctx) {
    const f = await taskAttentionFigures(await taskAttentionRuns(ctx), {
      profile: ctx.profile,
      cache: ctx.cache,
    });
    return { maps: f.grid, stats: f.stats };
  },
};

const qualitative: FigureSpec = {
  id: "qualitative-isic-denoise",
  title: "Qualitative results: denoised test images and Grad-CAM per method (Table 1 runs)",
  experiments: ["table1-isic-denoise"],
  async build(ctx) {
    const q = await qualitativeFigures(await qualitativeRuns(ctx), {
      profile: ctx.profile,
      cache: ctx.cache,
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

/**
 * The figures of the notebooks that show more than (or other than) their experiments' bar
 * panels, by notebook name; every other notebook gets {@link tableFigure} per experiment.
 */
const _NOTEBOOK_FIGURES: Record<string, FigureSpec[]> = {
  fig1_gradient_promotion: [fig1],
  table1_isic_denoise: [tableFigure("table1-isic-denoise"), dynamics],
  qualitative_results: [qualitative],
  fig2_task_attention: [fig2],
  lambda_sensitivity: [lambda],
  gradient_dynamics: [layerCosines],
};

/** Every figure by id, in the order of the notebook index; `extra` as its notebook's. */
export const FIGURES: Record<string, FigureSpec> = Object.fromEntries(
  NOTEBOOKS.flatMap((nb) =>
    (_NOTEBOOK_FIGURES[nb.name] ?? nb.experiments.map(tableFigure)).map((
      f,
    ): [string, FigureSpec] => [f.id, { ...f, extra: nb.extra }])
  ),
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
