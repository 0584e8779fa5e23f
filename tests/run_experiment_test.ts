import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { runExperiment } from "../lib/experiments/run_experiment.ts";

const smoke = (over: Record<string, unknown> = {}) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method: "gradprom", ...over });

Deno.test("runExperiment() trains, evaluates, caches atomically, and a rerun returns from the cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-cache-" });
  try {
    const cache = new ResultsCache(dir);
    const config = smoke();
    const first = await runExperiment(config, { cache, progress: false });
    assert.equal(first.fromCache, undefined);
    assert.equal(first.log.lossIp.length, config.train.steps);
    assert.ok(first.metrics.psnr > 0 && first.metrics.ssim > -1 && first.metrics.accuracy >= 0);
    assert.ok(first.log.cosine.every((c) => c >= -1 && c <= 1));
    const t0 = performance.now();
    const again = await runExperiment(config, { cache, progress: false });
    assert.equal(again.fromCache, true);
    assert.ok(performance.now() - t0 < 2000, "a cached rerun takes seconds");
    assert.deepEqual(again.metrics, first.metrics);
    // No temporary files are left behind by the atomic writes.
    const files = [...Deno.readDirSync(join(dir, "runs"))].map((e) => e.name);
    assert.deepEqual(files, [`${first.key}.json`]);
    // Same seed, same numbers (a forced rerun is deterministic).
    const forced = await runExperiment(config, { cache, progress: false, force: true });
    assert.deepEqual(forced.metrics, first.metrics);
    assert.deepEqual(forced.log, first.log);
    // Another config is another entry.
    const other = await runExperiment(smoke({ method: "joint" }), { cache, progress: false });
    assert.notEqual(other.key, first.key);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runExperiment() runs every method (paper's and gradient-surgery baselines)", async () => {
  const { METHODS } = await import("../lib/experiments/config.ts");
  const dir = await Deno.makeTempDir({ prefix: "gradprom-methods-" });
  try {
    const cache = new ResultsCache(dir);
    for (const method of METHODS) {
      const r = await runExperiment(smoke({ method, train: { steps: 2 } }), {
        cache,
        progress: false,
      });
      assert.equal(r.log.lossIp.length, 2, method);
      assert.ok(Number.isFinite(r.metrics.psnr), method);
      if (method === "benchmark-i") assert.ok(r.log.cosine.every(Number.isNaN));
      else assert.ok(r.log.cosine.every((c) => c >= -1 && c <= 1), method);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runExperiment() with segmentation as the auxiliary task (U-Net, CE + Dice) reports mIoU", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-seg-" });
  try {
    const cache = new ResultsCache(dir);
    const c = smoke({
      data: { task: "segmentation" },
      seg: { depth: 2, baseWidth: 4 },
      train: { steps: 2 },
    });
    const r = await runExperiment(c, { cache, progress: false });
    assert.ok(r.metrics.miou! >= 0 && r.metrics.miou! <= 1);
    assert.ok(r.vrPretrain.miouClean! >= 0 && r.vrPretrain.miouDegraded! <= 1);
    assert.ok(r.log.lossVr.every(Number.isFinite));
    const un = await runExperiment(
      smoke({
        data: { task: "segmentation" },
        seg: { depth: 2, baseWidth: 4 },
        train: { steps: 2, auxLoss: "unsupervised" },
      }),
      { cache, progress: false },
    );
    assert.notEqual(un.key, r.key);
    assert.ok(un.log.lossVr.every(Number.isFinite));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
