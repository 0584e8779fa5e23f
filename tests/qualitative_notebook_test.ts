/**
 * The qualitative-results notebook (image grids and class activation maps): its code
 * type-checks, and it executes end to end on the Deno kernel (smoke profile, a temporary cache)
 * with its grids, its CAM statistics and verdicts, and no error; the PSNR it recomputes from the
 * saved networks equals what each run reported.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { type Cell, executeSmoke } from "./_notebook_testing.ts";

Deno.test({
  name: "qualitative notebook: executes end to end and shows its grids, CAMs and verdicts",
  ignore: !(await checkNotebookTooling()).ok,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-qual-" });
    try {
      const cells = await executeSmoke("qualitative_results", tmp, join(tmp, "cache"), 300);
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
      type Fig = { data: { type: string; source?: string }[] };
      const plots = code.flatMap(shown).map((o) =>
        o.data?.["application/vnd.plotly.v1+json"] as Fig | undefined
      ).filter((f) => f !== undefined);
      // Smoke has one σ: its denoising grid and the CAM grid (4 images × 7 columns each), then
      // the CAM statistics of the 5 methods.
      assert.equal(plots.length, 3);
      for (const grid of plots.slice(0, 2)) {
        const images = grid.data.filter((t) => t.type === "image");
        assert.equal(images.length, 4 * 7);
        assert.ok(images.every((t) => t.source?.startsWith("data:image/png;base64,")));
      }
      assert.equal((plots[2].data[0] as unknown as { x: string[] }).x.length, 5);
      const md = code.flatMap(shown).map((o) => String(o.data?.["text/markdown"] ?? ""));
      // Recomputed PSNR = the run's reported PSNR, for every method.
      const check = md.find((m) => m.includes("the run's reported PSNR"))!;
      const rows = [...check.matchAll(/\| ([\d.]+) \| ([^|]+) \| ([\d.]+) \| ([\d.]+) \|/g)];
      assert.equal(rows.length, 5);
      for (const r of rows) assert.equal(r[3], r[4], `${r[2]}: ${r[3]} here, ${r[4]} reported`);
      assert.ok(md.some((m) => m.includes("| 0.1 | GradProm | ") && m.includes("PSNR inside")));
      assert.ok(md.some((m) => /\d of 2 claims hold on our smoke-profile data/.test(m)));
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
