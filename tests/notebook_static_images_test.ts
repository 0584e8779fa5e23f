/**
 * Every chart a notebook shows is a picture in every front end: the Table 1 notebook, executed
 * on the smoke profile and converted with Debian's `jupyter nbconvert --to html` (which draws no
 * Plotly JSON), has an `<img>` for each chart cell.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { findChromium } from "../lib/figures/find_chromium.ts";
import { cellSource, checkedCodeCells, executeSmoke, shown } from "./_notebook_testing.ts";

const NBCONVERT = "/usr/bin/jupyter-nbconvert";
const NOTEBOOK = "table1_isic_denoise";

async function skipReason(): Promise<string | undefined> {
  const tooling = await checkNotebookTooling();
  if (!tooling.ok) {
    return `no notebook executor; as root: apt-get install ${tooling.missing.join(" ")}`;
  }
  if (!(await findChromium({ throwIfMissing: false }).catch(() => null))) {
    return "no Chromium; as root: apt-get install chromium fonts-dejavu-core";
  }
  try {
    const v = await new Deno.Command(NBCONVERT, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    if (!v.success) throw new Error();
  } catch {
    return `${NBCONVERT} does not run; as root: apt-get install jupyter-nbconvert`;
  }
  return undefined;
}

const reason = await skipReason();

Deno.test({
  name: `${NOTEBOOK} notebook: nbconvert --to html shows an <img> for every chart cell` +
    (reason ? ` (skipped: ${reason})` : ""),
  ignore: reason !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-static-images-" });
    try {
      const code = checkedCodeCells(await executeSmoke(NOTEBOOK, tmp, join(tmp, "cache")));
      const charts = code.filter((c) => /\bplotly\(/.test(cellSource(c)));
      assert.ok(charts.length >= 3, `expected at least 3 chart cells, found ${charts.length}`);
      for (const [i, c] of charts.entries()) {
        const data = shown(c).map((o) => o.data ?? {});
        assert.ok(
          data.some((d) => String(d["image/png"] ?? "").startsWith("iVBORw0KGgo")),
          `chart cell ${i} (${cellSource(c).split("\n").at(-1)}) has no PNG`,
        );
      }
      const out = await new Deno.Command(NBCONVERT, {
        args: ["--to", "html", "--output-dir", tmp, join(tmp, `${NOTEBOOK}.ipynb`)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const html = await Deno.readTextFile(join(tmp, `${NOTEBOOK}.html`));
      const imgs = html.match(/<img\b/g)?.length ?? 0;
      assert.ok(imgs >= charts.length, `${imgs} <img> for ${charts.length} chart cells`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
