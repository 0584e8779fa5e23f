import assert from "node:assert/strict";
import { ResultsCache } from "../experiments/results_cache.ts";
import { experimentResults } from "./experiment_results.ts";
import { FIGURES, getFigure, isSingleFigure } from "./registry.ts";

Deno.test("FIGURES: ids are file-name safe, titles set, experiments registered", async () => {
  const { EXPERIMENTS } = await import("../experiments/registry.ts");
  assert.ok(Object.keys(FIGURES).length >= 4);
  for (const [id, f] of Object.entries(FIGURES)) {
    assert.equal(f.id, id);
    assert.match(id, /^[a-z0-9][a-z0-9-]*$/);
    assert.ok(f.title.length > 10, id);
    for (const e of f.experiments) assert.ok(EXPERIMENTS[e], `${id} reads unknown ${e}`);
  }
});

Deno.test("FIGURES follow the notebook index: each notebook's experiments are drawn, in its order", async () => {
  const { NOTEBOOKS } = await import("../experiments/notebook_index.ts");
  const ids = Object.keys(FIGURES);
  assert.equal(ids[0], "fig1-toy");
  for (const nb of NOTEBOOKS) {
    for (const e of nb.experiments) {
      assert.ok(Object.values(FIGURES).some((f) => f.experiments.includes(e)), `${nb.name}: ${e}`);
    }
  }
  const position = (experiment: string) =>
    NOTEBOOKS.findIndex((n) => n.experiments.includes(experiment));
  const order = Object.values(FIGURES).filter((f) => f.experiments.length === 1)
    .map((f) => position(f.experiments[0])).filter((i) => i >= 0);
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});

Deno.test("getFigure() names the known ids when the id is unknown", () => {
  assert.equal(getFigure("fig1-toy").id, "fig1-toy");
  assert.throws(() => getFigure("fig99"), (e: Error) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /Unknown figure 'fig99'; known: .*fig1-toy/);
    return true;
  });
});

Deno.test("fig1-toy builds its five panels (smoke profile)", async () => {
  const ctx = { profile: "smoke" as const, seeds: 1, dataRoot: null, cache: new ResultsCache("") };
  const out = await FIGURES["fig1-toy"].build(ctx);
  assert.ok(!isSingleFigure(out));
  assert.deepEqual(Object.keys(out), [
    "sgd-trajectories",
    "sgd-gate",
    "sgd-loss",
    "adam-trajectories",
    "adam-loss",
  ]);
  for (const f of Object.values(out)) assert.ok(f.data.length > 0 && isSingleFigure(f));
});

Deno.test("experimentResults() with runMissing false names the missing runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = {
      profile: "smoke" as const,
      seeds: 1,
      dataRoot: null,
      cache: new ResultsCache(dir),
      runMissing: false,
    };
    await assert.rejects(
      () => experimentResults(ctx, "table1-isic-denoise"),
      /lacks 5 of 5 runs in .*benchmark-i σ=0.1 seed 0.*deno task experiment table1-isic-denoise --profile smoke/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
