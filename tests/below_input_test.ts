/**
 * A run whose IP ends below its own input (issue #17: Adam at lr 1e6 "trains fine" to 7.7 dB on a
 * 20.3 dB input) finishes, but says so: a warning in its result and at the end of the run, a
 * line at the end of a grid, and a mark in the tables. A NaN or infinite loss stops a run
 * instead. Tables without such a run are unchanged, byte for byte.
 */
import assert from "node:assert/strict";
import { DEFAULT_CONFIG, mergeConfig, type Method } from "../lib/experiments/config.ts";
import { getExperiment, SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { runExperiment, type RunResult } from "../lib/experiments/run_experiment.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { stderrOf } from "./_stderr.ts";
import { checkClaims, summarize, tableHtml, tableMarkdown } from "../lib/experiments/summarize.ts";

const smoke = (over: Record<string, unknown> = {}) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method: "gradprom", ...over });

Deno.test("runExperiment() flags a run whose IP ends below its own input, and prints it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-below-" });
  try {
    const cache = new ResultsCache(dir);
    const config = smoke({ train: { lr: 1e6 } });
    const [r, err] = await stderrOf(() => runExperiment(config, { cache }));
    assert.ok(r.metrics.psnr < r.metrics.psnrInput, `${r.metrics.psnr} < ${r.metrics.psnrInput}`);
    const warning = `IP ends below its own input: test PSNR ${r.metrics.psnr.toFixed(2)} dB ` +
      `against the degraded input's ${r.metrics.psnrInput.toFixed(2)} dB`;
    assert.deepEqual(r.warnings, [warning]);
    assert.equal(err.at(-1), `warning: isic2018 gradprom σ=0.1 seed 0: ${warning}`);
    assert.deepEqual((await cache.get<RunResult>("runs", r.key))?.warnings, [warning]);
    // A grid lists it at its end, also when it comes from the cache.
    const [, gridErr] = await stderrOf(() => runGrid([config], { cache, workers: 0 }));
    assert.equal(gridErr.at(-1), `grid: warning: isic2018 gradprom σ=0.1 seed 0: ${warning}`);
    // A run that improves on its input has no warnings.
    const fine = await runExperiment(
      smoke({ degradation: { sigma: 0.3 }, train: { steps: 10, lr: 1e-2 } }),
      { cache, progress: false },
    );
    assert.ok(fine.metrics.psnr > fine.metrics.psnrInput);
    assert.equal(fine.warnings, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runExperiment() stops on a NaN loss, naming the step, and caches nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-nan-" });
  try {
    const cache = new ResultsCache(dir);
    await assert.rejects(
      () =>
        runExperiment(smoke({ method: "benchmark-i", train: { optimizer: "sgd", lr: 1e30 } }), {
          cache,
          progress: false,
        }),
      {
        name: "NonFiniteLossError",
        message: "benchmark-i σ=0.1 seed 0, step 2: Expected a finite L_IP but found NaN",
      },
    );
    const runs = [...Deno.readDirSync(dir)].find((e) => e.name === "runs");
    assert.equal(runs, undefined, "no result");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const spec = getExperiment("table1-isic-denoise");

function fakeRun(method: Method, seed: number, psnr: number, sigma = 0.1): RunResult {
  return {
    key: `${method}${seed}${sigma}`,
    config: mergeConfig(DEFAULT_CONFIG, { method, seed, degradation: { sigma } }),
    metrics: { psnr, ssim: psnr / 40, psnrInput: 20, ssimInput: 0.4, accuracy: 0.5 },
    log: { lossIp: [], lossVr: [], cosine: [], auxWeight: [] },
    vrPretrain: { key: "p", accuracyClean: 0.9, accuracyDegraded: 0.5, seconds: 1 },
    seconds: 1,
    backend: "cpu",
    version: "test",
    createdAt: "",
  };
}

/** Three rows over two seeds; `joint` at σ = 0.1 gets the PSNRs given. */
const runs = (joint: [number, number]) =>
  [0, 1].flatMap((s) => [
    fakeRun("benchmark-i", s, 25 + s),
    fakeRun("joint", s, joint[s]),
    fakeRun("gradprom", s, 21.5 + s, 0.2),
  ]);

/** tableMarkdown() and tableHtml() of `runs([22, 23])` before the marks existed. */
const BEFORE_MD =
  "| Setting | Method | PSNR (dB) | Paper PSNR | SSIM | Paper SSIM | Accuracy (%) | Seed(s) |\n" +
  "| --- | --- | --- | --- | --- | --- | --- | --- |\n" +
  "| σ = 0.1 | Benchmark-ii (VR only, clean images) |  |  |  |  | 90.0 ± 0.0 clean / 50.0 ± 0.0 degraded | 0,1 |\n" +
  "| σ = 0.1 | Benchmark-i (IP only) | 25.50 ± 0.71 |  | 0.637 ± 0.018 |  | 50.0 ± 0.0 | 0,1 |\n" +
  "| σ = 0.1 | Joint training | 22.50 ± 0.71 |  | 0.563 ± 0.018 |  | 50.0 ± 0.0 | 0,1 |\n" +
  "| σ = 0.2 | Benchmark-ii (VR only, clean images) |  |  |  |  | 90.0 ± 0.0 clean / 50.0 ± 0.0 degraded | 0,1 |\n" +
  "| σ = 0.2 | GradProm (gate) | 22.00 ± 0.71 |  | 0.550 ± 0.018 |  | 50.0 ± 0.0 | 0,1 |\n" +
  "\n" +
  "Degraded input, before enhancement: σ = 0.1: degraded input 20.00 ± 0.00 dB / SSIM 0.400 ± 0.000; σ = 0.2: degraded input 20.00 ± 0.00 dB / SSIM 0.400 ± 0.000.\n" +
  "\n" +
  "- σ = 0.1: best PSNR Benchmark-i (IP only) (25.50 dB), best accuracy Benchmark-i (IP only) (50.0%).\n" +
  "- σ = 0.2: best PSNR GradProm (gate) (22.00 dB), best accuracy GradProm (gate) (50.0%).\n" +
  "\n" +
  "| Paper's claim | Ours (Δ) | Paper (Δ) | Verdict on our data |\n" +
  "| --- | --- | --- | --- |\n" +
  "| GradProm beats Frozen-params in PSNR at σ = 0.1 (paper: +1.231 dB) |  | 1.231 | not run |\n" +
  "| GradProm beats Frozen-params in SSIM at σ = 0.1 (paper: +0.009) |  | 0.009 | not run |\n" +
  "| GradProm beats Joint training in PSNR at σ = 0.1 (paper's ablation) |  |  | not run |\n" +
  "";
const BEFORE_HTML =
  "<table><thead><tr><th>Setting</th><th>Method</th><th>PSNR (dB)</th><th>Paper PSNR</th><th>SSIM</th><th>Paper SSIM</th><th>Accuracy (%)</th><th>Seed(s)</th></tr></thead><tbody>\n" +
  "<tr><td>σ = 0.1</td><td>Benchmark-ii (VR only, clean images)</td><td></td><td></td><td></td><td></td><td>90.0 ± 0.0 clean / 50.0 ± 0.0 degraded</td><td>0,1</td></tr>\n" +
  "<tr><td>σ = 0.1</td><td>Benchmark-i (IP only)</td><td>25.50 ± 0.71</td><td></td><td>0.637 ± 0.018</td><td></td><td>50.0 ± 0.0</td><td>0,1</td></tr>\n" +
  "<tr><td>σ = 0.1</td><td>Joint training</td><td>22.50 ± 0.71</td><td></td><td>0.563 ± 0.018</td><td></td><td>50.0 ± 0.0</td><td>0,1</td></tr>\n" +
  "<tr><td>σ = 0.2</td><td>Benchmark-ii (VR only, clean images)</td><td></td><td></td><td></td><td></td><td>90.0 ± 0.0 clean / 50.0 ± 0.0 degraded</td><td>0,1</td></tr>\n" +
  "<tr><td>σ = 0.2</td><td>GradProm (gate)</td><td>22.00 ± 0.71</td><td></td><td>0.550 ± 0.018</td><td></td><td>50.0 ± 0.0</td><td>0,1</td></tr>\n" +
  "</tbody></table>";

Deno.test("tableMarkdown() and tableHtml() are unchanged when no run ends below its input", () => {
  const rows = summarize(spec, runs([22, 23]));
  assert.equal(tableMarkdown(rows, checkClaims(spec, rows)), BEFORE_MD);
  assert.equal(tableHtml(rows), BEFORE_HTML);
  assert.ok(rows.every((r) => r.belowInput === undefined));
});

Deno.test("tableMarkdown() and tableHtml() mark a row whose IP ends below its input, with a footnote", () => {
  const note = "† IP ends below its own input: its test PSNR is lower than the degraded " +
    "input's (in every seed of the row, or in the seeds named beside the mark).";
  // Both seeds below the input (20 dB): the mark alone.
  const all = summarize(spec, runs([7.5, 8.5]));
  assert.deepEqual(all.find((r) => r.method === "joint")?.belowInput, [0, 1]);
  const md = tableMarkdown(all, checkClaims(spec, all));
  assert.ok(md.includes("| σ = 0.1 | Joint training | 8.00 ± 0.71 † |  | 0.200 ± 0.018 |"), md);
  assert.ok(md.includes(`degraded input 20.00 ± 0.00 dB / SSIM 0.400 ± 0.000.\n\n${note}\n`), md);
  assert.equal(md.split("†").length - 1, 2, "one mark and the footnote");
  assert.ok(tableHtml(all).includes("<td>8.00 ± 0.71 †</td>"));
  assert.ok(tableHtml(all).endsWith(`</table><p>${note}</p>`));
  // One seed of two: the mark names it. The other rows are as before.
  const one = summarize(spec, runs([22, 19.5]));
  const mdOne = tableMarkdown(one, checkClaims(spec, one));
  assert.ok(mdOne.includes("| Joint training | 20.75 ± 1.77 † (seed 1) |"), mdOne);
  const before = BEFORE_MD.split("\n");
  for (const line of mdOne.split("\n").filter((l) => l.startsWith("| σ") && !l.includes("Joint"))) {
    assert.ok(before.includes(line), line);
  }
});
