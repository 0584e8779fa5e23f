/**
 * Runs a grid of experiments on all cores: cached runs are skipped, the rest
 * are shared among worker processes (the wasm backend uses one thread, so one
 * process per core is how a grid uses the machine).
 *
 * @module
 */
import { join } from "node:path";
import { Progress } from "../train/progress.ts";
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
import { WORKER_PATH } from "./worker.ts";

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
    // Phase 1: each distinct VR pre-training once (runs sharing one would otherwise all train it).
    const groups = await groupBySharedPretraining(missing.map((i) => configs[i]));
    const leaders = groups.map((group) => missing[group[0]]);
    const threads = Math.max(1, Math.floor((navigator.hardwareConcurrency || 1) / workers));
    await inParallel(leaders, workers, (i) => runInWorker(configs[i], cache, true, threads, force));
    // Phase 2: the runs.
    const progress = new Progress("grid", missing.length, {
      enabled: options.progress !== false,
      intervalSeconds: 0,
      unit: "runs",
    });
    let done = 0;
    await inParallel(missing, workers, async (i) => {
      await runInWorker(configs[i], cache, false, threads, force);
      progress.update(++done, {
        last: `${configs[i].data.dataset} ${configs[i].method} ${
          describeDegradation(configs[i].degradation)
        }`,
      });
    });
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

/** Runs `job` on every item, at most `workers` at a time. */
async function inParallel<T>(
  items: T[],
  workers: number,
  job: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(workers, queue.length) }, async () => {
      while (queue.length) await job(queue.shift()!);
    }),
  );
}

/**
 * Runs one config (or only its VR pre-training) in a fresh `deno` process
 * (`worker.ts`); its log goes to `<cache>/logs/`.
 */
async function runInWorker(
  config: ExperimentConfig,
  cache: ResultsCache,
  pretrainOnly: boolean,
  threads: number,
  force: boolean,
): Promise<void> {
  const key = await runKey(config);
  const configPath = join(cache.dir, "configs", `${key}.json`);
  const logPath = join(cache.dir, "logs", `${key}${pretrainOnly ? ".pretrain" : ""}.log`);
  await writeFileAtomic(configPath, JSON.stringify(config, null, 1));
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      WORKER_PATH,
      "--config",
      configPath,
      ...(pretrainOnly ? ["--pretrain-only"] : []),
      // Forced: the pre-training phase trains it again, the runs then reuse it.
      ...(force ? ["--force", ...(pretrainOnly ? [] : ["--keep-pretraining"])] : []),
    ],
    env: {
      GRADPROM_CACHE: cache.dir,
      NO_COLOR: "1",
      // The workers share the cores: each native (OpenMP) backend gets its share, unless set.
      OMP_NUM_THREADS: Deno.env.get("OMP_NUM_THREADS") ?? String(threads),
    },
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  await Deno.mkdir(join(cache.dir, "logs"), { recursive: true });
  const file = await Deno.open(logPath, { create: true, write: true, truncate: true });
  const tail: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, echo: boolean) => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      await file.write(chunk);
      buf += decoder.decode(chunk, { stream: true });
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        if (echo && l.startsWith("[")) console.error(l);
      }
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, false),
    pump(child.stderr, true),
  ]);
  file.close();
  if (!status.success) {
    throw new Error(
      `${pretrainOnly ? "VR pre-training for " : ""}Run ${config.data.dataset} ${config.method} ${
        describeDegradation(config.degradation)
      } ` +
        `seed ${config.seed} failed (exit ${status.code}); ` +
        `log: ${logPath}\n${tail.join("\n")}`,
    );
  }
}
