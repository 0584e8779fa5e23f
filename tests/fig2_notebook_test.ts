/**
 * The Fig. 2 notebook (what each task attends to): its code type-checks, and it executes end to
 * end on the Deno kernel (smoke profile, a temporary cache) with its image grid, its statistics
 * chart, the cosine table and the verdicts, and no error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { type Cell, executeSmoke } from "./_notebook_testing.ts";

Deno.test({
  name: "fig2 notebook: executes end to end and shows its maps, statistics and verdicts",
  ignore: !(await checkNotebookTooling()).ok,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-fig2-" });
    try {
      const cells = await executeSmoke("fig2_task_attention", tmp, join(tmp, "cache"), 300);
      const code = cells.filter((c) => c.cell_type === "code");
      const shown = (c: Cell) =>
        (c.outputs ?? []).filter((o) =>
          o.output_type === "execute_result" || o.output_type === "display_data"
        );
      for (const [i, c] of code.entries()) {
        assert.ok(shown(c).length > 0, `code cell ${i} has no display output`);
      }
      const errors = code.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      assert.equal(errors.length, 0);
      type Fig = { data: { type: string; source?: string }[]; layout: Record<string, unknown> };
      const plots = code.flatMap(shown).map((o) =>
        o.data?.["application/vnd.plotly.v1+json"] as Fig | undefined
      ).filter((f) => f !== undefined);
      assert.equal(plots.length, 2);
      // The grid: 3 images × 8 columns, each a PNG; then the statistics, 5 maps.
      const images = plots[0].data.filter((t) => t.type === "image");
      assert.equal(images.length, 3 * 8);
      assert.ok(images.every((t) => t.source?.startsWith("data:image/png;base64,")));
      assert.deepEqual(
        (plots[1].data[0] as unknown as { x: string[] }).x,
        [
          "denoising |∂L/∂Ŷ|",
          "segmentation |∂L/∂Ŷ|",
          "segmentation CAM",
          "diagnosis |∂L/∂Ŷ|",
          "diagnosis Grad-CAM",
        ],
      );
      const md = code.flatMap(shown).map((o) => String(o.data?.["text/markdown"] ?? ""));
      assert.ok(
        md.some((m) => /\| denoising vs segmentation \| -?\d\.\d{3} ± \d\.\d{3} \|/.test(m)),
      );
      assert.ok(md.some((m) => /\d of 3 readings hold on our smoke-profile data/.test(m)));
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
