import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import * as tf from "@tensorflow/tfjs-core";
import { datasetOverrides, SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { loadRunModels, type RunEvent, runExperiment } from "../lib/experiments/run_experiment.ts";

const smoke = (over: Record<string, unknown> = {}) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method: "gradprom", ...over });

Deno.test("runExperiment() trains, evaluates, caches atomically, and a rerun returns from the cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-cache-" });
  try {
    const cache = new ResultsCache(dir);
    const config = smoke();
    const trained: RunEvent[] = [];
    const first = await runExperiment(config, {
      cache,
      progress: false,
      onEvent: (e) => trained.push(e),
    });
    assert.equal(first.fromCache, undefined);
    const total = config.train.steps; // 3: too few for a checkpoint
    assert.deepEqual(
      trained,
      Array.from({ length: total }, (_, i) => ({ type: "step", step: i + 1, total })),
      "the first call trains every step",
    );
    assert.equal(first.log.lossIp.length, config.train.steps);
    assert.ok(first.metrics.psnr > 0 && first.metrics.ssim > -1 && first.metrics.accuracy >= 0);
    assert.ok(first.log.cosine.every((c) => c >= -1 && c <= 1));
    const rerun: RunEvent[] = [];
    const again = await runExperiment(config, {
      cache,
      progress: false,
      onEvent: (e) => rerun.push(e),
    });
    assert.equal(again.fromCache, true);
    assert.deepEqual(rerun, [], "a cached rerun trains nothing");
    assert.deepEqual(again.metrics, first.metrics);
    // No temporary files are left behind by the atomic writes; the trained networks are kept.
    const files = [...Deno.readDirSync(join(dir, "runs"))].map((e) => e.name).sort();
    assert.deepEqual(files, [`${first.key}.ip.bin`, `${first.key}.json`, `${first.key}.vr.bin`]);
    const before = tf.memory().numTensors;
    const models = await loadRunModels(first, cache);
    const [h, w] = config.data.size;
    const y = tf.tidy(() => models.ip.apply(tf.zeros([1, h, w, 3]), { training: false }));
    assert.deepEqual(y.shape, [1, h, w, 3]);
    y.dispose();
    models.dispose();
    assert.equal(tf.memory().numTensors, before);
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

Deno.test("runExperiment() with two auxiliaries (Lizard: diagnosis + segmentation), each gated", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-multi-" });
  try {
    const cache = new ResultsCache(dir);
    const c = mergeConfig(
      smoke({ seg: { depth: 2, baseWidth: 4 } }),
      datasetOverrides("lizard", "diagnosis+segmentation"),
    );
    const r = await runExperiment(c, { cache, progress: false });
    assert.equal(r.log.perAux?.map((p) => p.task).join(), "diagnosis,segmentation");
    for (const p of r.log.perAux!) {
      assert.equal(p.auxWeight.length, c.train.steps);
      assert.ok(p.auxWeight.every((w) => w === 0 || w === 1)); // each its own hard gate
    }
    // L_VR is the sum of the two auxiliaries' losses.
    r.log.lossVr.forEach((l, i) => {
      const sum = r.log.perAux![0].lossVr[i] + r.log.perAux![1].lossVr[i];
      assert.ok(Math.abs(l - sum) <= 1e-4 * Math.max(1, Math.abs(sum)));
    });
    assert.ok(r.metrics.accuracy >= 0 && r.metrics.miou !== undefined);
    assert.ok(r.vrPretrainExtra?.miouClean !== undefined);
    const models = await loadRunModels(r, cache);
    assert.ok(models.segmenter);
    models.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runExperiment() rejects a config that does not fit its dataset, naming the keys", async () => {
  const c = smoke({ data: { dataset: "covid_ct" } });
  await assert.rejects(
    () =>
      runExperiment(c, { cache: new ResultsCache("/nonexistent-never-written"), progress: false }),
    /expected ip\.imageChannels 1 \(found 3\), vr\.imageChannels 1 \(found 3\), vr\.classes 2 \(found 7\)/,
  );
  const sr = smoke({ degradation: { kind: "bicubic", factor: 2 } });
  await assert.rejects(
    () =>
      runExperiment(sr, { cache: new ResultsCache("/nonexistent-never-written"), progress: false }),
    /ip\.scale 2 \(found 1\)/,
  );
});
