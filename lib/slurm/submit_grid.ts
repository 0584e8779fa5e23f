/**
 * Submits the runs of a grid that the results cache does not hold as Slurm job
 * arrays: one array of the VR pre-trainings the runs share, and one array of
 * the runs (one task per run) that starts when the first has succeeded.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { mkdir } from "node:fs/promises";
import { REPO_ROOT, ResultsCache, writeFileAtomic } from "../experiments/results_cache.ts";
import { runCommand } from "./_command.ts";
import { type JobRecord, jobsRoot } from "./_job_folder.ts";
import { type BatchScriptOptions, renderBatchScript } from "./batch_script.ts";
import { gridStatus } from "./grid_status.ts";
import { type GridEntry, type GridPlan, planGrid } from "./plan_grid.ts";
import { hashKey } from "../experiments/results_cache.ts";

/** Options of {@link submitGrid}. */
export interface SubmitOptions {
  cache?: ResultsCache;
  partition?: string;
  gpusPerTask?: number;
  /** Time limit per task, `[D-]HH:MM:SS`. */
  time?: string;
  cpusPerTask?: number;
  maxParallel?: number;
  /** Print nothing to Slurm; return the scripts and the plan. */
  dryRun?: boolean;
  /** Extra environment for sbatch/squeue/sacct (e.g. `SLURM_CONF`). */
  env?: Record<string, string>;
  /** The deno binary the tasks run (default: the one running this, `Deno.execPath()`). */
  denoPath?: string;
  /** The command line, recorded in the script's header. */
  command?: string;
  /** Submission time (default now), names the job folder. */
  now?: Date;
}

/** What {@link submitGrid} did. */
export interface SubmitResult {
  plan: GridPlan;
  /** True when arrays were submitted. */
  submitted: boolean;
  /** The job folder (also set for a dry run: where it would be). */
  jobDir?: string;
  runsJobId?: string;
  pretrainJobId?: string;
  /** The batch scripts (when there is something to submit). */
  scripts: { pretrain?: string; runs?: string };
  /** The sbatch command lines, in order. */
  commands: string[];
  /** One paragraph for people: what was (or would be) submitted, or why nothing. */
  message: string;
}

/**
 * Submits (or, with `dryRun`, only renders) the missing runs of a grid.
 * Runs in the cache, and runs queued or running from an earlier submission,
 * are left out; when nothing is left, nothing is submitted.
 *
 * @param entries The runs of the grids.
 * @param options Slurm resources, cache, dry run.
 * @returns The plan, the scripts, the job ids and a message.
 * @throws If sbatch fails (its message is quoted); a pre-training array already
 *   submitted is cancelled first.
 * @example
 * ```ts ignore
 * const r = await submitGrid(entries, { partition: "gpu", gpusPerTask: 1, time: "08:00:00" });
 * console.log(r.message);
 * ```
 */
export async function submitGrid(
  entries: GridEntry[],
  options: SubmitOptions = {},
): Promise<SubmitResult> {
  const cache = options.cache ?? new ResultsCache();
  const cacheDir = resolve(cache.dir);
  const env = options.env ?? {};
  const status = await gridStatus(entries, { cache, env });
  const active = new Set(
    status.runs.filter((r) => r.state === "pending" || r.state === "running").map((r) => r.key),
  );
  const plan = await planGrid(entries, { cache, active });
  const result: SubmitResult = { plan, submitted: false, scripts: {}, commands: [], message: "" };
  if (!plan.runs.length) {
    result.message = plan.active.length
      ? `${plan.cached} of ${plan.total} runs are in the cache and the other ${plan.active.length} ` +
        `are queued or running from an earlier submission: nothing submitted`
      : `all ${plan.total} runs are in the cache: nothing submitted`;
    return result;
  }
  const now = options.now ?? new Date();
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const jobDir = join(
    jobsRoot(cacheDir),
    `${stamp}-${hashKey(plan.runs.map((r) => r.key)).slice(0, 8)}`,
  );
  result.jobDir = jobDir;
  const common: Omit<BatchScriptOptions, "kind" | "runs"> = {
    jobDir,
    cacheDir,
    repoRoot: REPO_ROOT,
    denoPath: options.denoPath ?? Deno.execPath(),
    partition: options.partition,
    gpusPerTask: options.gpusPerTask,
    time: options.time,
    cpusPerTask: options.cpusPerTask,
    maxParallel: options.maxParallel,
    generatedBy: options.command,
  };
  result.scripts.pretrain = renderBatchScript({
    ...common,
    kind: "pretrain",
    runs: plan.pretrains,
  });
  result.scripts.runs = renderBatchScript({ ...common, kind: "runs", runs: plan.runs });
  const preScript = join(jobDir, "pretrain.sbatch");
  const runsScript = join(jobDir, "runs.sbatch");
  result.commands = [
    `sbatch --parsable ${preScript}`,
    `sbatch --parsable --dependency=afterok:<pre-training job id> --kill-on-invalid-dep=yes ${runsScript}`,
  ];
  const what = `${plan.runs.length} run${plan.runs.length > 1 ? "s" : ""} (${plan.cached} of ` +
    `${plan.total} in the cache${
      plan.active.length ? `, ${plan.active.length} queued or running` : ""
    }` +
    `) after ${plan.pretrains.length} VR pre-training${plan.pretrains.length > 1 ? "s" : ""}`;
  if (options.dryRun) {
    result.message = `dry run: would submit ${what}; job folder ${jobDir}`;
    return result;
  }

  // The job folder: configs, scripts, run list, record; then the two arrays.
  await mkdir(join(jobDir, "logs"), { recursive: true });
  await mkdir(join(jobDir, "tasks"), { recursive: true });
  for (const r of plan.runs) {
    await writeFileAtomic(
      join(jobDir, "configs", `${r.index}.json`),
      JSON.stringify(r.config, null, 1),
    );
  }
  for (const p of plan.pretrains) {
    await writeFileAtomic(
      join(jobDir, "pretrain", `${p.index}.json`),
      JSON.stringify(p.config, null, 1),
    );
  }
  await writeFileAtomic(preScript, result.scripts.pretrain);
  await writeFileAtomic(runsScript, result.scripts.runs);
  await writeFileAtomic(
    join(jobDir, "runs.tsv"),
    [
      "task\texperiment\trun\tkey\tpretrain_task",
      ...plan.runs.map((r) => [r.index, r.experiment, r.label, r.key, r.pretrain].join("\t")),
    ].join("\n") + "\n",
  );
  const strip = ({ index, experiment, label, key, pretrain }: GridPlan["runs"][number]) => ({
    index,
    experiment,
    label,
    key,
    ...(pretrain !== undefined ? { pretrain } : {}),
  });
  const record: JobRecord = {
    format: "gradprom-slurm-job-v1",
    submittedAt: now.toISOString(),
    command: options.command ?? "",
    cacheDir,
    runsJobId: null,
    pretrainJobId: null,
    runs: plan.runs.map(strip),
    pretrains: plan.pretrains.map(strip),
  };
  const sbatch = async (args: string[]) => {
    const r = await runCommand("sbatch", ["--parsable", ...args], env);
    if (r.code !== 0) {
      throw new Error(
        `sbatch ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r.stdout.trim().split(";")[0]; // --parsable prints "<id>" or "<id>;<cluster>"
  };
  const preId = await sbatch([preScript]);
  record.pretrainJobId = preId;
  try {
    record.runsJobId = await sbatch([
      `--dependency=afterok:${preId}`,
      "--kill-on-invalid-dep=yes",
      runsScript,
    ]);
  } catch (e) {
    await runCommand("scancel", [preId], env);
    throw e;
  }
  await writeFileAtomic(join(jobDir, "job.json"), JSON.stringify(record, null, 1));
  result.submitted = true;
  result.pretrainJobId = preId;
  result.runsJobId = record.runsJobId;
  result.commands[1] = result.commands[1].replace("<pre-training job id>", preId);
  result.message = `submitted ${what}: job ${record.runsJobId} (array of ${plan.runs.length}) ` +
    `after job ${preId} (array of ${plan.pretrains.length}); ` +
    `logs ${join(jobDir, "logs")}/%A_%a.log`;
  return result;
}
