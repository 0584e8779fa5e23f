/**
 * The notebooks of the notebook index that show experiment grids and have no test of their own
 * (the other datasets, super-resolution, Table 5, the ablations, the λ sweep, SGD-vs-Adam and the
 * gradient dynamics), end to end: each executes on the Deno kernel (smoke profile, one shared
 * temporary cache so that runs common to several notebooks are trained once) with one Plotly
 * chart per `plotly(` call of its code, its tables and verdicts, and no error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NOTEBOOKS } from "../lib/experiments/notebook_index.ts";
import { findChromium } from "../lib/figures/find_chromium.ts";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { cellSource, executeSmoke, notebookPath, readCells } from "./_notebook_testing.ts";

/** Notebooks with a test file of their own (`tests/<short name>_notebook_test.ts`). */
const OWN_TESTS = new Set(["table1_isic_denoise", "table2_isic_seg_denoise"]);

/** What a notebook's Markdown outputs must hold, beyond its table and claims, by notebook. */
const SHOWS: Record<string, RegExp> = {
  other_datasets_denoise: /\| CAMUS \| GradProm \(gate\) \|/,
  super_resolution: /\| SR ×4 \| GradProm \(gate\) \|/,
  table5_methods: /\| CAGrad \|/,
  ablations: /gate of the segmentation auxiliary: open on/,
  lambda_sensitivity: /\| λ \| GradProm − Joint \(dB\) \|/,
  sgd_vs_adam: /\| SGD \| GradProm \(gate\) \|/,
  gradient_dynamics: /conflict most often \(GradProm, global gate\)/,
};

/** The index's notebooks with experiments and no test file of their own, in index order. */
const names = NOTEBOOKS.filter((n) => n.experiments.length && !OWN_TESTS.has(n.name))
  .map((n) => n.name);

Deno.test("experiment notebooks: every one of the index has its expected contents here", () => {
  assert.deepEqual(Object.keys(SHOWS).sort(), [...names].sort());
});

const tooling = await checkNotebookTooling();
const chromium = await findChromium({ throwIfMissing: false }) !== null &&
  Deno.env.get("GRADPROM_STATIC_FIGURES") !== "0";
Deno.test({
  name: "experiment notebooks: each executes end to end with its tables, charts and verdicts",
  ignore: !tooling.ok,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-nbs-" });
    try {
      for (const name of names) {
        await t.step(name, async () => {
          const source = (await readCells(notebookPath(name))).filter((c) => c.cell_type === "code")
            .map(cellSource).join("\n");
          const plots = source.split("plotly(").length - 1;
          const cells = await executeSmoke(name, tmp, join(tmp, "cache"));
          const outputs = cells.flatMap((c) => c.outputs ?? []);
          const errors = outputs.filter((o) => o.output_type === "error");
          assert.equal(errors.length, 0, errors.map((e) => `${e.ename}: ${e.evalue}`).join("\n"));
          const charts = outputs.filter((o) => "application/vnd.plotly.v1+json" in (o.data ?? {}));
          assert.equal(charts.length, plots);
          // Every chart is also a picture (a PNG from headless Chromium) for front ends without
          // the Plotly renderer; without Chromium, an HTML table of its numbers instead.
          for (const c of charts) {
            const data = c.data ?? {};
            assert.ok(
              chromium ? "image/png" in data : "text/html" in data,
              Object.keys(data).join(),
            );
          }
          const markdown = outputs.map((o) => String(o.data?.["text/markdown"] ?? "")).join("\n");
          assert.match(markdown, /\| Setting \| Method \| PSNR \(dB\) \|/);
          assert.match(markdown, SHOWS[name]);
          if (source.includes("claimsMarkdown(")) {
            assert.match(markdown, /claims? hold|No claim/);
          }
        });
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
