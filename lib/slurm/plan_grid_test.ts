import assert from "node:assert/strict";
import { getExperiment } from "../experiments/registry.ts";
import { ResultsCache } from "../experiments/results_cache.ts";
import { runKey } from "../experiments/run_experiment.ts";
import { planGrid } from "./plan_grid.ts";

Deno.test("planGrid() leaves out cached and active runs, and groups the shared pre-trainings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-plan-" });
  try {
    const cache = new ResultsCache(dir);
    const grid = getExperiment("table1-isic-denoise").grid("smoke", { seeds: 2 });
    const entries = [...grid, grid[0]].map((config) => ({ experiment: "t1", config }));
    await cache.put("runs", await runKey(grid[0]), { fake: true });
    const plan = await planGrid(entries, {
      cache,
      active: new Set([await runKey(grid[1])]),
    });
    assert.equal(plan.total, 10, "duplicates count once");
    assert.equal(plan.cached, 1);
    assert.deepEqual(plan.active, [await runKey(grid[1])]);
    assert.equal(plan.runs.length, 8);
    assert.deepEqual(plan.runs.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(plan.runs[0].label, "frozen σ=0.1 seed 0");
    // One pre-training per seed (it does not depend on the method or σ).
    assert.equal(plan.pretrains.length, 2);
    assert.deepEqual(plan.runs.map((r) => r.pretrain), [0, 0, 0, 1, 1, 1, 1, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
