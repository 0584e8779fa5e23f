/**
 * The job folder of one submission, `<cache>/slurm/<UTC time>-<hash>/`:
 *
 * ```
 * job.json              what was submitted: job ids, runs (index, key, label), cache, command
 * runs.tsv              the same run list, for people
 * runs.sbatch           the batch script of the runs' array
 * pretrain.sbatch       the batch script of the VR pre-trainings' array
 * configs/<i>.json      the config of run i;   pretrain/<i>.json  the config of pre-training i
 * logs/<A>_<i>.log      task i's log;          logs/pretrain_<A>_<i>.log
 * tasks/<i>.status      "start <job id> <restart> <time>" / "exit <code> <time>" lines, per attempt
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { readFile } from "node:fs/promises";

/** A run as recorded in `job.json`. */
export interface JobRun {
  index: number;
  experiment: string;
  label: string;
  key: string;
  /** Runs only: the pre-training task it waits for. */
  pretrain?: number;
}

/** The content of `job.json`. */
export interface JobRecord {
  format: "gradprom-slurm-job-v1";
  submittedAt: string;
  command: string;
  cacheDir: string;
  /** Slurm job ids of the two arrays (null before submission, or when there is none). */
  runsJobId: string | null;
  pretrainJobId: string | null;
  runs: JobRun[];
  pretrains: JobRun[];
}

/** A job folder and its record. */
export interface JobFolder {
  dir: string;
  record: JobRecord;
}

/** The folder holding every job folder of a cache. */
export function jobsRoot(cacheDir: string): string {
  return join(cacheDir, "slurm");
}

/** Every submitted job folder of a cache, newest first. */
export async function listJobFolders(cacheDir: string): Promise<JobFolder[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(jobsRoot(cacheDir))) if (e.isDirectory) names.push(e.name);
  } catch {
    return [];
  }
  names.sort().reverse(); // names start with a sortable UTC time
  const out: JobFolder[] = [];
  for (const name of names) {
    const dir = join(jobsRoot(cacheDir), name);
    try {
      const record = JSON.parse(await readFile(join(dir, "job.json"), "utf8")) as JobRecord;
      if (record.format === "gradprom-slurm-job-v1" && record.runsJobId) out.push({ dir, record });
    } catch {
      // a folder being written, or not ours
    }
  }
  return out;
}

/** Path of a task's log. */
export function taskLog(dir: string, kind: "runs" | "pretrain", jobId: string, index: number) {
  return join(dir, "logs", `${kind === "pretrain" ? "pretrain_" : ""}${jobId}_${index}.log`);
}

/** What a task's status file says about its last attempt. */
export interface TaskRecord {
  /** Raw Slurm job id of the task (SLURM_JOB_ID), from its last start line. */
  slurmJobId?: string;
  /** Exit code of the last attempt, when it got to write one. */
  exitCode?: number;
  /** Attempts started. */
  starts: number;
}

/** Reads `tasks/<i>.status` (undefined if the task never started). */
export async function readTaskRecord(
  dir: string,
  kind: "runs" | "pretrain",
  index: number,
): Promise<TaskRecord | undefined> {
  let text: string;
  try {
    text = await readFile(
      join(dir, "tasks", `${kind === "pretrain" ? "pretrain_" : ""}${index}.status`),
      "utf8",
    );
  } catch {
    return undefined;
  }
  const rec: TaskRecord = { starts: 0 };
  for (const line of text.split("\n")) {
    const [word, a] = line.split(" ");
    if (word === "start") {
      rec.starts++;
      rec.slurmJobId = a;
      rec.exitCode = undefined;
    } else if (word === "exit") {
      rec.exitCode = Number(a);
    }
  }
  return rec;
}
