/**
 * The Fig. 2 notebook (what each task attends to): its code type-checks, and it executes end to
 * end on the Deno kernel (smoke profile, a temporary cache) with its image grid, its statistics
 * chart, the cosine table and the verdicts, and no error.
 */
import assert from "node:assert/strict";
import { shownFigures, shownMarkdown, smokeNotebookTest } from "./_notebook_testing.ts";

await smokeNotebookTest(
  "fig2 notebook: executes end to end and shows its maps, statistics and verdicts",
  "fig2_task_attention",
  (code) => {
    type Fig = { data: { type: string; source?: string }[]; layout: Record<string, unknown> };
    const plots = shownFigures<Fig>(code);
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
    const md = shownMarkdown(code);
    assert.ok(
      md.some((m) => /\| denoising vs segmentation \| -?\d\.\d{3} ± \d\.\d{3} \|/.test(m)),
    );
    assert.ok(md.some((m) => /\d of 3 readings hold on our smoke-profile data/.test(m)));
  },
  300,
);
