/**
 * The qualitative-results notebook (image grids and class activation maps): its code
 * type-checks, and it executes end to end on the Deno kernel (smoke profile, a temporary cache)
 * with its grids, its CAM statistics and verdicts, and no error; the PSNR it recomputes from the
 * saved networks equals what each run reported.
 */
import assert from "node:assert/strict";
import { shownFigures, shownMarkdown, smokeNotebookTest } from "./_notebook_testing.ts";

await smokeNotebookTest(
  "qualitative notebook: executes end to end and shows its grids, CAMs and verdicts",
  "qualitative_results",
  (code) => {
    type Fig = { data: { type: string; source?: string }[] };
    const plots = shownFigures<Fig>(code);
    // Smoke has one σ: its denoising grid and the CAM grid (4 images × 7 columns each), then
    // the CAM statistics of the 5 methods.
    assert.equal(plots.length, 3);
    for (const grid of plots.slice(0, 2)) {
      const images = grid.data.filter((t) => t.type === "image");
      assert.equal(images.length, 4 * 7);
      assert.ok(images.every((t) => t.source?.startsWith("data:image/png;base64,")));
    }
    assert.equal((plots[2].data[0] as unknown as { x: string[] }).x.length, 5);
    const md = shownMarkdown(code);
    // Recomputed PSNR = the run's reported PSNR, for every method.
    const check = md.find((m) => m.includes("the run's reported PSNR"))!;
    const rows = [...check.matchAll(/\| ([\d.]+) \| ([^|]+) \| ([\d.]+) \| ([\d.]+) \|/g)];
    assert.equal(rows.length, 5);
    for (const r of rows) assert.equal(r[3], r[4], `${r[2]}: ${r[3]} here, ${r[4]} reported`);
    assert.ok(md.some((m) => m.includes("| 0.1 | GradProm | ") && m.includes("PSNR inside")));
    assert.ok(md.some((m) => /\d of 2 claims hold on our smoke-profile data/.test(m)));
  },
  300,
);
