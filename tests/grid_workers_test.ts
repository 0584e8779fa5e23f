/**
 * The grid's worker processes (`runGrid` with `workers ≥ 1`, `worker.ts --serve`): one process
 * serves many runs, and each run's numbers equal those of the same run in this process; a run
 * that fails stops the grid with its error and its log's end, and leaves no worker behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { stderrOf } from "./_stderr.ts";

const smoke = (over: Record<string, unknown>) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), over);

/** The worker pid and job number each log of a cache names (`worker: pid P, job J …`). */
function workerJobs(dir: string): { pid: number; job: number; log: string }[] {
  const out = [];
  for (const e of Deno.readDirSync(join(dir, "logs"))) {
    const text = Deno.readTextFileSync(join(dir, "logs", e.name));
    const m = text.match(/^worker: pid (\d+), job (\d+) of this process$/m);
    assert.ok(m, `log ${e.name} names no worker:\n${text}`);
    out.push({ pid: Number(m[1]), job: Number(m[2]), log: e.name });
  }
  return out;
}

const alive = (pid: number) => {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
};

Deno.test("runGrid() workers serve several runs each, with the numbers of runs in process", async () => {
  const dirs = [
    await Deno.makeTempDir({ prefix: "gradprom-workers-" }),
    await Deno.makeTempDir({ prefix: "gradprom-inproc-" }),
  ];
  try {
    // Two pre-trainings (seeds 0 and 1) and five runs, on one worker.
    const configs = [
      smoke({ method: "joint" }),
      smoke({ method: "gradprom" }),
      smoke({ method: "benchmark-i" }),
      smoke({ method: "frozen", seed: 1 }),
      smoke({ method: "gradprom", seed: 1 }),
    ];
    const [served] = await stderrOf(() =>
      runGrid(configs, { cache: new ResultsCache(dirs[0]), workers: 1 })
    );
    const [inProcess] = await stderrOf(() =>
      runGrid(configs, { cache: new ResultsCache(dirs[1]), workers: 0 })
    );
    assert.deepEqual(served.map((r) => r.metrics), inProcess.map((r) => r.metrics));
    assert.deepEqual(served.map((r) => r.log), inProcess.map((r) => r.log));
    const jobs = workerJobs(dirs[0]);
    assert.equal(jobs.length, 7, JSON.stringify(jobs)); // 2 pre-trainings + 5 runs
    assert.equal(new Set(jobs.map((j) => j.pid)).size, 1, "one worker served every job");
    assert.deepEqual(jobs.map((j) => j.job).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7]);
    assert.ok(!alive(jobs[0].pid), "the worker outlived its grid");
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("runGrid() stops at a failed run, names it, quotes its log and leaves no worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-workers-fail-" });
  try {
    const cache = new ResultsCache(dir);
    // An absurd learning rate: the loss turns NaN, the run stops with NonFiniteLossError.
    const bad = smoke({ method: "benchmark-i", train: { lr: 1e30, steps: 3 } });
    const good = smoke({ method: "benchmark-i", seed: 2 });
    const [result] = await stderrOf(async () => {
      try {
        await runGrid([bad, good], { cache, workers: 1 });
        return undefined;
      } catch (e) {
        return e as Error;
      }
    });
    assert.ok(result instanceof Error, "the grid did not fail");
    assert.match(result.message, /^Run isic2018 benchmark-i σ=0\.1 seed 0 failed; log: /);
    assert.match(result.message, /Expected a finite L_IP but found NaN/);
    // No run started after the failure, and no worker is left.
    const jobs = workerJobs(dir);
    assert.equal(jobs.filter((j) => !j.log.endsWith(".pretrain.log")).length, 1);
    for (const j of jobs) assert.ok(!alive(j.pid), `worker ${j.pid} outlived its grid`);
    // The next grid starts fresh workers and runs what is left.
    const [[r]] = await stderrOf(() => runGrid([good], { cache, workers: 1 }));
    assert.ok(Number.isFinite(r.metrics.psnr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
