/**
 * The shared end-to-end checks of a paper-table notebook: its code cells
 * type-check, and it executes on the Deno kernel (smoke profile, a temporary
 * cache) with a table, three Plotly charts, verdicts and no error; the table's
 * own contents are checked by the caller.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { cellSource, executeSmoke } from "./_notebook_testing.ts";

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
  const tooling = await checkNotebookTooling();
  Deno.test({
    name: `${label}: executes end to end and shows its table, charts and verdicts`,
    ignore: !tooling.ok,
    async fn() {
      const tmp = await Deno.makeTempDir({ prefix: "gradprom-nb-" });
      try {
        const cells = await executeSmoke(name, tmp, join(tmp, "cache"));
        const code = cells.filter((c) => c.cell_type === "code");
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
        const tableCell = code.findIndex((c) => cellSource(c).includes("runGrid("));
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
