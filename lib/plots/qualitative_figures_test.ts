import assert from "node:assert/strict";
import { ResultsCache } from "../experiments/results_cache.ts";
import { qualitativeConfigs, qualitativeFigures } from "./qualitative_figures.ts";

Deno.test("qualitativeConfigs() is Table 1's seed-0 grid of the five methods", () => {
  const smoke = qualitativeConfigs("smoke");
  assert.deepEqual(
    smoke.map((c) => c.method),
    ["benchmark-i", "joint", "frozen", "gradprom", "gradprom-weighted"],
  );
  assert.ok(smoke.every((c) => c.seed === 0 && c.data.task === "diagnosis"));
  assert.deepEqual([...new Set(qualitativeConfigs("quick").map((c) => c.degradation.sigma))], [
    0.1,
    0.2,
  ]);
});

Deno.test("qualitativeFigures() with runMissing false names the run it lacks", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-qf-" });
  try {
    await assert.rejects(
      () =>
        qualitativeFigures({ profile: "smoke", cache: new ResultsCache(tmp), runMissing: false }),
      /Expected the benchmark-i run \(σ = 0\.1, smoke profile\) in the cache .* but found none/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
