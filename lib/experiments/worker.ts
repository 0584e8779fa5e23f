/**
 * One run from a config file, in a process of its own: what the grid runner
 * starts on each core (`runGrid`), and what `deno task experiment --config`
 * and the Slurm array tasks run.
 *
 * ```
 * deno run -A lib/experiments/worker.ts --config FILE.json [--pretrain-only] [--force] [--keep-pretraining]
 * deno run -A lib/experiments/worker.ts --serve
 * ```
 *
 * It prints one JSON line to stdout: the run's key and metrics (with
 * `fromCache`, `resumedFrom` when it resumed from a checkpoint, and `warnings`
 * when IP ended below its own input), or with
 * `--pretrain-only` the VR pre-training's result; errors go to stderr as
 * `error: …` with exit code 1.
 *
 * `--serve` runs one job after another in the same process, as the grid's workers do (see
 * {@link serveJobs}): the process starts once, its compiled code, oneDNN primitives and the
 * decoded datasets (`memoizeSplits`) serve every run, and each run's numbers are those of a
 * run in a fresh process (checked by tests/grid_workers_test.ts).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONFIG, type ExperimentConfig, mergeConfig, resolveDataPaths } from "./config.ts";
import { getDataset } from "../data/registry.ts";
import { memoizeSplits, resolveConfigDataset } from "./_data.ts";
import { datasetOverrides } from "./registry.ts";
import { checkConfig, ensureVrPretrain, runExperiment, type RunMetrics } from "./run_experiment.ts";
import type { VrPretrainResult } from "./vr_pretrain.ts";
import { lines } from "../util/lines.ts";

/** Path of this module, to start it as a process (`deno run -A WORKER_PATH --config …`). */
export const WORKER_PATH: string = fileURLToPath(import.meta.url);

/** What a run from a config file reports: its key and metrics, and where they came from. */
export interface RunSummary {
  key: string;
  metrics: RunMetrics;
  fromCache: boolean;
  /** The step it resumed from (absent when it did not resume). */
  resumedFrom?: number;
  /** What is wrong with the result (`RunResult.warnings`; absent when nothing is). */
  warnings?: string[];
}

/**
 * Reads a config file: a JSON object of overrides of the default config
 * (a full config is one too), checked (`checkConfig`), with relative data
 * folders (`data.root`, `data.evalRoot`) resolved against the file's own folder.
 *
 * @param path The file (a relative path is relative to the working directory).
 * @returns The merged config, its data folders absolute.
 * @throws {Error} Naming the file, when it cannot be read or parsed; `mergeConfig`'s
 *   errors for unknown keys or wrong types and `checkConfig`'s for bad values, each
 *   prefixed with `Config <path>: `.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { readConfigFile } from "./worker.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify({ method: "joint" }));
 * assert.equal((await readConfigFile(join(dir, "run.json"))).method, "joint");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readConfigFile(path: string): Promise<ExperimentConfig> {
  let overrides: Record<string, unknown>;
  try {
    overrides = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new Error(`Cannot read config ${path}: ${(e as Error).message}`);
  }
  try {
    let config = resolveDataPaths(mergeConfig(DEFAULT_CONFIG, overrides), dirname(resolve(path)));
    if (getDataset(config.data.dataset).forRoot) {
      // A dataset read from its folder (`folder`): the network sizes come from that folder,
      // under what the file sets itself.
      await resolveConfigDataset(config.data);
      const sizes = datasetOverrides(config.data.dataset, config.data.task, config.data.root);
      const { data: _, ...networks } = sizes;
      config = resolveDataPaths(
        mergeConfig(mergeConfig(DEFAULT_CONFIG, networks), overrides),
        dirname(resolve(path)),
      );
    }
    checkConfig(config);
    return config;
  } catch (e) {
    if (e instanceof Error) e.message = `Config ${path}: ${e.message}`;
    throw e;
  }
}

/**
 * Runs one config (through the results cache at `$GRADPROM_CACHE`), or only
 * its VR pre-training.
 *
 * @param config The config.
 * @param options `pretrainOnly`: train (or find) its VR pre-training only; `force`: ignore the
 *   cache; `keepPretraining`: with `force`, run again but reuse the cached VR pre-training.
 * @returns The run's summary, or the pre-training's result.
 */
export async function runConfig(
  config: ExperimentConfig,
  options: { pretrainOnly?: boolean; force?: boolean; keepPretraining?: boolean } = {},
): Promise<RunSummary | VrPretrainResult> {
  if (options.pretrainOnly) return await ensureVrPretrain(config, { force: options.force });
  const r = await runExperiment(config, {
    force: options.force,
    forcePretraining: options.force && !options.keepPretraining,
  });
  return {
    key: r.key,
    metrics: r.metrics,
    fromCache: !!r.fromCache,
    ...(r.resumedFrom ? { resumedFrom: r.resumedFrom } : {}),
    ...(r.warnings?.length ? { warnings: r.warnings } : {}),
  };
}

/** A job of a serving worker (one line of JSON on its stdin). */
export interface WorkerJob {
  /** The config file. */
  config: string;
  pretrainOnly?: boolean;
  force?: boolean;
  keepPretraining?: boolean;
}

/**
 * Starts the line a serving worker writes to stderr after each job, followed by
 * `{"ok": true}` or `{"ok": false, "error": "…"}`. It goes to stderr, the stream that carries
 * the job's progress, so that everything the job printed comes before it.
 */
export const JOB_DONE_MARKER = "\u001egradprom-worker job done ";

/**
 * Serves jobs, one JSON line each ({@link WorkerJob}), until the input ends: each job runs as
 * `--config` would, then {@link JOB_DONE_MARKER} and the outcome go to stderr. A job that fails
 * ends the process (exit code 1) after reporting, so that nothing it left half-done (tensors,
 * variables, native state) reaches the next job: the grid starts a fresh worker instead.
 *
 * @param jobs The job lines (stdin's, in the worker process).
 * @returns When the input ends.
 */
export async function serveJobs(jobs: AsyncIterable<string>): Promise<void> {
  memoizeSplits(true);
  let served = 0;
  for await (const line of jobs) {
    if (!line.trim()) continue;
    // Which process ran a job, in the job's log (a grid's logs show the workers' reuse).
    console.error(`worker: pid ${Deno.pid}, job ${++served} of this process`);
    try {
      const job = JSON.parse(line) as WorkerJob;
      const config = await readConfigFile(job.config);
      await runConfig(config, job);
      console.error(`${JOB_DONE_MARKER}${JSON.stringify({ ok: true })}`);
    } catch (e) {
      console.error(`error: ${(e as Error).message}`);
      console.error(
        `${JOB_DONE_MARKER}${JSON.stringify({ ok: false, error: (e as Error).message })}`,
      );
      Deno.exit(1);
    }
  }
}

if (import.meta.main && Deno.args.includes("--serve")) {
  await serveJobs(lines(Deno.stdin.readable));
  Deno.exit(0);
} else if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        "pretrain-only": { type: "boolean" },
        force: { type: "boolean" },
        "keep-pretraining": { type: "boolean" },
      },
    });
    if (!values.config) throw new TypeError("Expected --config FILE.json but found none");
    const config = await readConfigFile(values.config);
    const out = await runConfig(config, {
      pretrainOnly: values["pretrain-only"],
      force: values.force,
      keepPretraining: values["keep-pretraining"],
    });
    console.log(JSON.stringify(out));
    Deno.exit(0);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
