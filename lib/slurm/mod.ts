/**
 * Running experiment grids on a Slurm cluster: plan (grid minus cached runs),
 * batch scripts, submission as job arrays, status and collection.
 *
 * @module
 */
export { type BatchScriptOptions, renderBatchScript, type ScriptRun } from "./batch_script.ts";
export { type GridEntry, type GridPlan, planGrid, type PlannedRun, runLabel } from "./plan_grid.ts";
export {
  formatMissing,
  formatStatusLine,
  type GridStatus,
  gridStatus,
  type GridStatusOptions,
  type RunState,
  type RunStatus,
} from "./grid_status.ts";
export { submitGrid, type SubmitOptions, type SubmitResult } from "./submit_grid.ts";
export { reproduceEntries, slurmBranch } from "./slurm_cli.ts";
