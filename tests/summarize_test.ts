import assert from "node:assert/strict";
import { getExperiment } from "../lib/experiments/registry.ts";
import type { RunResult } from "../lib/experiments/run_experiment.ts";
import {
  checkClaims,
  stat,
  summarize,
  tableCsv,
  tableMarkdown,
} from "../lib/experiments/summarize.ts";
import { DEFAULT_CONFIG, mergeConfig, type Method } from "../lib/experiments/config.ts";

const spec = getExperiment("table1-isic-denoise");

function fakeRun(method: Method, seed: number, psnr: number): RunResult {
  return {
    key: `${method}${seed}`,
    config: mergeConfig(DEFAULT_CONFIG, { method, seed, degradation: { sigma: 0.1 } }),
    metrics: { psnr, ssim: psnr / 40, psnrInput: 20, ssimInput: 0.4, accuracy: 0.5 },
    log: { lossIp: [], lossVr: [], cosine: [], auxWeight: [] },
    vrPretrain: { key: "p", accuracyClean: 0.9, accuracyDegraded: 0.5, seconds: 1 },
    seconds: 1,
    backend: "cpu",
    version: "test",
    createdAt: "",
  };
}

Deno.test("stat() gives the mean and the sample standard deviation", () => {
  assert.deepEqual(stat([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.deepEqual(stat([5]), { mean: 5, std: 0, n: 1 });
});

Deno.test("summarize() puts the paper's value beside ours and checkClaims() gives verdicts", () => {
  const runs = [0, 1, 2].flatMap((s) => [
    fakeRun("frozen", s, 25 + 0.1 * s),
    fakeRun("gradprom", s, 26 + 0.1 * s),
    fakeRun("joint", s, 26.05 + 0.3 * s),
  ]);
  const rows = summarize(spec, runs);
  assert.deepEqual(rows.map((r) => r.method), ["benchmark-ii", "joint", "frozen", "gradprom"]);
  const gp = rows.find((r) => r.method === "gradprom")!;
  assert.equal(gp.paperPsnr, 33.383);
  assert.ok(Math.abs(gp.psnr!.mean - 26.1) < 1e-9);
  const claims = checkClaims(spec, rows);
  assert.equal(claims[0].verdict, "holds"); // +1 dB, tiny spread
  assert.equal(claims[2].verdict, "inconclusive"); // GradProm vs Joint within noise
  const md = tableMarkdown(rows, claims);
  assert.match(md, /GradProm \(gate\) \| 26\.10 ± 0\.10 \| 33\.383/);
  assert.match(md, /inconclusive \(3 seeds/);
  assert.match(tableCsv(rows), /^setting,sigma,method,psnr_mean/);
});

Deno.test("checkClaims() says 'does not hold' when the paper's ordering is reversed", () => {
  const runs = [0, 1].flatMap((
    s,
  ) => [fakeRun("frozen", s, 27 + s * 0.01), fakeRun("gradprom", s, 25 + s * 0.01)]);
  const claims = checkClaims(spec, summarize(spec, runs));
  assert.equal(claims[0].verdict, "does not hold");
  assert.equal(claims[2].verdict, "not run");
});

Deno.test("summarize() groups by the spec's groupOf and compares across groups", () => {
  const multi = getExperiment("ablation-multitask");
  const run = (task: "diagnosis" | "segmentation" | "diagnosis+segmentation", psnr: number) => {
    const r = fakeRun("gradprom", 0, psnr);
    r.config = mergeConfig(r.config, { data: { dataset: "lizard", task } });
    r.metrics = { ...r.metrics, ...(task === "diagnosis" ? {} : { miou: 0.4 }) };
    return r;
  };
  const rows = summarize(multi, [
    run("diagnosis", 25),
    run("segmentation", 24),
    run("diagnosis+segmentation", 23),
  ]);
  assert.deepEqual(rows.map((r) => r.group), [
    "diagnosis only",
    "segmentation only",
    "diagnosis + segmentation",
  ]);
  assert.ok(!rows.some((r) => r.method === "benchmark-ii")); // hidden by the spec
  const md = tableMarkdown(rows);
  assert.match(md, /\| Accuracy \(%\) \| mIoU \(%\) \|/);
  const psnrClaims = checkClaims(multi, rows).filter((c) => c.text.includes("PSNR"));
  assert.deepEqual(psnrClaims.map((c) => c.delta), [2, 1]); // alone − both
  assert.ok(psnrClaims.every((c) => c.verdict === "holds"));
});
