/**
 * The notebooks of the other datasets, super-resolution, Table 5, the
 * ablations, the λ sweep, SGD-vs-Adam and the gradient dynamics, end to end: their code type-checks,
 * and each executes on the Deno kernel (smoke profile, one shared temporary
 * cache so that runs common to several notebooks are trained once) with its
 * tables, charts and verdicts and no error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { executeSmoke } from "./_notebook_testing.ts";

/** Each notebook, the Plotly charts it must show and a pattern its Markdown outputs must hold. */
const NOTEBOOKS: { name: string; plots: number; text: RegExp }[] = [
  { name: "other_datasets_denoise", plots: 3, text: /\| CAMUS \| GradProm \(gate\) \|/ },
  { name: "super_resolution", plots: 3, text: /\| SR ×4 \| GradProm \(gate\) \|/ },
  { name: "table5_methods", plots: 2, text: /\| CAGrad \|/ },
  { name: "ablations", plots: 3, text: /gate of the segmentation auxiliary: open on/ },
  { name: "lambda_sensitivity", plots: 2, text: /\| GradProm − Joint \(dB\) \|/ },
  { name: "sgd_vs_adam", plots: 3, text: /\| SGD \| GradProm \(gate\) \|/ },
  { name: "gradient_dynamics", plots: 2, text: /conflict most often \(GradProm, global gate\)/ },
];

const tooling = await checkNotebookTooling();
Deno.test({
  name: "experiment notebooks: each executes end to end with its tables, charts and verdicts",
  ignore: !tooling.ok,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-nbs-" });
    try {
      for (const { name, plots, text } of NOTEBOOKS) {
        await t.step(name, async () => {
          const cells = await executeSmoke(name, tmp, join(tmp, "cache"));
          const outputs = cells.flatMap((c) => c.outputs ?? []);
          const errors = outputs.filter((o) => o.output_type === "error");
          assert.equal(errors.length, 0, errors.map((e) => `${e.ename}: ${e.evalue}`).join("\n"));
          const mimes = outputs.flatMap((o) => Object.keys(o.data ?? {}));
          assert.equal(mimes.filter((m) => m === "application/vnd.plotly.v1+json").length, plots);
          // Every chart also carries an HTML fallback for frontends without the Plotly renderer.
          assert.ok(mimes.filter((m) => m === "text/html").length >= plots);
          const markdown = outputs.map((o) => String(o.data?.["text/markdown"] ?? "")).join("\n");
          assert.match(markdown, text);
          if (name !== "lambda_sensitivity") assert.match(markdown, /claims? hold|No claim/);
        });
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
