/** The Table 2 notebook (segmentation as the auxiliary task), end to end. */
import assert from "node:assert/strict";
import { tableNotebookTests } from "./_table_notebook_tests.ts";

await tableNotebookTests("table2 notebook", "table2_isic_seg_denoise", (table) => {
  assert.match(table, /\| mIoU \(%\) \|/);
  // Our PSNR (perhaps marked below its input), no paper value (the paper's numbers for this
  // table are not known), SSIM, mIoU.
  assert.match(
    table,
    /GradProm \(gate\) \| \d+\.\d\d(?: †[^|]*)? \| {2}\| \d\.\d{3} \| {2}\| \d+\.\d \|/,
  );
});
