/**
 * The Fig. 1 notebook (toy problem), executed end to end on the Deno kernel
 * with its outputs checked; and its code type-checked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";
import type { Cell } from "./_notebook_testing.ts";

const NOTEBOOK = join(REPO_ROOT, "notebooks", "fig1_gradient_promotion.ipynb");

Deno.test({
  name: "fig1 notebook: executes end to end and shows its figures, tables and verdicts",
  ignore: !(await checkNotebookTooling()).ok,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-fig1-" });
    try {
      const out = join(tmp, "fig1.ipynb");
      await executeNotebook(NOTEBOOK, out, {
        env: { GRADPROM_PROFILE: "smoke" },
        timeoutSeconds: 120,
        onStderrLine: () => {},
      });
      const nb = JSON.parse(await Deno.readTextFile(out)) as { cells: Cell[] };
      const code = nb.cells.filter((c) => c.cell_type === "code");
      const shown = (c: Cell) =>
        (c.outputs ?? []).filter((o) =>
          o.output_type === "execute_result" || o.output_type === "display_data"
        );
      for (const [i, c] of code.entries()) {
        assert.ok(shown(c).length > 0, `code cell ${i} has no display output`);
      }
      const plots = code.flatMap(shown).filter((o) => o.data?.["application/vnd.plotly.v1+json"]);
      assert.equal(plots.length, 5);
      const contour = plots[0].data!["application/vnd.plotly.v1+json"] as {
        data: { type: string; name?: string }[];
      };
      assert.equal(contour.data.filter((t) => t.type === "contour").length, 3);
      for (const m of ["IP only", "Joint", "GradProm (gate)", "GradProm (weighted)"]) {
        assert.ok(contour.data.some((t) => t.name === m), `no trajectory for ${m}`);
      }
      const md = code.flatMap(shown).map((o) => String(o.data?.["text/markdown"] ?? ""));
      assert.equal(md.filter((m) => m.startsWith("| Method | final L_IP")).length, 2);
      assert.ok(md.some((m) => m.includes("Lemma 3.1's bound holds at every step")));
      const errors = code.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      assert.equal(errors.length, 0);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
