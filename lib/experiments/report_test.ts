import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "../plots/plotly.ts";
import { getExperiment } from "./registry.ts";
import {
  buildReport,
  claimsMarkdown,
  gapMarkdown,
  gateDynamicsRuns,
  qualitativeRuns,
  settingOf,
  settingSweepFigure,
  tableDisplay,
  taskAttentionRuns,
} from "./report.ts";
import { ResultsCache } from "./results_cache.ts";
import { _fakeRun } from "./_testing.ts";

const fakeRun = _fakeRun;

const table1 = getExperiment("table1-isic-denoise");
const sweep = getExperiment("lambda-sweep");
/** A λ sweep: Benchmark-i once (at λ = 0.01), Joint and GradProm at two λ. */
const sweepRuns = [
  fakeRun({ method: "benchmark-i", train: { lambda: 0.01 } }, 25),
  fakeRun({ method: "joint", train: { lambda: 0.01 } }, 24),
  fakeRun({ method: "gradprom", train: { lambda: 0.01 } }, 26),
  fakeRun({ method: "joint", train: { lambda: 0.1 } }, 23),
  fakeRun({ method: "gradprom", train: { lambda: 0.1 } }, 25.5),
];

Deno.test("claimsMarkdown() gives the claims table, how many hold on the profile, and observations", () => {
  const runs = [
    fakeRun({ method: "frozen" }, 25),
    fakeRun({ method: "gradprom" }, 26),
    fakeRun({ method: "benchmark-i" }, 25.5),
  ];
  const md = claimsMarkdown(buildReport(table1, runs, { profile: "smoke" }));
  assert.match(md, /^\| Paper's claim \| Ours \(Δ\) \| Paper \(Δ\) \| Verdict on our data \|/);
  assert.match(md, /\| \+1\.000 \| 1\.231 \| holds \(1 seed: no error bar/);
  assert.match(md, /\*\*2 of 3 claims hold on our smoke-profile data\.\*\* Where a claim does not/);
  assert.match(md, /\n- σ = 0\.1: best PSNR GradProm \(gate\) \(26\.00 dB\)/);
  const none = buildReport(getExperiment("lambda-sweep"), sweepRuns, { profile: "quick" });
  assert.match(claimsMarkdown(none), /^_No claim of the paper to check here\._\n\n- λ = 0\.01/);
});

Deno.test("tableDisplay() shows the table, with an introduction above it in both forms", () => {
  const report = buildReport(table1, [fakeRun({ method: "gradprom" }, 26)], { profile: "smoke" });
  const bundle = tableDisplay(report, "**Setup**: one run.")[JUPYTER_DISPLAY]();
  assert.match(
    String(bundle["text/markdown"]),
    /^\*\*Setup\*\*: one run\.\n\n\| Setting \| Method/,
  );
  assert.match(String(bundle["text/html"]), /^<p><b>Setup<\/b>: one run\.<\/p><table>/);
  assert.match(String(tableDisplay(report)), /^\| Setting \| Method/);
});

Deno.test("gateDynamicsRuns() keeps the methods and gate granularity asked for", () => {
  const runs = [
    fakeRun({ method: "joint" }, 1),
    fakeRun({ method: "gradprom" }, 1),
    fakeRun({ method: "gradprom", train: { granularity: "layer" } }, 1),
  ];
  assert.deepEqual(gateDynamicsRuns(runs), runs);
  assert.deepEqual(gateDynamicsRuns(runs, { methods: ["gradprom"], granularity: "global" }), [
    runs[1],
  ]);
});

Deno.test("settingOf() names what the row groups vary, and its value per row", () => {
  const lambda = buildReport(sweep, sweepRuns, { profile: "quick" });
  const s = settingOf(lambda);
  assert.equal(s.name, "λ");
  assert.deepEqual(lambda.rows.map(s.value), [0.01, 0.01, 0.01, 0.1, 0.1]);
  const t1 = buildReport(table1, [fakeRun({ method: "joint" }, 1)], { profile: "smoke" });
  assert.deepEqual([settingOf(t1).name, settingOf(t1).value(t1.rows[1])], ["σ", 0.1]);
  const composite = buildReport(getExperiment("ablation-composite"), [fakeRun({}, 1)], {
    profile: "smoke",
  });
  assert.deepEqual([settingOf(composite).name, settingOf(composite).value(composite.rows[0])], [
    "Setting",
    "composite",
  ]);
  const fig = settingSweepFigure(lambda, "psnr", { log: true, reference: "benchmark-i" });
  assert.deepEqual((fig.layout.xaxis as { title: { text: string } }).title.text, "λ");
});

Deno.test("gapMarkdown() is keyed by the setting and compares with a run made once", () => {
  const md = gapMarkdown(buildReport(sweep, sweepRuns, { profile: "quick" }), {
    method: "gradprom",
    label: "GradProm",
    against: { joint: "Joint", "benchmark-i": "IP alone" },
  });
  assert.equal(
    md,
    [
      "| λ | GradProm − Joint (dB) | GradProm − IP alone (dB) |",
      "| --- | --- | --- |",
      "| 0.01 | +2.00 | +1.00 |",
      "| 0.1 | +2.50 | +0.50 |",
    ].join("\n"),
  );
});

Deno.test("qualitativeRuns() and taskAttentionRuns() with runMissing false name what is missing", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-report-" });
  try {
    const options = { profile: "smoke" as const, cache: new ResultsCache(tmp), runMissing: false };
    await assert.rejects(
      () => qualitativeRuns(options),
      /Experiment table1-isic-denoise \(smoke profile, 1 seed\(s\)\) lacks 5 of 5 runs in .*: benchmark-i σ=0\.1 seed 0, joint σ=0\.1 seed 0, .*; run `deno task experiment table1-isic-denoise --profile smoke --seeds 1` first/,
    );
    await assert.rejects(
      () => taskAttentionRuns(options),
      /Experiments table1-isic-denoise and table2-isic-seg-denoise .* lack 2 of 2 runs .*`deno task experiment table2-isic-seg-denoise --profile smoke --seeds 1`/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
