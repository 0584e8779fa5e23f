import assert from "node:assert/strict";
import { taskAttentionConfigs } from "./task_attention_figures.ts";

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
