import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { getExperiment } from "../experiments/registry.ts";
import { ResultsCache } from "../experiments/results_cache.ts";
import { runExperiment } from "../experiments/run_experiment.ts";
import { psnrPerImage } from "../metrics/psnr.ts";
import { degradedTestSet } from "./degraded_test_set.ts";

await setupBackend({ quiet: true });

Deno.test("degradedTestSet() gives the very test images a run was measured on", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-dts-" });
  try {
    const config = getExperiment("table2-isic-seg-denoise").grid("smoke")[0];
    const result = await runExperiment(config, {
      cache: new ResultsCache(tmp),
      progress: false,
    });
    const before = tf.memory().numTensors;
    const set = await degradedTestSet(config);
    const n = set.clean.shape[0];
    assert.equal(n, config.data.testLimit);
    assert.deepEqual(set.degraded.shape, set.clean.shape);
    assert.deepEqual(set.targets.segmentation!.shape, [n, ...config.data.size, 1]);
    assert.equal(set.ids.length, n);
    const psnrs = psnrPerImage(set.degraded, set.clean, { maxValue: 1 });
    const mean = psnrs.reduce((a, b) => a + b, 0) / n;
    assert.ok(
      Math.abs(mean - result.metrics.psnrInput) < 1e-4,
      `input PSNR ${mean} here, ${result.metrics.psnrInput} in the run`,
    );
    set.dispose();
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("degradedTestSet() gives super-resolution's low-resolution test images", async () => {
  const config = getExperiment("sr-isic").grid("smoke").find((c) => c.degradation.factor === 4)!;
  const set = await degradedTestSet(config);
  try {
    const [n, h, w, c] = set.clean.shape;
    assert.deepEqual(set.degraded.shape, [n, h / 4, w / 4, c]);
  } finally {
    set.dispose();
  }
});
