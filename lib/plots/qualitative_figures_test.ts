import assert from "node:assert/strict";
import { qualitativeConfigs } from "./qualitative_figures.ts";

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
