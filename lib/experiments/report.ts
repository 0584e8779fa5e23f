/**
 * What the notebooks and `deno task reproduce` show, each piece from one call: an experiment's
 * report (its runs from the results cache, its table rows and checked claims), its setup in
 * words, its table, the paper's claims, the runs whose training dynamics are plotted, tables
 * keyed by the experiment's own varying setting, and the loaders of the runs behind the
 * qualitative and Fig. 2 figures with the tables and verdicts drawn from those figures.
 *
 * Notebooks call these and compute nothing themselves, so that a notebook, an exported figure and
 * the reproduce report cannot disagree.
 *
 * @module
 */
import { markdown } from "../plots/display.ts";
import type { Displayable, PlotlyFigure } from "../plots/plotly.ts";
import { dynamicsFigure, sweepFigure } from "../plots/table_figures.ts";
import { metricBarFigure } from "../plots/table_figures.ts";
import type { MapStats } from "../plots/attention_stats.ts";
import type { QualitativeFigures } from "../plots/qualitative_figures.ts";
import { qualitativeConfigs } from "../plots/qualitative_figures.ts";
import {
  TASK_MAPS,
  taskAttentionConfigs,
  type TaskAttentionFigures,
} from "../plots/task_attention_figures.ts";
import type { ExperimentConfig, Method } from "./config.ts";
import {
  CROSS_DOMAIN_PAPER,
  DEFAULT_SEEDS,
  type ExperimentSpec,
  getExperiment,
  type Profile,
  PROFILES,
} from "./registry.ts";
import { checkDatasetId, type DatasetSource, gridOnDataset } from "./grid_on_dataset.ts";
import { ResultsCache } from "./results_cache.ts";
import { describeDegradation, runKey, type RunResult } from "./run_experiment.ts";
import { runGrid } from "./run_grid.ts";
import {
  checkClaims,
  type ClaimCheck,
  claimsTableMarkdown,
  observationsMarkdown,
  summarize,
  tableHtml,
  tableMarkdown,
  type TableRow,
} from "./summarize.ts";
import { PAPER_ROLES } from "./methods.ts";

// ---------------------------------------------------------------------------------------------
// A notebook's parameters

/** What a notebook runs: profile, seeds and data. */
export interface NotebookParams {
  profile: Profile;
  /** Seeds per grid cell. */
  seeds: number;
  /** Real dataset folder, or null for the embedded synthetic data. */
  dataRoot: string | null;
  /**
   * Another dataset to run the notebook's experiments on (absent: the dataset of each run of
   * the grid), e.g. `folder` with `dataRoot` your images' folder (see `gridOnDataset`).
   */
  dataset?: string;
}

/** The names of a notebook's dataset parameters, for errors. */
const _NOTEBOOK_DATASET: DatasetSource = { dataset: "GRADPROM_DATASET", data: "GRADPROM_DATA" };

/**
 * A notebook's parameters: `$GRADPROM_PROFILE` (default `quick`), `$GRADPROM_SEEDS` (default: the
 * profile's, {@link DEFAULT_SEEDS}: 3 for quick and paper, 1 for smoke)
 * and `$GRADPROM_DATA` (default: the embedded synthetic data), as `deno task reproduce` sets
 * them, and `$GRADPROM_DATASET` (default: none, each run's own dataset; e.g. `folder` to run the
 * notebook's experiments on the images in `$GRADPROM_DATA`), with `overrides` on top.
 *
 * @param overrides Parameters to set here (to explore in a notebook).
 * @returns The parameters (`dataset` only when one is set).
 * @throws {RangeError} On an unknown profile, a seed count that is not an integer ≥ 1 or an
 *   unknown dataset (listing the known ones). {TypeError} On `folder` without `$GRADPROM_DATA`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookParams } from "./report.ts";
 * assert.deepEqual(notebookParams({ profile: "smoke", seeds: 2, dataRoot: null }), {
 *   profile: "smoke",
 *   seeds: 2,
 *   dataRoot: null,
 * });
 * assert.throws(() => notebookParams({ seeds: 0 }), RangeError);
 * assert.throws(
 *   () => notebookParams({ dataset: "mnist" }),
 *   /Expected GRADPROM_DATASET to be one of isic2018, .* but found "mnist"/,
 * );
 * ```
 */
export function notebookParams(overrides: Partial<NotebookParams> = {}): NotebookParams {
  const profile = overrides.profile ?? Deno.env.get("GRADPROM_PROFILE") ?? "quick";
  if (!PROFILES.includes(profile as Profile)) {
    throw new RangeError(
      `Expected the profile to be one of ${PROFILES.join(", ")} but found ${profile}`,
    );
  }
  const seeds = overrides.seeds ??
    Number(Deno.env.get("GRADPROM_SEEDS") || DEFAULT_SEEDS[profile as Profile]);
  if (!Number.isInteger(seeds) || seeds < 1) {
    throw new RangeError(`Expected the number of seeds to be an integer ≥ 1 but found ${seeds}`);
  }
  const dataRoot = overrides.dataRoot !== undefined
    ? overrides.dataRoot
    : Deno.env.get("GRADPROM_DATA") ?? null;
  const dataset = overrides.dataset ?? (Deno.env.get("GRADPROM_DATASET") || undefined);
  if (dataset === undefined) return { profile: profile as Profile, seeds, dataRoot };
  checkDatasetId(dataset, dataRoot, _NOTEBOOK_DATASET);
  return { profile: profile as Profile, seeds, dataRoot, dataset };
}

// ---------------------------------------------------------------------------------------------
// Loading runs

/** Which runs to load, and where from. */
export interface LoadOptions {
  profile: Profile;
  /** Seeds per grid cell (default: the profile's, {@link DEFAULT_SEEDS}). */
  seeds?: number;
  /** Real dataset folder, or null (default) for the embedded synthetic data. */
  dataRoot?: string | null;
  /**
   * Run every config on this dataset instead (`gridOnDataset`, with `dataRoot` its folder);
   * absent or null (default): each config's own.
   */
  dataset?: string | null;
  /** Results cache (default: `$GRADPROM_CACHE` or `results/cache`). */
  cache?: ResultsCache;
  /**
   * Train the runs the cache lacks (default true). When false, a missing run is an error that
   * names it and the command that trains it.
   */
  runMissing?: boolean;
  /** Print the grid runner's progress (default true). */
  progress?: boolean;
  /** Worker processes for the runs to train (default: one per core; 0: in this process, see `runGrid`). */
  workers?: number;
}

/**
 * The runs of `configs` from the cache, training those it lacks unless `options.runMissing` is
 * false; with `options.dataset`, the runs of `configs` on that dataset (`gridOnDataset`).
 *
 * @param configs The runs, in the order they are returned.
 * @param options Profile, seeds, dataset, cache, whether to train missing runs.
 * @param experiments Ids of the experiments the runs belong to (named in the error).
 * @returns The results in the order of `configs`.
 * @throws {Error} When `runMissing` is false and runs are missing: the message lists them and
 * says which `deno task experiment` command trains them. The errors of `gridOnDataset` (an
 * unknown dataset, one without the runs' task), naming `GRADPROM_DATASET`.
 */
export async function loadRuns(
  configs: ExperimentConfig[],
  options: LoadOptions,
  experiments: string[],
): Promise<RunResult[]> {
  const cache = options.cache ?? new ResultsCache();
  const dataset = options.dataset ?? null;
  const dataRoot = options.dataRoot ?? null;
  if (dataset !== null) {
    configs = await gridOnDataset(configs, dataset, dataRoot, _NOTEBOOK_DATASET);
  }
  if (options.runMissing === false) {
    const missing: string[] = [];
    for (const c of configs) {
      if (!(await cache.get("runs", await runKey(c)))) {
        missing.push(`${c.method} ${describeDegradation(c.degradation)} seed ${c.seed}`);
      }
    }
    if (missing.length) {
      const seeds = options.seeds ?? DEFAULT_SEEDS[options.profile];
      const many = experiments.length > 1;
      throw new Error(
        `${many ? "Experiments" : "Experiment"} ${experiments.join(" and ")} (${options.profile} ` +
          `profile, ${seeds} seed(s)) ${many ? "lack" : "lacks"} ${missing.length} of ` +
          `${configs.length} runs in ${cache.dir}: ${missing.slice(0, 4).join(", ")}` +
          `${missing.length > 4 ? ", …" : ""}; run ${
            experiments.map((id) =>
              `\`deno task experiment ${id} --profile ${options.profile} --seeds ${seeds}${
                dataset !== null
                  ? ` --dataset ${dataset}${dataRoot ? ` --data ${dataRoot}` : ""}`
                  : ""
              }\``
            ).join(" and ")
          } first`,
      );
    }
  }
  return await runGrid(configs, {
    cache,
    progress: options.progress,
    workers: options.workers,
  });
}

// ---------------------------------------------------------------------------------------------
// An experiment's report

/** An experiment's runs, table rows and claims, with what they were run for. */
export interface ExperimentReport {
  spec: ExperimentSpec;
  profile: Profile;
  seeds: number;
  dataRoot: string | null;
  /** The grid, in its order. */
  configs: ExperimentConfig[];
  /** The grid's results, in grid order. */
  results: RunResult[];
  /** `summarize(spec, results)`. */
  rows: TableRow[];
  /** `checkClaims(spec, rows)`. */
  claims: ClaimCheck[];
}

/**
 * An experiment's report from results already at hand (no run, no cache).
 *
 * @param spec The experiment.
 * @param results Its runs, in grid order.
 * @param meta The profile, seeds and data the runs were made with.
 * @returns The report.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildReport } from "./report.ts";
 * import { getExperiment } from "./registry.ts";
 * const r = buildReport(getExperiment("table1-isic-denoise"), [], { profile: "smoke" });
 * assert.deepEqual([r.rows, r.claims[0].verdict], [[], "not run"]);
 * ```
 */
export function buildReport(
  spec: ExperimentSpec,
  results: RunResult[],
  meta: { profile: Profile; seeds?: number; dataRoot?: string | null },
): ExperimentReport {
  const rows = summarize(spec, results);
  return {
    spec,
    profile: meta.profile,
    seeds: meta.seeds ?? DEFAULT_SEEDS[meta.profile],
    dataRoot: meta.dataRoot ?? null,
    configs: results.map((r) => r.config),
    results,
    rows,
    claims: checkClaims(spec, rows),
  };
}

/**
 * Experiment `id`'s report: its grid for the profile, seeds and data, run through the results
 * cache (cached runs return at once; the rest run in worker processes, one per core).
 *
 * @param id An experiment id of `registry.ts`.
 * @param options Profile, seeds, data (and another dataset to run the grid on), cache.
 * @returns The report.
 * @throws {RangeError} On an unknown id. {Error} When `runMissing` is false and runs are missing.
 *   The errors of `gridOnDataset` with `options.dataset` (an unknown one, one without the task).
 * @example
 * ```ts ignore
 * const t1 = await experimentReport("table1-isic-denoise", { profile: "quick" });
 * await show(markdown(claimsMarkdown(t1)));
 * ```
 */
export async function experimentReport(
  id: string,
  options: LoadOptions,
): Promise<ExperimentReport> {
  const spec = getExperiment(id);
  const seeds = options.seeds ?? DEFAULT_SEEDS[options.profile];
  const dataRoot = options.dataRoot ?? null;
  const configs = spec.grid(options.profile, { seeds, dataRoot });
  const results = await loadRuns(configs, { ...options, seeds }, [id]);
  const report = buildReport(spec, results, { profile: options.profile, seeds, dataRoot });
  // On another dataset, the configs are the grid's on it: those of the results.
  return options.dataset ? report : { ...report, configs };
}

/** The recognition network(s) of a config, in words. */
function _vrWords(c: ExperimentConfig): string {
  const resnet = `ResNet widths [${c.vr.widths}] blocks [${c.vr.blocks}]`;
  const unet = `U-Net depth ${c.seg.depth}, base width ${c.seg.baseWidth}`;
  return c.data.task === "diagnosis"
    ? resnet
    : c.data.task === "segmentation"
    ? unet
    : `${resnet} and ${unet}`;
}

/**
 * The report's setup in words: number of runs, profile, seeds, backend, image size, the networks,
 * the schedule and the first degradation of the grid.
 *
 * @param report From {@link experimentReport}.
 * @param backend The TF.js backend the notebook runs on.
 * @returns Markdown.
 */
export function setupMarkdown(report: ExperimentReport, backend: string): string {
  const { spec, configs, profile, seeds } = report;
  const c = configs[0];
  return `**${spec.title}**: ${configs.length} runs (${profile} profile, ${seeds} seed(s), ` +
    `backend ${backend}).\n\n` +
    `Images ${c.data.size.join("×")}; IP: SR-ResNet ${c.ip.channels} channels × ${c.ip.blocks} ` +
    `blocks; VR: ${_vrWords(c)}; ${c.train.steps} steps of batch ${c.train.batchSize}, ` +
    `${c.train.optimizer} lr ${c.train.lr}, λ = ${c.train.lambda}; VR pre-trained ` +
    `${c.vrPretrain.steps} steps on clean images; first degradation ` +
    `${describeDegradation(c.degradation)}.`;
}

/** Markdown's `**bold**` as HTML, the rest escaped. */
const _inlineHtml = (md: string) =>
  md.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replace(/\*\*(.+?)\*\*/g, "<b>$1</b>");

/**
 * The report's table (mean ± std over seeds, the paper's values beside ours, the degraded input
 * and the observations under it) as a notebook display, Markdown with an HTML twin.
 *
 * @param report From {@link experimentReport}.
 * @param intro Markdown shown above the table (e.g. {@link setupMarkdown}).
 * @returns A display bundle; `String()` of it is the Markdown.
 */
export function tableDisplay(
  report: ExperimentReport,
  intro = "",
): Displayable & { toString(): string } {
  const md = tableMarkdown(report.rows);
  const html = tableHtml(report.rows);
  return intro
    ? markdown(`${intro}\n\n${md}`, `<p>${_inlineHtml(intro)}</p>${html}`)
    : markdown(md, html);
}

/**
 * The paper's claims checked on the report's numbers: the claims table, a one-line summary
 * ("2 of 3 claims hold on our quick-profile data") saying what a claim that does not hold means,
 * and the plain-language observations per row group.
 *
 * @param report From {@link experimentReport}.
 * @returns Markdown.
 */
export function claimsMarkdown(report: ExperimentReport): string {
  const { claims, profile, rows } = report;
  const notes = observationsMarkdown(rows);
  const held = claims.filter((c) => c.verdict === "holds").length;
  const verdicts = claims.length
    ? claimsTableMarkdown(claims) +
      `\n\n**${held} of ${claims.length} claims hold on our ${profile}-profile data.**` +
      (held < claims.length
        ? " Where a claim does not hold, this is what we measured, not a typo: the quick profile " +
          "is a small network on synthetic data, trained for minutes, and the paper's λ and " +
          "schedule are unknown."
        : "")
    : "_No claim of the paper to check here._";
  return notes ? `${verdicts}\n\n${notes}` : verdicts;
}

/**
 * The report's bar charts: PSNR, SSIM, and the recognition scores that apply (accuracy over the
 * diagnosis rows, mIoU where there is segmentation).
 *
 * @param report From {@link experimentReport}.
 * @returns The charts by panel name, in display order.
 */
export function tableFigures(report: ExperimentReport): Record<string, PlotlyFigure> {
  const { rows } = report;
  const out: Record<string, PlotlyFigure> = {
    psnr: metricBarFigure(rows, "psnr"),
    ssim: metricBarFigure(rows, "ssim"),
  };
  if (rows.some((r) => r.task !== "segmentation")) {
    out.accuracy = metricBarFigure(rows.filter((r) => r.task !== "segmentation"), "accuracy");
  }
  if (rows.some((r) => r.miou && r.task !== "diagnosis")) out.miou = metricBarFigure(rows, "miou");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training dynamics

/** Which runs {@link gateDynamicsRuns} keeps. */
export interface GateDynamicsOptions {
  /** The methods (default Joint and GradProm's gate). */
  methods?: readonly Method[];
  /** Only runs with this gate granularity (default: both). */
  granularity?: "global" | "layer";
}

/**
 * The runs whose training dynamics the notebooks and the report plot: Joint and GradProm (or
 * `options.methods`), seed 0, at the lowest σ of the results, in their order.
 *
 * @param results An experiment's runs.
 * @param options Other methods, one gate granularity.
 * @returns The selected runs.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gateDynamicsRuns } from "./report.ts";
 * import { DEFAULT_CONFIG, type Method, mergeConfig } from "./config.ts";
 * import type { RunResult } from "./run_experiment.ts";
 * const run = (method: Method, seed: number, sigma: number) =>
 *   ({ config: mergeConfig(DEFAULT_CONFIG, { method, seed, degradation: { sigma } }) }) as RunResult;
 * const runs = [run("joint", 0, 0.2), run("joint", 0, 0.1), run("gradprom", 1, 0.1),
 *   run("gradprom", 0, 0.1), run("frozen", 0, 0.1)];
 * assert.deepEqual(gateDynamicsRuns(runs), [runs[1], runs[3]]);
 * ```
 */
export function gateDynamicsRuns(
  results: RunResult[],
  options: GateDynamicsOptions = {},
): RunResult[] {
  const methods: readonly Method[] = options.methods ?? [PAPER_ROLES.joint, PAPER_ROLES.proposed];
  const sigma0 = Math.min(...results.map((r) => r.config.degradation.sigma));
  return results.filter((r) =>
    r.config.seed === 0 && r.config.degradation.sigma === sigma0 &&
    methods.includes(r.config.method) &&
    (options.granularity === undefined || r.config.train.granularity === options.granularity)
  );
}

/**
 * cos(G_IP, G_VR) and GradProm's gate over training for the report's {@link gateDynamicsRuns},
 * each run named by its row group (`σ=0.1` where the experiment varies σ).
 *
 * @param report From {@link experimentReport}.
 * @param options Which runs (see {@link gateDynamicsRuns}).
 * @returns A Plotly figure.
 */
export function gateDynamicsFigure(
  report: ExperimentReport,
  options: GateDynamicsOptions = {},
): PlotlyFigure {
  return dynamicsFigure(
    gateDynamicsRuns(report.results, options),
    20,
    (r) => report.spec.groupOf?.(r.config) ?? `σ=${r.config.degradation.sigma}`,
  );
}

const _pct = (v: number) => `${(100 * v).toFixed(1)}%`;
/** Share of the steps with a measured cosine (finite) where it was positive. */
const _share = (xs: number[]) => {
  const measured = xs.filter(Number.isFinite);
  return measured.length ? measured.filter((x) => x > 0).length / measured.length : NaN;
};

/**
 * How often the two gradients agreed (cos > 0) over the steps that measured the cosine, over the
 * first and the last tenth of training, and the mean weight on G_VR, one row per run. Joint
 * measures the cosine on some steps only (`trainLoop`'s `cosineEvery`: its update does not need
 * it), the other methods on every step; the table says how many.
 *
 * @param runs E.g. {@link gateDynamicsRuns} of the gradient-dynamics experiment.
 * @returns Markdown.
 */
export function gateShareMarkdown(runs: RunResult[]): string {
  const rows = runs.map((r) => {
    const c = r.log.cosine, n = c.length, tenth = Math.max(1, Math.floor(n / 10));
    const measured = c.filter(Number.isFinite).length;
    return `| ${r.config.method} (${r.config.train.granularity} gate) | ${measured} of ${n} | ${
      _pct(_share(c))
    } | ${_pct(_share(c.slice(0, tenth)))} | ${_pct(_share(c.slice(n - tenth)))} | ${
      r.config.method === PAPER_ROLES.joint
        ? "always (no gate)"
        : _pct(r.log.auxWeight.reduce((a, b) => a + b, 0) / n)
    } |`;
  });
  return [
    "| Run | steps with a cosine | cos > 0 | first 10% | last 10% | weight on G_VR (mean) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n") +
    "\n\nThe shares are over the steps that measured the cosine: every step for the gated " +
    "methods, which need it, and a sample for Joint, whose update does not (the other steps " +
    "backpropagate L_IP + λ·L_VR once). For the per-layer gate the weight is the share of " +
    "variables whose own gate was open.";
}

/**
 * The layers of IP whose gradients conflict most often (share of logged steps with a negative
 * cosine), and those that conflict least often.
 *
 * @param run A run with a per-layer log.
 * @returns Markdown.
 * @throws {TypeError} When the run has no per-layer log.
 */
export function layerConflictMarkdown(run: RunResult): string {
  const layers = run.log.layers;
  if (!layers) {
    throw new TypeError(`Expected per-layer cosines in run ${run.key} but found none`);
  }
  const conflict = layers.names.map((name, i) => ({
    name,
    share: layers.cosine.filter((row) => row[i] < 0).length / layers.cosine.length,
  })).sort((a, b) => b.share - a.share);
  return `Layers whose gradients conflict most often (${
    run.config.method === PAPER_ROLES.proposed ? "GradProm" : run.config.method
  }, ${run.config.train.granularity} gate):\n\n` +
    conflict.slice(0, 5).map((l) => `- \`${l.name}\`: ${_pct(l.share)} of logged steps`)
      .join("\n") +
    `\n\nand least often: ${
      conflict.slice(-3).map((l) => `\`${l.name}\` (${_pct(l.share)})`).join(", ")
    }.`;
}

/**
 * With two auxiliary tasks: how often each one's gate opened (GradProm, seed 0).
 *
 * @param report A report whose grid has a `diagnosis+segmentation` GradProm run.
 * @returns Markdown, one bullet per auxiliary task; empty when there is no such run.
 */
export function auxGateMarkdown(report: ExperimentReport): string {
  const both = report.results.find((r) =>
    r.config.method === PAPER_ROLES.proposed && r.config.data.task === "diagnosis+segmentation" &&
    r.config.seed === 0
  );
  return (both?.log.perAux ?? []).map((p) =>
    `- gate of the ${p.task} auxiliary: open on ${
      (100 * p.auxWeight.filter((x) => x > 0).length / p.auxWeight.length).toFixed(1)
    }% of steps`
  ).join("\n");
}

// ---------------------------------------------------------------------------------------------
// The experiment's own varying setting

/** The setting an experiment varies across its row groups, and its value per row. */
export interface Setting {
  /** Its name, e.g. `σ`, `λ`, `optimizer`. */
  name: string;
  /** Its value for a table row. */
  value(row: TableRow): number | string;
}

/** Candidate settings, by name, in the order they are tried. */
const _SETTINGS: [string, (c: ExperimentConfig) => number | string][] = [
  ["σ", (c) => c.degradation.sigma],
  ["λ", (c) => c.train.lambda],
  ["SR factor", (c) => c.degradation.factor],
  ["optimizer", (c) => c.train.optimizer],
  ["gate", (c) => c.train.granularity],
  ["dataset", (c) => c.data.dataset],
  ["auxiliary task", (c) => c.data.task],
  ["auxiliary loss", (c) => c.train.auxLoss],
];

/**
 * The setting that tells the report's row groups apart: σ for the experiments grouped by σ, else
 * the first config field (of σ, λ, SR factor, optimizer, gate, dataset, auxiliary task and loss)
 * that is constant within each group and different between groups; with a single group, the
 * group's label itself.
 *
 * @param report From {@link experimentReport}.
 * @returns Its name and its value per row.
 */
export function settingOf(report: ExperimentReport): Setting {
  const { spec, results } = report;
  const groupOf = spec.groupOf ?? ((c: ExperimentConfig) => `σ = ${c.degradation.sigma}`);
  const byGroup = new Map<string, ExperimentConfig[]>();
  for (const r of results) {
    const g = groupOf(r.config);
    byGroup.set(g, [...(byGroup.get(g) ?? []), r.config]);
  }
  const found = spec.groupOf === undefined ? _SETTINGS[0] : _SETTINGS.find(([, f]) => {
    const values = [...byGroup.values()].map((cs) => new Set(cs.map(f)));
    return byGroup.size > 1 && values.every((v) => v.size === 1) &&
      new Set(values.map((v) => [...v][0])).size === byGroup.size;
  });
  if (!found) return { name: "Setting", value: (row) => row.group };
  const [name, f] = found;
  return {
    name,
    value: (row) => {
      const c = byGroup.get(row.group)?.[0];
      if (!c) throw new RangeError(`Expected a run in row group '${row.group}' but found none`);
      return f(c);
    },
  };
}

/**
 * A metric against the experiment's own varying setting ({@link settingOf}, e.g. λ on a log
 * axis), one line per method, `reference` drawn as a constant line.
 *
 * @param report From {@link experimentReport}; the setting must be numeric.
 * @param metric The metric to plot.
 * @param options Log axis, reference method.
 * @returns A Plotly figure.
 */
export function settingSweepFigure(
  report: ExperimentReport,
  metric: "psnr" | "ssim" | "accuracy" | "miou",
  options: { log?: boolean; reference?: TableRow["method"] } = {},
): PlotlyFigure {
  const setting = settingOf(report);
  return sweepFigure(report.rows, metric, (r) => Number(setting.value(r)), {
    xTitle: setting.name,
    ...options,
  });
}

/**
 * One method's difference to others in a metric, one row per value of the experiment's own
 * varying setting ({@link settingOf}). A compared method absent from a row group but run once in
 * the whole grid (such as Benchmark-i in a λ sweep, which does not depend on λ) is compared from
 * that one run.
 *
 * @param report From {@link experimentReport}.
 * @param options `method` and its `label`, the methods to compare with and their labels, the
 * metric (default PSNR, in dB with two decimals).
 * @returns Markdown, e.g. `| λ | GradProm − Joint (dB) | … |`.
 */
export function gapMarkdown(
  report: ExperimentReport,
  options: {
    method: Method;
    label: string;
    against: Partial<Record<Method, string>>;
    metric?: "psnr" | "ssim";
  },
): string {
  const metric = options.metric ?? "psnr";
  const unit = metric === "psnr" ? " (dB)" : "";
  const digits = metric === "psnr" ? 2 : 3;
  const setting = settingOf(report);
  const against = Object.entries(options.against) as [Method, string][];
  const groups = [...new Set(report.rows.map((r) => r.group))];
  const find = (m: Method, group: string) => {
    const at = report.rows.find((r) => r.method === m && r.group === group);
    const all = report.rows.filter((r) => r.method === m);
    return at ?? (all.length === 1 ? all[0] : undefined);
  };
  const d = (a: number, b: number) => `${a - b >= 0 ? "+" : ""}${(a - b).toFixed(digits)}`;
  const lines = groups.map((g) => {
    const row = report.rows.find((r) => r.group === g)!;
    const ours = report.rows.find((r) => r.method === options.method && r.group === g);
    if (!ours?.[metric]) {
      return `| ${setting.value(row)} | not run |${" |".repeat(against.length - 1)}`;
    }
    return `| ${setting.value(row)} | ${
      against.map(([m]) => {
        const other = find(m, g)?.[metric];
        return other ? d(ours[metric]!.mean, other.mean) : "";
      }).join(" | ")
    } |`;
  });
  return [
    `| ${setting.name} | ${against.map(([, l]) => `${options.label} − ${l}${unit}`).join(" | ")} |`,
    `| --- | ${against.map(() => "---").join(" | ")} |`,
    ...lines,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Cross-domain

/** The rows evaluated on another dataset. */
const _crossRows = (report: ExperimentReport) => report.rows.filter((r) => r.cross);

/**
 * The cross-domain table: per row group and method, PSNR on the training dataset's test split, PSNR
 * and SSIM on Lizard's, and the paper's value for GradProm; then Lizard's degraded input.
 *
 * @param report The `ablation-cross-domain` report.
 * @returns Markdown.
 */
export function crossDomainMarkdown(report: ExperimentReport): string {
  const rows = _crossRows(report);
  return [
    "| Setting | Method | PSNR on ISIC (dB) | PSNR on Lizard (dB) | SSIM on Lizard | Paper (Lizard) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => {
      const paper = r.method === PAPER_ROLES.proposed
        ? CROSS_DOMAIN_PAPER.find((p) => p.auxLoss === r.group)
        : undefined;
      return `| ${r.group} | ${r.label} | ${r.psnr!.mean.toFixed(2)} | ${
        r.cross!.psnr.mean.toFixed(2)
      } | ${r.cross!.ssim.mean.toFixed(3)} | ${paper ? `${paper.psnr} dB / ${paper.ssim}` : ""} |`;
    }),
  ].join("\n") +
    `\n\nLizard's degraded input: ${rows[0]?.cross?.psnrInput.mean.toFixed(2)} dB.`;
}

/**
 * Per auxiliary loss: the task-driven method with the best PSNR on the other dataset, against the
 * paper's (GradProm).
 *
 * @param report The `ablation-cross-domain` report.
 * @returns Markdown, one bullet per setting.
 */
export function crossDomainBestMarkdown(report: ExperimentReport): string {
  const rows = _crossRows(report);
  return ["supervised", "unsupervised"].filter((g) => rows.some((r) => r.group === g)).map((g) => {
    const b = rows.filter((r) => r.group === g && r.method !== PAPER_ROLES.ipOnly)
      .reduce((a, b) => (b.cross!.psnr.mean > a.cross!.psnr.mean ? b : a));
    return `- ${g}: the best task-driven method on Lizard is **${b.label}** (${
      b.cross!.psnr.mean.toFixed(2)
    } dB)${
      b.method === PAPER_ROLES.proposed ? ", as the paper reports" : "; the paper reports GradProm"
    }.`;
  }).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Qualitative results (Table 1's networks on test images)

/** Refuses a dataset other than ISIC 2018 for figures drawn with its class names and lesions. */
function _isicOnly(options: LoadOptions, what: string): void {
  if (options.dataset && options.dataset !== "isic2018") {
    throw new RangeError(
      `${what} drawn for ISIC 2018 only (its class names and lesion masks) but found ` +
        `GRADPROM_DATASET=${options.dataset}: unset GRADPROM_DATASET for this notebook`,
    );
  }
}

const _mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The runs the qualitative figures are drawn from (Table 1's seed-0 grid of the methods shown),
 * from the cache, trained when missing unless `runMissing` is false.
 *
 * @param options Profile, data, cache (`seeds` is always 1).
 * @returns The runs, in grid order.
 * @throws {Error} When `runMissing` is false and the cache lacks a run. {RangeError} For a
 *   `dataset` other than `isic2018`.
 */
export async function qualitativeRuns(options: LoadOptions): Promise<RunResult[]> {
  _isicOnly(options, "The qualitative figures are");
  return await loadRuns(
    qualitativeConfigs(options.profile, options.dataRoot ?? null),
    { ...options, seeds: 1, dataset: null },
    ["table1-isic-denoise"],
  );
}

/**
 * The networks and schedule of the qualitative runs in words.
 *
 * @param runs From {@link qualitativeRuns}.
 * @param profile The run profile.
 * @param backend The TF.js backend.
 * @returns Markdown.
 */
export function qualitativeSetupMarkdown(
  runs: RunResult[],
  profile: string,
  backend: string,
): string {
  const c0 = runs[0].config;
  return `${getExperiment("table1-isic-denoise").title}: its runs of the ${profile} profile, ` +
    `seed 0, backend ${backend}: σ = ${
      [...new Set(runs.map((r) => r.config.degradation.sigma))].join(", ")
    }; ` +
    `images ${c0.data.size.join("×")}; IP SR-ResNet ${c0.ip.channels} channels × ${c0.ip.blocks} ` +
    `blocks, diagnosis ResNet widths ${
      c0.vr.widths.join("/")
    }; ${c0.train.steps} steps, λ = ${c0.train.lambda}.`;
}

/**
 * Mean PSNR per σ and method recomputed from the saved networks, beside the run's reported PSNR.
 *
 * @param q From `qualitativeFigures`.
 * @returns Markdown.
 */
export function qualitativePsnrMarkdown(q: QualitativeFigures): string {
  return "| σ | Method | mean PSNR here (dB) | the run's reported PSNR (dB) |\n" +
    "| --- | --- | --- | --- |\n" +
    q.denoising.flatMap((d) =>
      q.methods.map((m) =>
        `| ${d.sigma} | ${q.labels[m]} | ${_mean(d.psnr[m]).toFixed(3)} | ${
          d.reported[m].toFixed(3)
        } |`
      )
    ).join("\n") +
    "\n\nRecomputed from the saved networks on the same test images: where the two columns agree, " +
    "the pictures below are the networks the table measured.";
}

/**
 * Per σ: on how many test images each method has the best PSNR, and how often GradProm beats
 * Frozen-params, Joint and Benchmark-i.
 *
 * @param q From `qualitativeFigures`.
 * @returns Markdown, one bullet per σ.
 */
export function qualitativeWinsMarkdown(q: QualitativeFigures): string {
  return q.denoising.map((d) => {
    const n = d.psnr.noisy.length;
    const best = (i: number) => q.methods.reduce((b, m) => (d.psnr[m][i] > d.psnr[b][i] ? m : b));
    const wins = q.methods.map((m) =>
      `${q.labels[m]} ${Array.from({ length: n }, (_, i) => best(i)).filter((b) => b === m).length}`
    );
    const above = (a: Method, b: Method) => d.psnr[a].filter((v, i) => v > d.psnr[b][i]).length;
    return `- σ = ${d.sigma}: best PSNR on ${
      wins.join(", ")
    } of ${n} test images; GradProm above ` +
      `Frozen-params on ${above(PAPER_ROLES.proposed, PAPER_ROLES.frozen)}, above Joint on ${
        above(PAPER_ROLES.proposed, PAPER_ROLES.joint)
      }, ` +
      `above Benchmark-i on ${above(PAPER_ROLES.proposed, PAPER_ROLES.ipOnly)}.`;
  }).join("\n");
}

/** The mean of a map statistic as a percentage ("" without statistics). */
const _pctOf = (s: MapStats[] | undefined, k: keyof MapStats) => {
  const f = (s ?? []).map((x) => x[k]).filter(Number.isFinite);
  return f.length ? `${(100 * _mean(f)).toFixed(1)}%` : s ? "n/a (all-zero maps)" : "";
};

/**
 * Per σ and method (and the noisy input): PSNR inside and outside the lesion, and at the lowest
 * σ where each run's Grad-CAM lies against the lesion masks.
 *
 * @param q From `qualitativeFigures`.
 * @returns Markdown.
 */
export function lesionMarkdown(q: QualitativeFigures): string {
  const label = (m: string) => m === "noisy" ? "noisy input" : q.labels[m as Method];
  return "| σ | Method | PSNR inside the lesion (dB) | PSNR outside (dB) | " +
    "CAM mass on the lesion | image area holding half the CAM |\n" +
    "| --- | --- | --- | --- | --- | --- |\n" +
    q.lesion.flatMap((l) =>
      ["noisy", ...q.methods].map((m) => {
        const s = l.sigma === q.sigmas[0] ? q.camStats[label(m)] : undefined;
        return `| ${l.sigma} | ${label(m)} | ` +
          `${l.psnr[m].inside.toFixed(2)} | ${l.psnr[m].outside.toFixed(2)} | ` +
          `${_pctOf(s, "insideShare")} | ${_pctOf(s, "halfMassArea")} |`;
      })
    ).join("\n") +
    `\n\n${q.lesionImages} Task 1 test images; the lesion covers ` +
    `${_pctOf(Object.values(q.camStats)[0], "areaShare")} of the image on average (a CAM spread ` +
    "evenly would put that share on it).";
}

/**
 * The paper's two qualitative claims checked at the lowest σ: GradProm keeps the lesion intact
 * (higher PSNR inside it than Frozen-params and Joint), and its CAM concentrates on it.
 *
 * @param q From `qualitativeFigures`.
 * @param profile The run profile, named in the summary.
 * @returns Markdown.
 */
export function qualitativeClaimsMarkdown(q: QualitativeFigures, profile: string): string {
  const l = q.lesion[0];
  const label = (m: Method) => q.labels[m];
  const inside = (m: Method) => l.psnr[m].inside;
  const share = (m: Method) => {
    const f = q.camStats[label(m)].map((x) => x.insideShare).filter(Number.isFinite);
    return f.length ? _mean(f) : NaN;
  };
  const others = ([PAPER_ROLES.frozen, PAPER_ROLES.joint] as Method[]).filter((m) =>
    q.methods.includes(m)
  );
  const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");
  const checks = [
    {
      text: "GradProm keeps the lesion intact: higher PSNR inside the lesion than " +
        others.map(label).join(" and "),
      holds: others.every((m) => inside(PAPER_ROLES.proposed) > inside(m)),
      ours: `GradProm ${fmt(inside(PAPER_ROLES.proposed), 2)} dB; ` +
        [...others, PAPER_ROLES.ipOnly].map((m) => `${label(m)} ${fmt(inside(m), 2)} dB`)
          .join(", "),
    },
    {
      text: "GradProm's CAM concentrates on the foreground object: more of its mass on the " +
        "lesion than with " + others.map(label).join(" or "),
      holds: others.every((m) => share(PAPER_ROLES.proposed) > share(m)),
      ours: `GradProm ${fmt(100 * share(PAPER_ROLES.proposed), 1)}%; ` +
        [...others, PAPER_ROLES.ipOnly].map((m) => `${label(m)} ${fmt(100 * share(m), 1)}%`)
          .join(", "),
    },
  ];
  const held = checks.filter((c) => c.holds).length;
  return [
    `| The paper's claim | Ours (σ = ${l.sigma}, seed 0) | Verdict on our data |`,
    "| --- | --- | --- |",
    ...checks.map((c) => `| ${c.text} | ${c.ours} | ${c.holds ? "holds" : "**does not hold**"} |`),
  ].join("\n") +
    `\n\n**${held} of ${checks.length} claims hold on our ${profile}-profile data** (one seed, ` +
    "so no error bar: a difference of a few tenths of a dB or a few points of CAM share may not " +
    "survive more seeds). The paper's figures are pictures of chosen images; these are averages " +
    "over the test split. " +
    (profile === "smoke"
      ? "The smoke profile trains for a few steps: its numbers mean nothing."
      : "");
}

// ---------------------------------------------------------------------------------------------
// Fig. 2: what each task attends to

/**
 * The two Benchmark-i runs Fig. 2 reads (Table 1's diagnosis and Table 2's segmentation run at the
 * lowest σ, seed 0), from the cache, trained when missing unless `runMissing` is false.
 *
 * @param options Profile, data, cache (`seeds` is always 1).
 * @returns Both runs.
 * @throws {Error} When `runMissing` is false and the cache lacks a run. {RangeError} For a
 *   `dataset` other than `isic2018`.
 */
export async function taskAttentionRuns(
  options: LoadOptions,
): Promise<{ diagnosis: RunResult; segmentation: RunResult }> {
  _isicOnly(options, "Fig. 2 is");
  const c = taskAttentionConfigs(options.profile, options.dataRoot ?? null);
  const [diagnosis, segmentation] = await loadRuns(
    [c.diagnosis, c.segmentation],
    { ...options, seeds: 1, dataset: null },
    ["table1-isic-denoise", "table2-isic-seg-denoise"],
  );
  return { diagnosis, segmentation };
}

/**
 * The networks behind Fig. 2 in words.
 *
 * @param runs From {@link taskAttentionRuns}.
 * @param profile The run profile.
 * @param backend The TF.js backend.
 * @returns Markdown.
 */
export function taskAttentionSetupMarkdown(
  runs: { diagnosis: RunResult; segmentation: RunResult },
  profile: string,
  backend: string,
): string {
  const cDiag = runs.diagnosis.config, cSeg = runs.segmentation.config;
  return `Networks of the ${profile} profile (backend ${backend}), σ = ${cSeg.degradation.sigma}, ` +
    `images ${
      cSeg.data.size.join("×")
    }: IP SR-ResNet ${cSeg.ip.channels} channels × ${cSeg.ip.blocks} ` +
    `blocks (${cSeg.train.steps} steps, denoising only, on Task 1 training images); diagnosis ` +
    `ResNet widths ${
      cDiag.vr.widths.join("/")
    } and segmentation U-Net depth ${cSeg.seg.depth}, base width ` +
    `${cSeg.seg.baseWidth} (each ${cSeg.vrPretrain.steps} steps on clean images).`;
}

/**
 * The PSNR of the noisy input and of IP's output over Fig. 2's test images, beside the run's.
 *
 * @param fig From `taskAttentionFigures`.
 * @returns Markdown.
 */
export function taskAttentionPsnrMarkdown(fig: TaskAttentionFigures): string {
  return `${fig.ids.length} test images; PSNR of the noisy input ${
    _mean(fig.psnr.input).toFixed(2)
  } dB, ` +
    `of IP's output ${_mean(fig.psnr.output).toFixed(2)} dB (the run reported ` +
    `${fig.psnr.reported.toFixed(2)} dB on the same images).`;
}

/**
 * Per pair of tasks: the cosine between their ∂L/∂Ŷ (mean ± std over the test images) and on how
 * many images it is negative.
 *
 * @param fig From `taskAttentionFigures`.
 * @returns Markdown.
 */
export function taskAttentionCosineMarkdown(fig: TaskAttentionFigures): string {
  const rows = Object.entries(fig.cosine).map(([k, c]) => {
    const f = c.filter(Number.isFinite);
    const mu = _mean(f), sd = Math.sqrt(_mean(f.map((v) => (v - mu) ** 2)));
    const neg = f.filter((v) => v < 0).length;
    return `| ${k} | ${mu.toFixed(3)} ± ${sd.toFixed(3)} | ${neg} of ${f.length} |`;
  });
  return [
    "| Pair of tasks | cos(∂L_a/∂Ŷ, ∂L_b/∂Ŷ), mean ± std | images where it is negative |",
    "| --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/**
 * The paper's reading of Fig. 2 checked on the maps: denoising attends everywhere, segmentation
 * to the foreground, diagnosis to discriminative parts of it (thresholds are ours; see the text).
 *
 * @param fig From `taskAttentionFigures`.
 * @param profile The run profile, named in the summary.
 * @returns Markdown.
 */
export function taskAttentionReadingsMarkdown(fig: TaskAttentionFigures, profile: string): string {
  type MapName = (typeof TASK_MAPS)[number];
  const s = (k: MapName, f: keyof MapStats) =>
    _mean(fig.mapStats[k].map((x) => x[f]).filter(Number.isFinite));
  const area = s("denoising |∂L/∂Ŷ|", "areaShare");
  const pct = (
    v: number,
  ) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "n/a (all-zero maps)");
  const checks = [
    {
      text: "Denoising attends everywhere: its map is the most spread out and follows the lesion " +
        "only in proportion to its area",
      holds:
        TASK_MAPS.every((k) => s("denoising |∂L/∂Ŷ|", "halfMassArea") >= s(k, "halfMassArea")) &&
        Math.abs(s("denoising |∂L/∂Ŷ|", "insideShare") / area - 1) < 0.25,
      ours: `half its mass on ${pct(s("denoising |∂L/∂Ŷ|", "halfMassArea"))} of the image; ` +
        `${pct(s("denoising |∂L/∂Ŷ|", "insideShare"))} in the lesion, which covers ${pct(area)}`,
    },
    {
      text: "Segmentation attends to the foreground: its CAM puts more of its mass on the lesion " +
        "than its area, and more than denoising",
      holds: s("segmentation CAM", "insideShare") > area &&
        s("segmentation CAM", "insideShare") > s("denoising |∂L/∂Ŷ|", "insideShare"),
      ours: `${pct(s("segmentation CAM", "insideShare"))} of the CAM in the lesion (area ${
        pct(area)
      }, denoising ${pct(s("denoising |∂L/∂Ŷ|", "insideShare"))})`,
    },
    {
      text: "Diagnosis attends to discriminative parts of the lesion: its Grad-CAM is on the " +
        "lesion and more concentrated than the segmentation CAM",
      holds: s("diagnosis Grad-CAM", "insideShare") > area &&
        s("diagnosis Grad-CAM", "halfMassArea") < s("segmentation CAM", "halfMassArea"),
      ours: `${pct(s("diagnosis Grad-CAM", "insideShare"))} in the lesion; half its mass on ` +
        `${pct(s("diagnosis Grad-CAM", "halfMassArea"))} of the image (segmentation CAM ` +
        `${pct(s("segmentation CAM", "halfMassArea"))})`,
    },
  ];
  const held = checks.filter((c) => c.holds).length;
  return [
    "| The paper's reading of Fig. 2 | Ours | Verdict on our data |",
    "| --- | --- | --- |",
    ...checks.map((c) => `| ${c.text} | ${c.ours} | ${c.holds ? "holds" : "**does not hold**"} |`),
  ].join("\n") +
    `\n\n**${held} of ${checks.length} readings hold on our ${profile}-profile data.** ` +
    'Thresholds are ours (the paper shows pictures, not numbers): "in proportion to its area" ' +
    "means within ±25% of the lesion's share of the image. " +
    (profile === "smoke"
      ? "The smoke profile trains for a few steps: its maps mean nothing. "
      : "") +
    "The networks are small and trained on synthetic images for minutes; on real data and " +
    "paper-sized networks the maps can differ.";
}
