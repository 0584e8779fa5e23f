/**
 * The results of one registered experiment for a figure: from the results
 * cache, running what it lacks unless the context forbids it.
 *
 * @module
 */
import { type ExperimentSpec, getExperiment, type Profile } from "../experiments/registry.ts";
import type { ResultsCache } from "../experiments/results_cache.ts";
import { runKey, type RunResult } from "../experiments/run_experiment.ts";
import { runGrid } from "../experiments/run_grid.ts";
import { summarize, type TableRow } from "../experiments/summarize.ts";

/** What a figure is built from: the run profile and where results live. */
export interface FigureContext {
  profile: Profile;
  /** Seeds per grid cell. */
  seeds: number;
  /** Real dataset folder, or null for the embedded synthetic data. */
  dataRoot: string | null;
  cache: ResultsCache;
  /**
   * Run the experiments the cache lacks (default true). When false, a missing
   * run is an error that names it.
   */
  runMissing?: boolean;
}

/** An experiment's grid results and its summary table rows. */
export interface ExperimentResults {
  spec: ExperimentSpec;
  results: RunResult[];
  rows: TableRow[];
}

/**
 * The results of experiment `id` on the context's profile, seeds and data,
 * in grid order, with its summary rows.
 *
 * @param ctx The figure context.
 * @param id An experiment id of `lib/experiments/registry.ts`.
 * @returns The spec, the runs and `summarize(spec, runs)`.
 * @throws {RangeError} On an unknown id. {Error} When `ctx.runMissing` is false and runs are missing.
 * @example
 * ```ts ignore
 * import { ResultsCache } from "../experiments/results_cache.ts";
 * import { experimentResults } from "./experiment_results.ts";
 * const ctx = { profile: "quick" as const, seeds: 1, dataRoot: null, cache: new ResultsCache() };
 * const { rows } = await experimentResults(ctx, "table1-isic-denoise");
 * ```
 */
export async function experimentResults(
  ctx: FigureContext,
  id: string,
): Promise<ExperimentResults> {
  const spec = getExperiment(id);
  const configs = spec.grid(ctx.profile, { seeds: ctx.seeds, dataRoot: ctx.dataRoot });
  if (ctx.runMissing === false) {
    const missing: string[] = [];
    for (const c of configs) {
      if (!(await ctx.cache.get("runs", await runKey(c)))) {
        missing.push(`${c.method} σ=${c.degradation.sigma} seed ${c.seed}`);
      }
    }
    if (missing.length) {
      throw new Error(
        `Experiment ${id} (${ctx.profile} profile, ${ctx.seeds} seed(s)) lacks ${missing.length} ` +
          `of ${configs.length} runs in ${ctx.cache.dir}: ${missing.slice(0, 4).join(", ")}` +
          `${missing.length > 4 ? ", …" : ""}; ` +
          `run \`deno task experiment ${id} --profile ${ctx.profile} --seeds ${ctx.seeds}\` first`,
      );
    }
  }
  const results = await runGrid(configs, { cache: ctx.cache });
  return { spec, results, rows: summarize(spec, results) };
}
