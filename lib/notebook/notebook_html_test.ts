import assert from "node:assert/strict";
import { join } from "node:path";
import { NBCONVERT, notebookHtmlCopies, notebookToHtml } from "./notebook_html.ts";

/** A 1×1 PNG. */
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/** An executed notebook with one chart cell as the project's bundles have it: a PNG, no HTML. */
const NOTEBOOK = {
  cells: [
    { cell_type: "markdown", id: "m", metadata: {}, source: ["# A chart"] },
    {
      cell_type: "code",
      id: "c",
      execution_count: 1,
      metadata: {},
      source: ["plotly(fig)"],
      outputs: [{
        output_type: "display_data",
        metadata: {},
        data: {
          "application/vnd.plotly.v1+json": { data: [], layout: {} },
          "image/png": PNG,
          "text/plain": ["a chart"],
        },
      }],
    },
  ],
  metadata: { language_info: { name: "typescript" } },
  nbformat: 4,
  nbformat_minor: 5,
};

const nbconvertRuns = await new Deno.Command(NBCONVERT, {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);
const skip = nbconvertRuns
  ? ""
  : ` (skipped: ${NBCONVERT} does not run; as root: apt-get install jupyter-nbconvert)`;

Deno.test("notebookHtmlCopies() without nbconvert gives no copies and one note, and does not throw", async () => {
  const r = await notebookHtmlCopies(["/x/a.ipynb", "/x/b.ipynb"], {
    nbconvert: "/nonexistent/jupyter-nbconvert",
  });
  assert.deepEqual(r.html, [null, null]);
  assert.equal(
    r.note,
    "No HTML copies of the notebooks: /nonexistent/jupyter-nbconvert is not installed " +
      "(as root: apt-get install -y --no-install-recommends jupyter-nbconvert).",
  );
});

Deno.test({
  name: `notebookToHtml() writes the HTML copy beside the notebook, the chart as an <img>${skip}`,
  ignore: !nbconvertRuns,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gradprom-nbhtml-" });
    try {
      const nb = join(dir, "fig.ipynb");
      await Deno.writeTextFile(nb, JSON.stringify(NOTEBOOK));
      assert.equal(await notebookToHtml(nb), join(dir, "fig.html"));
      const html = await Deno.readTextFile(join(dir, "fig.html"));
      assert.match(html, /<img src="data:image\/png;base64,iVBORw0KGgo/);
      assert.match(html, /<h1[^>]*>A chart/);
      // Only the notebook and its copy: no temporaries, no nbconvert side files.
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "fig.html",
        "fig.ipynb",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    `notebookHtmlCopies() converts what it can and names the notebook nbconvert failed on${skip}`,
  ignore: !nbconvertRuns,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gradprom-nbhtml-" });
    try {
      await Deno.writeTextFile(join(dir, "good.ipynb"), JSON.stringify(NOTEBOOK));
      await Deno.writeTextFile(join(dir, "bad.ipynb"), "{not json");
      const r = await notebookHtmlCopies([join(dir, "bad.ipynb"), join(dir, "good.ipynb")]);
      assert.deepEqual(r.html, [null, join(dir, "good.html")]);
      assert.match(r.note!, /^No HTML copy of 1 notebook\(s\): nbconvert failed on bad\.ipynb \(/);
      await assert.rejects(() => notebookToHtml(join(dir, "bad.ipynb")), /could not convert/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
