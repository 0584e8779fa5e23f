/**
 * The three recipes of the README's "Extending" section, at run time: a toy
 * strategy with a method using it, a toy dataset, and a paper table built from
 * them, run through a smoke grid (in-process, `workers: 0`) into the same
 * table and figures the notebooks show.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { DatasetDescriptor, LoadSplitOptions } from "../lib/data/dataset_descriptor.ts";
import { getDataset, registerDataset } from "../lib/data/registry.ts";
import { DEFAULT_CONFIG, type ExperimentConfig, mergeConfig } from "../lib/experiments/config.ts";
import { methodSpec, registerMethod, rowStyle } from "../lib/experiments/methods.ts";
import {
  datasetOverrides,
  type ExperimentSpec,
  SMOKE_OVERRIDES,
} from "../lib/experiments/registry.ts";
import { buildReport, loadRuns, tableDisplay, tableFigures } from "../lib/experiments/report.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { checkConfig } from "../lib/experiments/run_experiment.ts";
import { combine, cosineOf, gradientStats } from "../lib/strategies/grad_math.ts";
import { getStrategy, registerStrategy } from "../lib/strategies/registry.ts";
import type { Strategy } from "../lib/strategies/types.ts";
import { Rng } from "../lib/util/rng.ts";

// Recipe 1: a strategy (main + ½·aux) and a method that uses it.
const halfAux: Strategy = (main, aux) => {
  const s = gradientStats(main, aux);
  return {
    grads: combine(main, aux, () => 0.5),
    cosine: cosineOf(s.totalDot, s.totalMainSq, s.totalAuxSq),
    auxWeight: 0.5,
  };
};
registerStrategy("half-aux", () => halfAux, { description: "main + ½·aux." });
const HALF_AUX = registerMethod("half-aux", {
  label: "Half-aux (toy)",
  shortLabel: "Half-aux",
  colour: "#abcdef",
  vrMode: "trained",
  strategy: { name: "half-aux" },
  gate: false,
});

// Recipe 2: a dataset, generated in memory: label 1 images are brighter.
const TOY: DatasetDescriptor = {
  id: "toy-bright",
  name: "Toy brightness",
  channels: 1,
  tasks: { diagnosis: { classes: ["dark", "bright"], about: "Mean brightness of the image." } },
  pairedTasks: false,
  loadSplit(o: LoadSplitOptions) {
    const n = o.limit ?? 16;
    const rng = new Rng(o.seed * 3 + ["train", "val", "test"].indexOf(o.split));
    const [h, w] = o.size;
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    const pixels = Float32Array.from(
      { length: n * h * w },
      (_, k) => 0.2 + 0.4 * labels[Math.floor(k / (h * w))] + 0.3 * rng.uniform(),
    );
    return Promise.resolve({
      images: tf.tensor4d(pixels, [n, h, w, 1]),
      labels: tf.tensor1d(labels, "int32"),
      ids: labels.map((_, i) => `${o.split}-${i}`),
    });
  },
  synthetic: { version: 1, marker: "", embedded: {}, root: () => Promise.resolve("in-memory") },
  verify: () => Promise.resolve([]),
  inspect: {
    defaultTask: "diagnosis",
    split: () => Promise.resolve({ imagePaths: [] }),
  },
};
const TOY_ID = registerDataset(TOY);

// Recipe 3: a paper table over them, built at run time.
const TOY_TABLE: ExperimentSpec = {
  id: "toy-table",
  title: "Toy table",
  description: "Joint and Half-aux on the toy dataset.",
  grid: (_profile, options = {}) =>
    Array.from(
      { length: options.seeds ?? 1 },
      (_, seed) =>
        ["joint", HALF_AUX].map((method) =>
          mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), {
            ...datasetOverrides(TOY_ID, "diagnosis"),
            method,
            seed,
            degradation: { sigma: 0.1 },
          }) as ExperimentConfig
        ),
    ).flat(),
  paper: [],
  claims: [],
};

Deno.test("registerStrategy() and registerMethod() refuse duplicates and bad specs", () => {
  assert.equal(typeof getStrategy("half-aux"), "function");
  assert.throws(
    () => registerStrategy("half-aux", () => halfAux, { description: "again" }),
    /already registered/,
  );
  assert.throws(() => getStrategy("no-such"), /half-aux/);
  const spec = { ...methodSpec(HALF_AUX) };
  assert.throws(() => registerMethod("joint", spec), /already registered/);
  assert.throws(() => registerMethod("benchmark-ii", spec), /already registered/);
  assert.throws(() => registerMethod("x1", { ...spec, colour: "teal" }), /colour/);
  assert.throws(() => registerMethod("x2", { ...spec, vrMode: "on" as never }), /vrMode/);
  assert.throws(() => registerMethod("x3", { ...spec, label: "" }), /label/);
  assert.throws(
    () => registerMethod("x4", { ...spec, strategy: { name: "no-such" } }),
    RangeError,
  );
  assert.throws(
    () => registerMethod("x5", { ...spec, strategy: { name: "pcgrad", options: { beta: 1 } } }),
    /beta/,
  );
  assert.deepEqual(rowStyle(HALF_AUX), { label: "Half-aux (toy)", colour: "#abcdef" });
});

Deno.test("registerDataset() refuses duplicates and bad descriptors; configs accept its id", () => {
  assert.equal(getDataset(TOY_ID).name, "Toy brightness");
  assert.throws(() => registerDataset(TOY), /already registered/);
  assert.throws(() => registerDataset({ ...TOY, id: "covid_ct" }), /already registered/);
  assert.throws(() => registerDataset({ ...TOY, id: "toy2", channels: 2 as 1 }), /channels/);
  assert.throws(() => registerDataset({ ...TOY, id: "toy3", tasks: {} }), /tasks/);
  const [config] = TOY_TABLE.grid("smoke");
  checkConfig(config);
  assert.throws(
    () => checkConfig({ ...config, data: { ...config.data, task: "segmentation" } }),
    /Expected data.task diagnosis for toy-bright/,
  );
});

Deno.test("a run-time strategy, dataset and table run through a smoke grid into a table and figures", async () => {
  const cache = new ResultsCache(await Deno.makeTempDir({ prefix: "gradprom-extending-" }));
  try {
    const configs = TOY_TABLE.grid("smoke");
    const results = await loadRuns(
      configs,
      { profile: "smoke", cache, workers: 0, progress: false },
      [TOY_TABLE.id],
    );
    const report = buildReport(TOY_TABLE, results, { profile: "smoke" });
    const toy = report.rows.find((r) => r.method === HALF_AUX);
    assert.ok(toy, `no ${HALF_AUX} row in ${report.rows.map((r) => r.method)}`);
    assert.equal(toy.label, "Half-aux (toy)");
    for (const v of [toy.psnr, toy.ssim, toy.accuracy]) assert.ok(Number.isFinite(v?.mean));
    assert.deepEqual(report.rows.map((r) => r.method), ["benchmark-ii", "joint", HALF_AUX]);
    const md = String(tableDisplay(report));
    assert.match(md, /\| Half-aux \(toy\) \|/);
    assert.match(md, /Joint training/);
    const figures = tableFigures(report);
    assert.deepEqual(Object.keys(figures), ["psnr", "ssim", "accuracy"]);
    const trace = figures.psnr.data.find((t) => t.name === "Half-aux (toy)");
    assert.ok(trace, "no Half-aux trace in the PSNR figure");
    assert.deepEqual((trace.marker as { color: string }).color, "#abcdef");
    assert.ok((trace.y as number[]).every(Number.isFinite));
    // A second load is all from the cache, with the same numbers.
    const again = await loadRuns(
      configs,
      { profile: "smoke", cache, runMissing: false, progress: false },
      [TOY_TABLE.id],
    );
    assert.deepEqual(again.map((r) => r.metrics), results.map((r) => r.metrics));
  } finally {
    await Deno.remove(cache.dir, { recursive: true });
  }
});
