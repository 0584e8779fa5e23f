/**
 * The Slurm branch of `deno task experiment` and `deno task reproduce`:
 * `--slurm` submits the grid's missing runs as job arrays (`--dry-run` prints
 * the scripts instead), `--collect` checks that every run is in the cache and
 * otherwise lists what is missing, with the state and log of each.
 *
 * @module
 */
import { resolve } from "node:path";
import type { ExperimentConfig } from "../experiments/config.ts";
import { NOTEBOOKS } from "../experiments/notebook_index.ts";
import { getExperiment, type Profile } from "../experiments/registry.ts";
import { ResultsCache } from "../experiments/results_cache.ts";
import { formatMissing, formatStatusLine, gridStatus } from "./grid_status.ts";
import type { GridEntry } from "./plan_grid.ts";
import { submitGrid } from "./submit_grid.ts";

/** The parseArgs options the Slurm branch adds to a tool. */
export const SLURM_ARGS = {
  slurm: { type: "boolean" },
  partition: { type: "string" },
  "gpus-per-task": { type: "string" },
  time: { type: "string" },
  "dry-run": { type: "boolean" },
  collect: { type: "boolean" },
  cache: { type: "string" },
} as const;

/** The values of {@link SLURM_ARGS} after parseArgs. */
export interface SlurmArgValues {
  slurm?: boolean;
  partition?: string;
  "gpus-per-task"?: string;
  time?: string;
  "dry-run"?: boolean;
  collect?: boolean;
  cache?: string;
}

/** Usage lines of the Slurm options, for a tool's help. */
export const SLURM_USAGE =
  `  --slurm [--partition P] [--gpus-per-task N] [--time HH:MM:SS] [--dry-run]
                 submit the runs missing from the cache as a Slurm job array (one task per run);
                 --dry-run prints the batch scripts and the runs without submitting
  --collect      check every run is in the cache; list what is missing (state, log) and exit 1
  --cache DIR    results cache (default $GRADPROM_CACHE or results/cache); on a cluster, a
                 path every node sees`;

/**
 * Applies `--cache` (sets `GRADPROM_CACHE` for this process and the tasks) and
 * checks the Slurm options are used with `--slurm`.
 *
 * @param values Parsed arguments.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applySlurmArgs } from "./slurm_cli.ts";
 * assert.throws(() => applySlurmArgs({ partition: "gpu" }), {
 *   message: "Expected --partition together with --slurm but found it alone",
 * });
 * ```
 */
export function applySlurmArgs(values: SlurmArgValues): void {
  if (values.cache) Deno.env.set("GRADPROM_CACHE", resolve(values.cache));
  for (const k of ["partition", "gpus-per-task", "time", "dry-run"] as const) {
    if (values[k] !== undefined && !values.slurm) {
      throw new TypeError(`Expected --${k} together with --slurm but found it alone`);
    }
  }
  if (values.slurm && values.collect) {
    throw new TypeError("Expected one of --slurm and --collect but found both");
  }
}

/**
 * The runs of the experiments of the notebooks `deno task reproduce` would execute.
 *
 * @param profile The profile.
 * @param options Seeds, data folder, and reproduce's `--only NAME` / `--all`.
 * @returns The runs, each with its experiment id.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getExperiment } from "../experiments/registry.ts";
 * import { reproduceEntries } from "./slurm_cli.ts";
 * // One notebook: the runs of its experiment's grid.
 * const only = "table1_isic_denoise";
 * const table1 = reproduceEntries("quick", { seeds: 1, dataRoot: null, only });
 * assert.equal(table1.length, getExperiment("table1-isic-denoise").grid("quick", { seeds: 1 }).length);
 * assert.ok(table1.every((e) => e.experiment === "table1-isic-denoise"));
 * ```
 */
export function reproduceEntries(
  profile: Profile,
  options: { seeds: number; dataRoot: string | null; only?: string; all?: boolean },
): GridEntry[] {
  const notebooks = options.only
    ? NOTEBOOKS.filter((n) => n.name === options.only)
    : NOTEBOOKS.filter((n) => options.all || !n.extra);
  if (!notebooks.length) {
    throw new RangeError(
      `No notebook named ${options.only}; known: ${NOTEBOOKS.map((n) => n.name)}`,
    );
  }
  return notebooks.flatMap((n) => n.experiments).flatMap((id) =>
    getExperiment(id).grid(profile, options).map((config: ExperimentConfig) => ({
      experiment: id,
      config,
    }))
  );
}

/**
 * Runs the Slurm branch of a tool.
 *
 * @param entries The runs of the grids.
 * @param values Parsed arguments (`--slurm`, `--collect`, …).
 * @param options `tool`: name for messages (e.g. `reproduce`); `command`: the command line.
 * @returns An exit code when the branch handled the call (submission, dry run, or
 *   `--collect` with runs missing), or null to go on (no Slurm option, or
 *   `--collect` with every run in the cache).
 * @example
 * ```ts ignore
 * const code = await slurmBranch(entries, { slurm: true, "dry-run": true }, {
 *   tool: "experiment",
 *   command: "deno task experiment table1-isic-denoise --slurm --dry-run",
 * });
 * ```
 */
export async function slurmBranch(
  entries: GridEntry[],
  values: SlurmArgValues,
  options: { tool: string; command: string; env?: Record<string, string> },
): Promise<number | null> {
  const cache = new ResultsCache();
  if (values.slurm) {
    const gpus = values["gpus-per-task"];
    if (gpus !== undefined && !(Number.isInteger(Number(gpus)) && Number(gpus) >= 1)) {
      throw new RangeError(`Expected --gpus-per-task ≥ 1 but found ${gpus}`);
    }
    const r = await submitGrid(entries, {
      cache,
      partition: values.partition,
      gpusPerTask: gpus === undefined ? undefined : Number(gpus),
      time: values.time,
      dryRun: values["dry-run"],
      command: options.command,
      env: options.env,
    });
    if (values["dry-run"] && r.scripts.runs) {
      console.log(`# ${r.jobDir}/pretrain.sbatch\n${r.scripts.pretrain}`);
      console.log(`# ${r.jobDir}/runs.sbatch\n${r.scripts.runs}`);
      console.log(`# would run:\n${r.commands.map((c) => `#   ${c}`).join("\n")}\n`);
    }
    console.error(`${options.tool}: ${r.message}`);
    if (!r.submitted) {
      console.error(formatStatusLine(await gridStatus(entries, { cache, env: options.env })));
    } else {
      console.error(
        `${options.tool}: follow with \`squeue --me\`; when the arrays are done: ` +
          `deno task ${options.tool} --collect (same options)`,
      );
    }
    return 0;
  }
  if (values.collect) {
    const s = await gridStatus(entries, { cache, env: options.env });
    console.error(formatStatusLine(s));
    if (s.counts.done === s.runs.length) return null;
    console.error(
      `${options.tool}: ${s.runs.length - s.counts.done} of ${s.runs.length} runs are not in the ` +
        `cache (${cache.dir}), so the tables would be partial; missing:`,
    );
    for (const l of formatMissing(s)) console.error(l);
    if (s.counts.failed || s.counts["not submitted"]) {
      console.error(
        `${options.tool}: submit the missing runs again with --slurm (same options): a failed or ` +
          `pre-empted run resumes from its last checkpoint`,
      );
    }
    return 1;
  }
  return null;
}
