/**
 * The results of one registered experiment for a figure: from the results
 * cache, running what it lacks unless the context forbids it.
 *
 * @module
 */
import type { Profile } from "../experiments/registry.ts";
import type { ResultsCache } from "../experiments/results_cache.ts";
import { type ExperimentReport, experimentReport } from "../experiments/report.ts";

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

/**
 * The report of experiment `id` on the context's profile, seeds and data: its runs in grid order,
 * its summary rows and its checked claims ({@link experimentReport} with the figure context).
 *
 * @param ctx The figure context.
 * @param id An experiment id of `lib/experiments/registry.ts`.
 * @returns The report.
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
): Promise<ExperimentReport> {
  return await experimentReport(id, ctx);
}
