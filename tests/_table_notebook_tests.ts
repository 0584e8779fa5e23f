/**
 * The shared end-to-end checks of a paper-table notebook: its code cells
 * type-check, and it executes on the Deno kernel (smoke profile, a temporary
 * cache) with a table, three Plotly charts, verdicts and no error; the table's
 * own contents are checked by the caller.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; text?: string | string[] }[];
}
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);

/**
 * Registers the two tests of `notebooks/<name>.ipynb`.
 *
 * @param label Test name prefix, e.g. "table1 notebook".
 * @param name Notebook file name without extension.
 * @param checkTable Assertions on the table cell's Markdown output.
 */
export async function tableNotebookTests(
  label: string,
  name: string,
  checkTable: (table: string) => void,
): Promise<void> {
  const notebook = join(REPO_ROOT, "notebooks", `${name}.ipynb`);

  Deno.test(`${label}: every cell's code type-checks`, async () => {
    const nb = JSON.parse(await Deno.readTextFile(notebook)) as { cells: Cell[] };
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
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(file);
    }
  });

  const tooling = await checkNotebookTooling();
  Deno.test({
    name: `${label}: executes end to end and shows its table, charts and verdicts`,
    ignore: !tooling.ok,
    async fn() {
      const tmp = await Deno.makeTempDir({ prefix: "gradprom-nb-" });
      try {
        const out = join(tmp, `${name}.ipynb`);
        await executeNotebook(notebook, out, {
          env: {
            GRADPROM_PROFILE: "smoke",
            GRADPROM_CACHE: join(tmp, "cache"),
            GRADPROM_SEEDS: "1",
          },
          onStderrLine: () => {},
        });
        const nb = JSON.parse(await Deno.readTextFile(out)) as { cells: Cell[] };
        const code = nb.cells.filter((c) => c.cell_type === "code");
        const mimes = code.map((c) =>
          (c.outputs ?? [])
            .filter((o) => o.output_type === "execute_result" || o.output_type === "display_data")
            .flatMap((o) => Object.keys(o.data ?? {}))
        );
        for (const [i, m] of mimes.entries()) {
          assert.ok(m.length > 0, `code cell ${i} has no display output`);
        }
        const text = (i: number, mime: string) =>
          String(code[i].outputs!.find((o) => o.data?.[mime])?.data?.[mime] ?? "");
        const tableCell = code.findIndex((c) => src(c).includes("runGrid("));
        checkTable(text(tableCell, "text/markdown"));
        const plots = mimes.filter((m) => m.includes("application/vnd.plotly.v1+json")).length;
        assert.equal(plots, 3);
        assert.match(
          text(code.length - 1, "text/markdown"),
          /claims hold on our smoke-profile data/,
        );
        const errors = code.flatMap((c) => c.outputs ?? []).filter((o) =>
          o.output_type === "error"
        );
        assert.equal(errors.length, 0);
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}
