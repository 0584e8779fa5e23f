/**
 * Where each run of a grid stands: in the cache (done), queued or running in
 * a Slurm array (`squeue`), failed (its task's exit code, else `sacct`, else
 * `sacct -c` from the job-completion log when there is no slurmdbd), or never
 * submitted; with the failed task's log path.
 *
 * @module
 */
import { ResultsCache } from "../experiments/results_cache.ts";
import { runKey } from "../experiments/run_experiment.ts";
import { runCommand } from "./_command.ts";
import {
  type JobFolder,
  type JobRun,
  listJobFolders,
  readTaskRecord,
  taskLog,
} from "./_job_folder.ts";
import { type GridEntry, runLabel } from "./plan_grid.ts";

/** The state of one run. */
export type RunState = "done" | "running" | "pending" | "failed" | "not submitted";

/** One run's state. */
export interface RunStatus {
  experiment: string;
  label: string;
  key: string;
  state: RunState;
  /** Why: an exit code, a Slurm state or reason (e.g. `exit 1`, `TIMEOUT`, `Dependency`). */
  detail?: string;
  /** The array task, `<job id>_<index>`. */
  task?: string;
  /** The task's log (for a run whose pre-training failed, the pre-training's log). */
  log?: string;
}

/** Status of a grid. */
export interface GridStatus {
  runs: RunStatus[];
  counts: Record<RunState, number>;
}

/** Options of {@link gridStatus}. */
export interface GridStatusOptions {
  cache?: ResultsCache;
  /** Extra environment for squeue/sacct (e.g. `SLURM_CONF`). */
  env?: Record<string, string>;
}

/**
 * The state of every run of a grid.
 *
 * @param entries The runs of the grids.
 * @param options Cache, environment.
 * @returns Every run's state and the counts per state.
 * @example
 * ```ts ignore
 * const s = await gridStatus(entries);
 * console.log(formatStatusLine(s)); // slurm: 5 runs: 3 done, 1 running, 1 pending, 0 failed
 * ```
 */
export async function gridStatus(
  entries: GridEntry[],
  options: GridStatusOptions = {},
): Promise<GridStatus> {
  const cache = options.cache ?? new ResultsCache();
  const env = options.env ?? {};
  const folders = await listJobFolders(cache.dir);
  // The newest submission of each run key.
  const where = new Map<string, { folder: JobFolder; run: JobRun }>();
  for (const folder of folders) {
    for (const run of folder.record.runs) {
      if (!where.has(run.key)) where.set(run.key, { folder, run });
    }
  }
  // Only asked when a run not in the cache was submitted (a workstation without Slurm never needs it).
  let queue: Map<string, { state: string; reason: string }> | undefined;
  const sacct = new SacctStates(env);
  const runs: RunStatus[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const key = await runKey(e.config);
    if (seen.has(key)) continue;
    seen.add(key);
    const base = { experiment: e.experiment, label: runLabel(e.config), key };
    if (await cache.get("runs", key)) {
      runs.push({ ...base, state: "done" });
      continue;
    }
    const w = where.get(key);
    if (!w) {
      runs.push({ ...base, state: "not submitted" });
      continue;
    }
    queue ??= await squeueStates(env);
    runs.push({ ...base, ...(await taskState(w.folder, "runs", w.run, queue, sacct)) });
    const last = runs[runs.length - 1];
    // A run that never started because its pre-training failed: point at the pre-training.
    if (last.state === "failed" && !last.log && w.run.pretrain !== undefined) {
      const pre = w.folder.record.pretrains[w.run.pretrain];
      const p = pre && (await taskState(w.folder, "pretrain", pre, queue, sacct));
      if (p && p.state === "failed") {
        last.detail = `its VR pre-training (task ${p.task}) failed: ${p.detail}`;
        last.log = p.log;
      }
    }
  }
  const counts: Record<RunState, number> = {
    done: 0,
    running: 0,
    pending: 0,
    failed: 0,
    "not submitted": 0,
  };
  for (const r of runs) counts[r.state]++;
  return { runs, counts };
}

/**
 * The short status line: `slurm: 5 runs: 3 done, 1 running, 1 pending, 0 failed`
 * (and `, N not submitted` when some are).
 *
 * @param s A grid's status.
 * @returns One line.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStatusLine } from "./grid_status.ts";
 * const counts = { done: 3, running: 1, pending: 1, failed: 0, "not submitted": 0 };
 * assert.equal(
 *   formatStatusLine({ runs: [], counts }),
 *   "slurm: 5 runs: 3 done, 1 running, 1 pending, 0 failed",
 * );
 * ```
 */
export function formatStatusLine(s: GridStatus): string {
  const c = s.counts;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  return `slurm: ${total} runs: ${c.done} done, ${c.running} running, ${c.pending} pending, ` +
    `${c.failed} failed` + (c["not submitted"] ? `, ${c["not submitted"]} not submitted` : "");
}

/**
 * The runs that are not done, one line each with their state, task and log.
 *
 * @param s A grid's status.
 * @returns Lines (empty when every run is done).
 * @example
 * ```ts ignore
 * for (const line of formatMissing(await gridStatus(entries))) console.error(line);
 * //   table1-isic-denoise  joint σ=0.1 seed 0  failed (exit 1), task 41_1, log: …/logs/41_1.log
 * ```
 */
export function formatMissing(s: GridStatus): string[] {
  const missing = s.runs.filter((r) => r.state !== "done");
  const w = [
    Math.max(...missing.map((r) => r.experiment.length), 0),
    Math.max(...missing.map((r) => r.label.length), 0),
  ];
  return missing.map((r) =>
    `  ${r.experiment.padEnd(w[0])}  ${r.label.padEnd(w[1])}  ${r.state}` +
    (r.detail ? ` (${r.detail})` : "") + (r.task ? `, task ${r.task}` : "") +
    (r.log ? `, log: ${r.log}` : "")
  );
}

async function taskState(
  folder: JobFolder,
  kind: "runs" | "pretrain",
  run: JobRun,
  queue: Map<string, { state: string; reason: string }>,
  sacct: SacctStates,
): Promise<Omit<RunStatus, "experiment" | "label" | "key">> {
  const jobId = kind === "runs" ? folder.record.runsJobId! : folder.record.pretrainJobId!;
  const task = `${jobId}_${run.index}`;
  const log = taskLog(folder.dir, kind, jobId, run.index);
  const q = queue.get(task);
  if (q) {
    const state = q.state === "PENDING" || q.state === "REQUEUED" ? "pending" : "running";
    const detail = q.state === "PENDING"
      ? (q.reason && q.reason !== "None" ? q.reason : undefined)
      : q.state === "RUNNING"
      ? undefined
      : q.state;
    return { state, detail, task, log: state === "running" ? log : undefined };
  }
  const rec = await readTaskRecord(folder.dir, kind, run.index);
  if (rec?.exitCode !== undefined) {
    // Killed by a signal (time limit, scancel): Slurm's own state says more than "exit 143".
    const signalled = rec.exitCode > 128
      ? await sacct.state(jobId, run.index, rec.slurmJobId) ??
        `killed by signal ${rec.exitCode - 128}`
      : undefined;
    return {
      state: kind === "pretrain" && rec.exitCode === 0 ? "done" : "failed",
      detail: rec.exitCode === 0
        ? "exited 0 but its result is not in the cache"
        : signalled ?? `exit ${rec.exitCode}`,
      task,
      log,
    };
  }
  // Started but never wrote its exit code (killed: time limit, cancel, node failure), or never started.
  const slurmState = await sacct.state(jobId, run.index, rec?.slurmJobId);
  return {
    state: "failed",
    detail: slurmState ?? (rec ? "ended without an exit code" : "never started"),
    task,
    log: rec ? log : undefined,
  };
}

/** Array tasks in the queue (`squeue -r`): `<job>_<index>` → state and reason. */
async function squeueStates(
  env: Record<string, string>,
): Promise<Map<string, { state: string; reason: string }>> {
  const out = new Map<string, { state: string; reason: string }>();
  const r = await runCommand("squeue", ["--me", "-h", "-r", "-o", "%i|%T|%r"], env);
  if (r.code !== 0) {
    // Without the queue, a queued run would look failed (and be submitted twice): say so instead.
    throw new Error(
      `Expected squeue to list the queue but it failed (exit ${r.code}): ` +
        `${r.stderr.trim() || r.stdout.trim()}; run this where Slurm's commands work`,
    );
  }
  for (const line of r.stdout.split("\n")) {
    const [id, state, reason] = line.trim().split("|");
    if (id) out.set(id, { state, reason: reason ?? "" });
  }
  return out;
}

/**
 * Final states of finished tasks from `sacct` (array-aware, needs slurmdbd), else
 * from `sacct -c` (the job-completion log, which knows tasks only by their raw job id).
 */
class SacctStates {
  #byJob = new Map<string, Map<string, string>>();
  #completion?: Map<string, string>;
  constructor(readonly env: Record<string, string>) {}

  async state(arrayJobId: string, index: number, rawJobId?: string): Promise<string | undefined> {
    if (!this.#byJob.has(arrayJobId)) {
      const r = await runCommand(
        "sacct",
        ["-j", arrayJobId, "-X", "-n", "-P", "-o", "JobID,State,ExitCode"],
        this.env,
      );
      this.#byJob.set(arrayJobId, r.code === 0 ? parseSacct(r.stdout) : new Map());
    }
    const s = this.#byJob.get(arrayJobId)!.get(`${arrayJobId}_${index}`);
    if (s) return s;
    if (!rawJobId) return undefined;
    if (!this.#completion) {
      const r = await runCommand(
        "sacct",
        ["-c", "-n", "-P", "-o", "JobID,State,ExitCode"],
        this.env,
      );
      this.#completion = r.code === 0 ? parseSacct(r.stdout) : new Map();
    }
    return this.#completion.get(rawJobId);
  }
}

function parseSacct(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [id, state, exit] = line.trim().split("|");
    if (id && state) out.set(id, exit && exit !== "0:0" ? `${state} ${exit}` : state);
  }
  return out;
}
