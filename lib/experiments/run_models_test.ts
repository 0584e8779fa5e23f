import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
import { SMOKE_OVERRIDES } from "./registry.ts";
import { ResultsCache } from "./results_cache.ts";
import { runExperiment } from "./run_experiment.ts";
import { loadRunModels } from "./run_models.ts";

Deno.test("loadRunModels() names the weights file that is corrupt, and leaks nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-run-models-" });
  try {
    const cache = new ResultsCache(dir);
    const config = mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method: "joint" });
    const run = await runExperiment(config, { cache, progress: false });
    for (const name of ["ip.bin", "vr.bin"]) {
      const path = cache.sidePath("runs", run.key, name);
      const good = await Deno.readFile(path);
      await Deno.writeFile(path, good.slice(0, good.length - 8));
      const before = tf.memory().numTensors;
      await assert.rejects(loadRunModels(run, cache), (e: Error) => {
        assert.ok(e.message.startsWith(`${path}: not a valid weights file`), e.message);
        assert.match(e.message, /\(truncated\)/);
        return true;
      });
      assert.equal(tf.memory().numTensors, before, `${name}: nothing leaks`);
      await Deno.writeFile(path, good);
    }
    const models = await loadRunModels(run, cache);
    models.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
