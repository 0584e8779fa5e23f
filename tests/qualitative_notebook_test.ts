/**
 * The qualitative-results notebook (image grids and class activation maps): its code
 * type-checks, and it executes end to end on the Deno kernel (smoke profile, a temporary cache)
 * with its grids, its CAM statistics and verdicts, and no error; the PSNR it recomputes from the
 * saved networks equals what each run reported.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";

const NOTEBOOK = join(REPO_ROOT, "notebooks", "qualitative_results.ipynb");

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown> }[];
}
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);

Deno.test("qualitative notebook: every cell's code type-checks", async () => {
  const nb = JSON.parse(await Deno.readTextFile(NOTEBOOK)) as { cells: Cell[] };
  const code = nb.cells.filter((c) => c.cell_type === "code").map(src);
  // Joined into one module beside the notebook so that relative imports resolve.
  const file = join(REPO_ROOT, "notebooks", `.typecheck_${crypto.randomUUID().slice(0, 8)}.ts`);
  await Deno.writeTextFile(file, code.join(";\n\n") + "\nexport {};\n");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name: "qualitative notebook: executes end to end and shows its grids, CAMs and verdicts",
  ignore: !(await checkNotebookTooling()).ok,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-qual-" });
    try {
      const out = join(tmp, "qualitative.ipynb");
      await executeNotebook(NOTEBOOK, out, {
        env: { GRADPROM_PROFILE: "smoke", GRADPROM_CACHE: join(tmp, "cache") },
        timeoutSeconds: 300,
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
