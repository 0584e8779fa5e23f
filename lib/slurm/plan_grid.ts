/**
 * Expands experiment grids into the runs a Slurm job array must still do:
 * every run of the grids minus those the results cache already holds (and
 * minus those an earlier submission has queued or running), plus the VR
 * pre-trainings they share, one per distinct pre-training.
 *
 * @module
 */
import { DEFAULT_CONFIG, type ExperimentConfig } from "../experiments/config.ts";
import { hashKey, ResultsCache } from "../experiments/results_cache.ts";
import { runKey } from "../experiments/run_experiment.ts";
import { sharedPretrainingKey } from "../experiments/vr_pretrain.ts";

/** One run of a grid, with the experiment it belongs to. */
export interface GridEntry {
  /** Experiment id (e.g. `table1-isic-denoise`), or a name for a single config. */
  experiment: string;
  config: ExperimentConfig;
}

/** A run (or a VR pre-training) planned as one array task. */
export interface PlannedRun {
  /** Array task index (0-based, in submission order). */
  index: number;
  experiment: string;
  /** e.g. `gradprom σ=0.1 seed 0`. */
  label: string;
  /** The run's cache key (for a pre-training, a key of what it depends on). */
  key: string;
  config: ExperimentConfig;
  /** Runs only: index of the pre-training task it waits for. */
  pretrain?: number;
}

/** What {@link planGrid} found. */
export interface GridPlan {
  /** Distinct runs in the grids. */
  total: number;
  /** Runs already in the cache. */
  cached: number;
  /** Runs not in the cache but queued or running in an earlier submission (by key). */
  active: string[];
  /** Runs to submit, indexed 0..n-1. */
  runs: PlannedRun[];
  /** VR pre-trainings the runs to submit share, indexed 0..m-1. */
  pretrains: PlannedRun[];
}

/**
 * A run's short description: method, σ, seed (and the task when not diagnosis).
 *
 * @param config The run's config.
 * @returns e.g. `gradprom σ=0.1 seed 0`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runLabel } from "./plan_grid.ts";
 * import { DEFAULT_CONFIG } from "../experiments/config.ts";
 * assert.equal(runLabel(DEFAULT_CONFIG), "gradprom σ=0.1 seed 0");
 * ```
 */
export function runLabel(config: ExperimentConfig): string {
  // Read loosely: the degradation and data fields grow as datasets and degradations are added.
  const d = config.degradation as { kind: string } & Record<string, unknown>;
  const degradation = d.kind === "gaussian"
    ? `σ=${d.sigma}`
    : d.kind === "bicubic"
    ? `bicubic ×${d.factor}`
    : d.kind === "poisson"
    ? `poisson ${d.photons} photons`
    : d.kind === "blur"
    ? `blur σ=${d.blurSigma}`
    : d.kind;
  const data = config.data as { dataset: string; task: string };
  const extra = [
    ...(data.dataset === DEFAULT_CONFIG.data.dataset ? [] : [data.dataset]),
    ...(data.task === "diagnosis" ? [] : [data.task]),
  ];
  return `${config.method} ${degradation} seed ${config.seed}` +
    (extra.length ? ` (${extra.join(", ")})` : "");
}

/**
 * Plans a grid's submission.
 *
 * @param entries The runs of the grids (duplicates by cache key are dropped).
 * @param options `cache`: the results cache (default `$GRADPROM_CACHE` or `results/cache`);
 *   `active`: cache keys already queued or running (not submitted again).
 * @returns What is cached, what is queued elsewhere, and the runs and pre-trainings to submit.
 * @example
 * ```ts ignore
 * const entries = getExperiment("table1-isic-denoise").grid("smoke")
 *   .map((config) => ({ experiment: "table1-isic-denoise", config }));
 * const plan = await planGrid(entries);
 * console.log(plan.total, plan.cached, plan.runs.length); // 5 0 5 on an empty cache
 * ```
 */
export async function planGrid(
  entries: GridEntry[],
  options: { cache?: ResultsCache; active?: Set<string> } = {},
): Promise<GridPlan> {
  const cache = options.cache ?? new ResultsCache();
  const seen = new Set<string>();
  const plan: GridPlan = { total: 0, cached: 0, active: [], runs: [], pretrains: [] };
  const pretrainOf = new Map<string, number>();
  for (const e of entries) {
    const key = await runKey(e.config);
    if (seen.has(key)) continue;
    seen.add(key);
    plan.total++;
    if (await cache.get("runs", key)) {
      plan.cached++;
      continue;
    }
    if (options.active?.has(key)) {
      plan.active.push(key);
      continue;
    }
    // Runs sharing every VR pre-training (as runGrid groups them) wait for one task.
    const c = e.config;
    const group = await sharedPretrainingKey(c);
    let pre = pretrainOf.get(group);
    if (pre === undefined) {
      pre = plan.pretrains.length;
      pretrainOf.set(group, pre);
      plan.pretrains.push({
        index: pre,
        experiment: e.experiment,
        label: `VR pre-training, ${c.data.task}, seed ${c.seed}`,
        key: hashKey({ kind: "slurm-pretrain-group", group }),
        config: c,
      });
    }
    plan.runs.push({
      index: plan.runs.length,
      experiment: e.experiment,
      label: runLabel(c),
      key,
      config: c,
      pretrain: pre,
    });
  }
  return plan;
}
