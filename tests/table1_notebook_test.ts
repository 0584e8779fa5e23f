/** The Table 1 notebook (diagnosis as the auxiliary task), end to end. */
import assert from "node:assert/strict";
import { tableNotebookTests } from "./_table_notebook_tests.ts";

await tableNotebookTests("table1 notebook", "table1_isic_denoise", (table) => {
  // A PSNR may carry the mark of a run below its own input (smoke runs are that short).
  assert.match(table, /GradProm \(gate\) \| \d+\.\d\d(?: †[^|]*)? \| 33\.383/);
  assert.match(table, /Frozen-params \(ESTR\) \| \d+\.\d\d(?: †[^|]*)? \| 32\.152/);
});
