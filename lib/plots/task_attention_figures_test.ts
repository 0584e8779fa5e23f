import assert from "node:assert/strict";
import { ResultsCache } from "../experiments/results_cache.ts";
import { taskAttentionConfigs, taskAttentionFigures } from "./task_attention_figures.ts";

Deno.test("taskAttentionConfigs() picks each table's Benchmark-i run at the lowest σ, seed 0", () => {
  for (const profile of ["smoke", "quick"] as const) {
    const { diagnosis, segmentation } = taskAttentionConfigs(profile);
    for (const c of [diagnosis, segmentation]) {
      assert.equal(c.method, "benchmark-i");
      assert.equal(c.seed, 0);
      assert.equal(c.degradation.sigma, 0.1);
    }
    assert.equal(diagnosis.data.task, "diagnosis");
    assert.equal(segmentation.data.task, "segmentation");
    assert.deepEqual(diagnosis.data.size, segmentation.data.size);
  }
});

Deno.test("taskAttentionFigures() with runMissing false names the run it lacks", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-taf-" });
  try {
    await assert.rejects(
      () =>
        taskAttentionFigures({
          profile: "smoke",
          cache: new ResultsCache(tmp),
          runMissing: false,
        }),
      /Expected the diagnosis Benchmark-i run \(σ = 0\.1, smoke profile\) in the cache .* but found none/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
