/**
 * The Table 2 notebook (segmentation as the auxiliary task), executed end to end on the Deno kernel (smoke profile,
 * a temporary cache), with its outputs checked; and its code type-checked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";

const NOTEBOOK = join(REPO_ROOT, "notebooks", "table2_isic_seg_denoise.ipynb");

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; text?: string | string[] }[];
}
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);

Deno.test("table2 notebook: every cell's code type-checks", async () => {
  const nb = JSON.parse(await Deno.readTextFile(NOTEBOOK)) as { cells: Cell[] };
  const code = nb.cells.filter((c) => c.cell_type === "code").map(src);
  // Cells are joined into one module beside the notebook so relative imports resolve.
  // A cell's last expression is its display value; as a statement it type-checks the same.
  const file = join(REPO_ROOT, "notebooks", `.typecheck_${crypto.randomUUID().slice(0, 8)}.ts`);
  await Deno.writeTextFile(file, code.join(";\n\n") + "\nexport {};\n");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", file],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name: "table2 notebook: executes end to end and shows its table, charts and verdicts",
  ignore: !(await checkNotebookTooling()).ok,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-nb-" });
    try {
      const out = join(tmp, "table2.ipynb");
      await executeNotebook(NOTEBOOK, out, {
        env: { GRADPROM_PROFILE: "smoke", GRADPROM_CACHE: join(tmp, "cache"), GRADPROM_SEEDS: "1" },
        onStderrLine: () => {},
      });
      const nb = JSON.parse(await Deno.readTextFile(out)) as { cells: Cell[] };
      const code = nb.cells.filter((c) => c.cell_type === "code");
      const mimes = code.map((c) =>
        (c.outputs ?? []).filter((o) =>
          o.output_type === "execute_result" || o.output_type === "display_data"
        )
          .flatMap((o) => Object.keys(o.data ?? {}))
      );
      for (const [i, m] of mimes.entries()) {
        assert.ok(m.length > 0, `code cell ${i} has no display output`);
      }
      const text = (i: number, mime: string) =>
        String(
          code[i].outputs!.find((o) => o.data?.[mime])?.data?.[mime] ?? "",
        );
      const tableCell = code.findIndex((c) => src(c).includes("runGrid("));
      const table = text(tableCell, "text/markdown");
      assert.match(table, /\| mIoU \(%\) \|/);
      // Our PSNR, no paper value (the paper's numbers for this table are not known), SSIM, mIoU.
      assert.match(table, /GradProm \(gate\) \| \d+\.\d\d \| {2}\| \d\.\d{3} \| {2}\| \d+\.\d \|/);
      const plots = mimes.filter((m) => m.includes("application/vnd.plotly.v1+json")).length;
      assert.equal(plots, 3);
      assert.match(text(code.length - 1, "text/markdown"), /claims hold on our smoke-profile data/);
      const errors = code.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      assert.equal(errors.length, 0);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
