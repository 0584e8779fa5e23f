/**
 * The batch script of a grid's Slurm job array: one array task per run, each
 * running the command a user runs by hand for one run
 * (`deno task train --config <job>/configs/<task>.json`).
 *
 * @module
 */
import { join } from "node:path";

/** One line of the run list printed at the top of the script. */
export interface ScriptRun {
  /** Array task index. */
  index: number;
  experiment: string;
  /** e.g. `gradprom σ=0.1 seed 0`. */
  label: string;
  /** The run's cache key. */
  key: string;
}

/** Options of {@link renderBatchScript}. */
export interface BatchScriptOptions {
  /** `runs`: train the runs; `pretrain`: only the VR pre-trainings they share (`--pretrain-only`). */
  kind: "runs" | "pretrain";
  /** The job folder (absolute): holds `configs/` (or `pretrain/`), `logs/`, `tasks/`. */
  jobDir: string;
  /** The results cache (absolute), on a filesystem every node sees. */
  cacheDir: string;
  /** The repository (absolute) the tasks run in. */
  repoRoot: string;
  /** Absolute path of the deno binary the tasks use. */
  denoPath: string;
  /** The runs, in array-index order (index i runs `configs/i.json`). */
  runs: ScriptRun[];
  /** Slurm partition (`--partition`). */
  partition?: string;
  /** GPUs per task (`--gpus-per-task`). */
  gpusPerTask?: number;
  /** Time limit per task, `[D-]HH:MM:SS` (`--time`). */
  time?: string;
  /** CPUs per task (default 1: the wasm backend runs on one thread). */
  cpusPerTask?: number;
  /** At most this many tasks at once (`--array=0-N%M`). */
  maxParallel?: number;
  /** How the script was made, for its header (e.g. the command line). */
  generatedBy?: string;
}

/**
 * Where the log of array task `%A_%a` goes, for a script kind.
 *
 * @param jobDir The job folder.
 * @param kind `runs` or `pretrain`.
 * @returns The `--output` pattern.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logPattern } from "./batch_script.ts";
 * assert.equal(logPattern("/c/slurm/j", "runs"), "/c/slurm/j/logs/%A_%a.log");
 * ```
 */
export function logPattern(jobDir: string, kind: "runs" | "pretrain"): string {
  return join(jobDir, "logs", `${kind === "pretrain" ? "pretrain_" : ""}%A_%a.log`);
}

/**
 * Renders a Slurm batch script for `sbatch`: a commented header listing the
 * runs, `#SBATCH` directives (`--array`, `--requeue`, the log path, and the
 * partition / GPUs / time limit when given), then the task body, which records
 * its start and exit code in `<job>/tasks/<task>.status` and runs one config.
 *
 * @param o What to run and where.
 * @returns The script's text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderBatchScript } from "./batch_script.ts";
 * const script = renderBatchScript({
 *   kind: "runs",
 *   jobDir: "/shared/cache/slurm/job1",
 *   cacheDir: "/shared/cache",
 *   repoRoot: "/shared/gradprom",
 *   denoPath: "/opt/deno/bin/deno",
 *   runs: [{ index: 0, experiment: "table1-isic-denoise", label: "joint σ=0.1 seed 0", key: "ab12" }],
 *   partition: "gpu",
 *   time: "04:00:00",
 * });
 * assert.ok(script.includes("#SBATCH --array=0-0"));
 * ```
 */
export function renderBatchScript(o: BatchScriptOptions): string {
  if (!o.runs.length) throw new RangeError("Expected at least one run but found none");
  o.runs.forEach((r, i) => {
    if (r.index !== i) {
      throw new RangeError(`Expected run ${i} to have array index ${i} but found ${r.index}`);
    }
  });
  if (o.time !== undefined && !/^(\d+-)?\d{1,3}:\d{2}:\d{2}$/.test(o.time)) {
    throw new RangeError(`Expected --time as [D-]HH:MM:SS but found "${o.time}"`);
  }
  for (
    const [name, v] of [["gpusPerTask", o.gpusPerTask], ["cpusPerTask", o.cpusPerTask], [
      "maxParallel",
      o.maxParallel,
    ]] as const
  ) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) {
      throw new RangeError(`Expected ${name} to be an integer ≥ 1 but found ${v}`);
    }
  }
  for (const p of [o.jobDir, o.cacheDir, o.repoRoot, o.denoPath]) {
    if (!p.startsWith("/")) throw new TypeError(`Expected an absolute path but found "${p}"`);
  }
  const pre = o.kind === "pretrain";
  const n = o.runs.length;
  const configDir = join(o.jobDir, pre ? "pretrain" : "configs");
  const cols = (cells: string[], widths: number[]) =>
    cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const widths = [
    4,
    Math.max(10, ...o.runs.map((r) => r.experiment.length)),
    Math.max(5, ...o.runs.map((r) => r.label.length)),
  ];
  const table = [
    cols(["task", "experiment", pre ? "what" : "run", pre ? "group key" : "cache key"], widths),
    ...o.runs.map((r) =>
      cols([String(r.index), r.experiment, r.label, r.key.slice(0, 12)], widths)
    ),
  ].map((l) => `#   ${l}`).join("\n");
  const what = pre
    ? `the VR pre-trainings (Benchmark-ii) the runs share, one task each; the runs' array\n` +
      `# waits for this one (afterok)`
    : `one array task per run of the grid`;
  const sbatch = [
    `--job-name=gradprom-${pre ? "pretrain" : "runs"}`,
    `--array=0-${n - 1}${o.maxParallel ? `%${o.maxParallel}` : ""}`,
    `--ntasks=1`,
    `--cpus-per-task=${o.cpusPerTask ?? 1}`,
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.gpusPerTask ? [`--gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.time ? [`--time=${o.time}`] : []),
    `--output=${logPattern(o.jobDir, o.kind)}`,
    `--open-mode=append`,
    `--requeue`,
    `--chdir=${o.repoRoot}`,
  ].map((d) => `#SBATCH ${d}`).join("\n");
  const q = shellQuote;
  const status = `"$JOB_DIR/tasks/${pre ? "pretrain_" : ""}$task.status"`;
  return `#!/bin/bash
#
# GradProm on Slurm: ${what}.
${o.generatedBy ? `# Generated by: ${o.generatedBy}\n` : ""}#
${table}
#
# Each task runs what a user runs by hand for one run, in ${o.repoRoot}:
#   deno task train --config ${configDir}/<task>.json${pre ? " --pretrain-only" : ""}
# Results and checkpoints go to the results cache, which every node must see:
#   ${o.cacheDir}
# --requeue: a pre-empted task starts again and resumes from its last checkpoint; its log
# (--open-mode=append) keeps both attempts. A failed or timed-out task is not retried: submit
# the grid again and only the runs missing from the cache are submitted, resuming where they stopped.
${sbatch}

set -uo pipefail
JOB_DIR=${q(o.jobDir)}
DENO=${q(o.denoPath)}
export GRADPROM_CACHE=${q(o.cacheDir)}
export NO_COLOR=1
export PATH="$(dirname "$DENO"):$PATH"
task=\${SLURM_ARRAY_TASK_ID:?run this script with sbatch --array}
cd ${q(o.repoRoot)}
echo "== task \${SLURM_ARRAY_JOB_ID}_$task (job $SLURM_JOB_ID, restart \${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -u +%FT%TZ)"
echo "start $SLURM_JOB_ID \${SLURM_RESTART_COUNT:-0} $(date -u +%FT%TZ)" >> ${status}
"$DENO" task train --config "$JOB_DIR/${pre ? "pretrain" : "configs"}/$task.json"${
    pre ? " --pretrain-only" : ""
  }
code=$?
echo "exit $code $(date -u +%FT%TZ)" >> ${status}
echo "== task \${SLURM_ARRAY_JOB_ID}_$task exited with $code at $(date -u +%FT%TZ)"
exit $code
`;
}

/** Quotes a string for bash (single quotes unless it is plainly safe). */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
