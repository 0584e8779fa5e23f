/**
 * The Fig. 1 notebook (toy problem), executed end to end on the Deno kernel
 * with its outputs checked; and its code type-checked.
 */
import assert from "node:assert/strict";
import { shownFigures, shownMarkdown, smokeNotebookTest } from "./_notebook_testing.ts";

await smokeNotebookTest(
  "fig1 notebook: executes end to end and shows its figures, tables and verdicts",
  "fig1_gradient_promotion",
  (code) => {
    const plots = shownFigures<{ data: { type: string; name?: string }[] }>(code);
    assert.equal(plots.length, 5);
    const contour = plots[0];
    assert.equal(contour.data.filter((t) => t.type === "contour").length, 3);
    for (const m of ["IP only", "Joint", "GradProm (gate)", "GradProm (weighted)"]) {
      assert.ok(contour.data.some((t) => t.name === m), `no trajectory for ${m}`);
    }
    const md = shownMarkdown(code);
    assert.equal(md.filter((m) => m.startsWith("| Method | final L_IP")).length, 2);
    assert.ok(md.some((m) => m.includes("Lemma 3.1's bound holds at every step")));
  },
  120,
);
