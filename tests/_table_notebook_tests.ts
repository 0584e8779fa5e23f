/**
 * The shared end-to-end check of a paper-table notebook: it executes on the Deno kernel (smoke
 * profile, a temporary cache) with a table, three Plotly charts, verdicts and no error; the
 * table's own contents are checked by the caller.
 */
import assert from "node:assert/strict";
import { cellSource, shownFigures, shownMarkdown, smokeNotebookTest } from "./_notebook_testing.ts";

/**
 * Registers the test of `notebooks/<name>.ipynb`.
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
  await smokeNotebookTest(
    `${label}: executes end to end and shows its table, charts and verdicts`,
    name,
    (code) => {
      const markdown = (i: number) => shownMarkdown([code[i]]).join("\n");
      checkTable(markdown(code.findIndex((c) => cellSource(c).includes("tableDisplay("))));
      assert.equal(shownFigures(code).length, 3);
      assert.match(markdown(code.length - 1), /claims hold on our smoke-profile data/);
    },
  );
}
