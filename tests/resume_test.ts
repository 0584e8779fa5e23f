/**
 * A run interrupted mid-way (by an exception, or by SIGKILL of its process)
 * resumes from its last checkpoint and ends with exactly the numbers of an
 * uninterrupted run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import { runExperiment, runKey } from "../lib/experiments/run_experiment.ts";

const config = (steps: number) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), {
    method: "gradprom",
    train: { steps },
  });

async function withDirs(n: number, fn: (dirs: string[]) => Promise<void>) {
  const dirs = await Promise.all(
    Array.from({ length: n }, () => Deno.makeTempDir({ prefix: "gradprom-resume-" })),
  );
  try {
    await fn(dirs);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

Deno.test("runExperiment() resumes an interrupted run and matches the uninterrupted one exactly", async () => {
  await withDirs(2, async ([a, b]) => {
    const c = config(12);
    const whole = await runExperiment(c, {
      cache: new ResultsCache(a),
      progress: false,
      checkpointEvery: 4,
    });
    const cache = new ResultsCache(b);
    await assert.rejects(
      runExperiment(c, { cache, progress: false, checkpointEvery: 4, stopAfterStep: 6 }),
      /stopped after step 6/,
    );
    const checkpoint = cache.sidePath("checkpoints", await runKey(c), "state.bin");
    assert.ok((await Deno.stat(checkpoint)).isFile, "a checkpoint is left after the interruption");
    const resumed = await runExperiment(c, { cache, progress: false, checkpointEvery: 4 });
    assert.deepEqual(resumed.metrics, whole.metrics);
    assert.deepEqual(resumed.log, whole.log);
    await assert.rejects(
      Deno.stat(checkpoint),
      Deno.errors.NotFound,
      "the checkpoint is removed at the end",
    );
  });
});

Deno.test("a run whose process is killed (SIGKILL) resumes from its last checkpoint", async () => {
  await withDirs(3, async ([a, b, tmp]) => {
    const c = config(150); // checkpoints every 15 steps (the CLI's default: a tenth of the run)
    const cache = new ResultsCache(b);
    const checkpoint = cache.sidePath("checkpoints", await runKey(c), "state.bin");
    const cfgPath = join(tmp, "run.json");
    await Deno.writeTextFile(cfgPath, JSON.stringify(c));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), "--config", cfgPath],
      env: { GRADPROM_CACHE: b },
      stdout: "null",
      stderr: "null",
    }).spawn();
    let killed = false;
    for (let i = 0; i < 1200 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (await Deno.stat(checkpoint).then(() => true, () => false)) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
    const status = await child.status;
    assert.ok(killed && !status.success, "the run was killed after its first checkpoint");
    assert.equal(
      await cache.get("runs", await runKey(c)),
      undefined,
      "the killed run left no result",
    );
    const resumed = await runExperiment(c, { cache, progress: false });
    const whole = await runExperiment(c, { cache: new ResultsCache(a), progress: false });
    assert.deepEqual(resumed.metrics, whole.metrics);
    assert.deepEqual(resumed.log, whole.log);
  });
});
