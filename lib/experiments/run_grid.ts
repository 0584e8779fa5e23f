/**
 * Runs a grid of experiments on all cores: cached runs are skipped, the rest
 * are shared among worker processes (the wasm backend uses one thread, so one
 * process per core is how a grid uses the machine).
 *
 * @module
 */
import { join } from "node:path";
import { Progress } from "../train/progress.ts";
import { lines } from "../util/lines.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";
import { type ExperimentConfig, resolveDataPaths } from "./config.ts";
import { describeDegradation } from "./degradation.ts";
import { resolveConfigDataset } from "./_data.ts";
import { ResultsCache } from "./results_cache.ts";
import {
  checkConfig,
  runExperiment,
  runKey,
  type RunResult,
  runWarnings,
} from "./run_experiment.ts";
import { groupBySharedPretraining } from "./vr_pretrain.ts";
import { JOB_DONE_MARKER, WORKER_PATH, type WorkerJob } from "./worker.ts";

/** Options of {@link runGrid}. */
export interface RunGridOptions {
  /**
   * Worker processes (default `$GRADPROM_WORKERS`, else the number of cores, at most 2 per 2
   * cores). `0` runs every run in this process, one after another: the way to run methods,
   * strategies and datasets added at run time (`registerMethod`, `registerStrategy`,
   * `registerDataset`), which worker processes do not see.
   */
  workers?: number;
  cache?: ResultsCache;
  /** Print progress (default true). */
  progress?: boolean;
  /**
   * Run every run again, cached or not (the new results replace the cached ones): each shared
   * VR pre-training is trained again once, first, then the runs reuse it.
   */
  force?: boolean;
}

/** Default number of workers: `$GRADPROM_WORKERS` or the core count. */
export function defaultWorkers(): number {
  const env = Number(Deno.env.get("GRADPROM_WORKERS"));
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/**
 * Runs every config of a grid that the cache does not hold yet, and returns
 * all results in the order of `configs`. Runs that share a VR pre-training
 * (`groupBySharedPretraining`: same data, VR, pre-training settings and seed)
 * wait for the first of them, so it is trained once.
 *
 * Every config is checked first (`checkConfig`), so a bad value stops the grid before any run
 * starts; relative data folders are resolved against the working directory before a worker
 * sees them. Runs whose IP ends below its own input are listed at the end (they keep their
 * results; the tables mark them).
 *
 * @throws If a config is invalid (naming the key), or a worker fails: the error names the run
 *   and quotes its log's end.
 */
export async function runGrid(
  configs: ExperimentConfig[],
  options: RunGridOptions = {},
): Promise<RunResult[]> {
  for (const c of configs) {
    await resolveConfigDataset(c.data);
    checkConfig(c);
  }
  configs = configs.map((c) => resolveDataPaths(c));
  const cache = options.cache ?? new ResultsCache();
  await cache.prepareForWrites(); // before any work: fails at once if results cannot be stored
  const keys = await Promise.all(configs.map(runKey));
  // Each distinct run once: grids that share runs (Table 5 and Table 1, the sweeps) list them twice.
  const missing: number[] = [];
  const seen = new Set<string>();
  let cached = 0;
  for (let i = 0; i < configs.length; i++) {
    if (seen.has(keys[i])) continue;
    seen.add(keys[i]);
    const hit = await cache.get("runs", keys[i]);
    if (hit) cached++;
    if (options.force || !hit) missing.push(i);
  }
  const log = (s: string) => options.progress !== false && console.error(s);
  log(
    `grid: ${seen.size} runs, ${cached} cached, ${missing.length} to run` +
      (options.force ? " (--force: every run again)" : ""),
  );
  const force = !!options.force;
  if (missing.length && options.workers === 0) {
    // In-process: each run trains (or finds in the cache) its VR pre-training itself; forced, the
    // first run of each shared pre-training trains it again and the others reuse it.
    const groups = force ? await groupBySharedPretraining(missing.map((i) => configs[i])) : [];
    const leaders = new Set(groups.map((group) => missing[group[0]]));
    for (const i of missing) {
      await runExperiment(configs[i], {
        cache,
        progress: options.progress,
        force,
        forcePretraining: leaders.has(i),
      });
    }
  } else if (missing.length) {
    const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), missing.length));
    // Each distinct VR pre-training once first (runs sharing one would otherwise all train it).
    const groups = await groupBySharedPretraining(missing.map((i) => configs[i]));
    const leaders = groups.map((group) => missing[group[0]]);
    const threads = Math.max(1, Math.floor((navigator.hardwareConcurrency || 1) / workers));
    const pool = new _WorkerPool(cache, threads);
    try {
      await _runPhases(configs, missing, leaders, workers, pool, force, options.progress !== false);
    } finally {
      await pool.close();
    }
  }
  const results: RunResult[] = [];
  for (let i = 0; i < configs.length; i++) {
    const r = await cache.get<RunResult>("runs", keys[i]);
    if (!r) {
      throw new Error(
        `Run ${configs[i].method} ${
          describeDegradation(configs[i].degradation)
        } finished but is not in the cache`,
      );
    }
    results.push(r);
  }
  const flagged = new Set<string>();
  for (const r of results) {
    if (flagged.has(r.key)) continue;
    flagged.add(r.key);
    for (const w of runWarnings(r.metrics)) {
      log(
        `grid: warning: ${r.config.data.dataset} ${r.config.method} ${
          describeDegradation(r.config.degradation)
        } seed ${r.config.seed}: ${w}`,
      );
    }
  }
  return results;
}

/**
 * The two phases of a grid on worker processes: each distinct VR pre-training once (`leaders`,
 * the first run of each group sharing one), then the runs.
 */
async function _runPhases(
  configs: ExperimentConfig[],
  missing: number[],
  leaders: number[],
  workers: number,
  pool: _WorkerPool,
  force: boolean,
  showProgress: boolean,
): Promise<void> {
  await inParallel(leaders, workers, (i) => pool.run(configs[i], true, force));
  const progress = new Progress("grid", missing.length, {
    enabled: showProgress,
    intervalSeconds: 0,
    unit: "runs",
  });
  let done = 0;
  await inParallel(missing, workers, async (i) => {
    await pool.run(configs[i], false, force);
    progress.update(++done, {
      last: `${configs[i].data.dataset} ${configs[i].method} ${
        describeDegradation(configs[i].degradation)
      }`,
    });
  });
}

/**
 * Runs `job` on every item, at most `workers` at a time. After a job fails no new job starts;
 * the ones under way finish, then the first failure is thrown.
 */
async function inParallel<T>(
  items: T[],
  workers: number,
  job: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  let failure: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(workers, queue.length) }, async () => {
      while (queue.length && !failure) {
        try {
          await job(queue.shift()!);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure) throw failure.error;
}

/**
 * Worker processes that serve jobs one after another (`worker.ts --serve`), started when first
 * needed: a process starts once per worker rather than once per run, and keeps its compiled
 * code, oneDNN primitives and decoded datasets from run to run. A job's output goes to its own
 * log under `<cache>/logs/`, its progress lines to stderr. A worker whose job fails exits (the
 * job's error names the run and quotes its log's end); the next job starts a fresh one.
 */
class _WorkerPool {
  readonly #idle: _Worker[] = [];
  readonly #all = new Set<_Worker>();

  constructor(readonly cache: ResultsCache, readonly threads: number) {}

  /** Runs one config (or only its VR pre-training) on an idle worker. */
  async run(config: ExperimentConfig, pretrainOnly: boolean, force: boolean): Promise<void> {
    const key = await runKey(config);
    const configPath = join(this.cache.dir, "configs", `${key}.json`);
    const logPath = join(this.cache.dir, "logs", `${key}${pretrainOnly ? ".pretrain" : ""}.log`);
    await writeFileAtomic(configPath, JSON.stringify(config, null, 1));
    await Deno.mkdir(join(this.cache.dir, "logs"), { recursive: true });
    const worker = this.#idle.pop() ?? this.#start();
    const file = await Deno.open(logPath, { create: true, write: true, truncate: true });
    let outcome: { ok: boolean; error?: string; tail: string[]; code?: number };
    try {
      outcome = await worker.run(
        // Forced: the pre-training phase trains it again, the runs then reuse it.
        { config: configPath, pretrainOnly, force, keepPretraining: force && !pretrainOnly },
        file,
      );
    } finally {
      file.close();
    }
    if (outcome.ok) {
      this.#idle.push(worker);
      return;
    }
    this.#all.delete(worker);
    await worker.close();
    throw new Error(
      `${pretrainOnly ? "VR pre-training for " : ""}Run ${config.data.dataset} ${config.method} ${
        describeDegradation(config.degradation)
      } ` +
        `seed ${config.seed} failed${
          outcome.code !== undefined ? ` (exit ${outcome.code})` : ""
        }; ` +
        `log: ${logPath}\n${outcome.tail.join("\n")}`,
    );
  }

  /** Ends every worker (their input closes, they exit). */
  async close(): Promise<void> {
    await Promise.all([...this.#all].map((w) => w.close()));
    this.#all.clear();
    this.#idle.length = 0;
  }

  #start(): _Worker {
    const w = new _Worker(this.cache.dir, this.threads);
    this.#all.add(w);
    return w;
  }
}

/** One `worker.ts --serve` process. */
class _Worker {
  readonly #child: Deno.ChildProcess;
  readonly #input: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #closed = false;

  constructor(cacheDir: string, threads: number) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", WORKER_PATH, "--serve"],
      env: {
        GRADPROM_CACHE: cacheDir,
        NO_COLOR: "1",
        // The workers share the cores: each native (OpenMP) backend gets its share, unless set.
        OMP_NUM_THREADS: Deno.env.get("OMP_NUM_THREADS") ?? String(threads),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#input = this.#child.stdin.getWriter();
    // stdout carries nothing a grid needs (results go to the cache): drained so it never blocks.
    this.#child.stdout.pipeTo(new WritableStream()).catch(() => {});
    this.#lines = lines(this.#child.stderr)[Symbol.asyncIterator]();
  }

  /**
   * Sends a job, copies what the worker prints to `log` (and progress lines to stderr) until the
   * job's done marker, and returns its outcome with the log's last lines.
   */
  async run(
    job: WorkerJob,
    log: Deno.FsFile,
  ): Promise<{ ok: boolean; error?: string; tail: string[]; code?: number }> {
    const tail: string[] = [];
    const enc = new TextEncoder();
    try {
      await this.#input.write(enc.encode(JSON.stringify(job) + "\n"));
    } catch {
      // The process is gone: its exit code and last words are read below.
    }
    while (true) {
      const next = await this.#lines.next();
      if (next.done) {
        const { code } = await this.#child.status;
        return { ok: false, tail, code };
      }
      const line = next.value;
      if (line.startsWith(JOB_DONE_MARKER)) {
        const r = JSON.parse(line.slice(JOB_DONE_MARKER.length)) as { ok: boolean; error?: string };
        return { ...r, tail };
      }
      await log.write(enc.encode(line + "\n"));
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (line.startsWith("[")) console.error(line);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#input.close().catch(() => {});
    // Whatever it prints while it exits is not part of any job.
    while (!(await this.#lines.next()).done);
    await this.#child.status;
  }
}
