/**
 * The one-page HTML report of `deno task reproduce` (`results/index.html`): one self-contained
 * file, with plotly.js inlined once (from the pinned npm package) and every figure drawn by it,
 * so that it opens offline, from any folder, and every figure is interactive; the run settings
 * and versions; each experiment's table, the paper's claims with their verdicts and its figures;
 * links to the executed notebooks, their HTML copies and the tables.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, relative } from "node:path";
import type { PlotlyFigure } from "../plots/plotly.ts";
import { type ClaimCheck, claimsHtml } from "./summarize.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

/** One experiment of the report. Paths are absolute, or relative to the current folder. */
export interface ReportSection {
  /** The experiment's title. */
  title: string;
  /** The executed notebook that shows it (its HTML copy, if any, is looked up in `notebooks`). */
  notebook: string;
  /** The table as Markdown. */
  markdown: string;
  /** The table as CSV. */
  csv: string;
  /** The table as HTML (`tableHtml` of `summarize.ts`). */
  tableHtml: string;
  /** The paper's claims checked on our numbers (`checkClaims` of `summarize.ts`). */
  claims: ClaimCheck[];
  /** Its figures, drawn interactively in the page. */
  figures: PlotlyFigure[];
}

/** An executed notebook and its HTML copy (null when there is none). */
export interface ReportNotebook {
  /** The executed `.ipynb`. */
  ipynb: string;
  /** Its HTML copy, or null. */
  html: string | null;
}

/** The run settings and versions the report states at the top. */
export interface ReportMeta {
  /** The profile (`quick`, `paper`, `smoke`). */
  profile: string;
  /** Seeds per configuration. */
  seeds: number;
  /** The data folder, or null for the embedded synthetic data. */
  dataRoot: string | null;
  /** The TF.js backend. */
  backend: string;
  /** The library version that made the results (`RunResult.version`), if known. */
  library?: string;
  /** Sentences on what is missing (e.g. no HTML copies of the notebooks), each shown once. */
  notes?: string[];
}

/** Options of {@linkcode reportHtml}. */
export interface ReportHtmlOptions {
  /**
   * The plotly.js source to inline (default: none; {@linkcode writeReport} reads the pinned
   * package's). Without it the page has no figures and says so.
   */
  plotlyJs?: string | null;
  /** The time printed as "generated" (default now). */
  generated?: Date;
}

/** The path of `plotly.min.js` of the pinned `plotly.js-dist-min`, or null when not installed. */
export function plotlyJsPath(): string | null {
  try {
    return createRequire(import.meta.url).resolve("plotly.js-dist-min/plotly.min.js");
  } catch {
    return null;
  }
}

/**
 * The report page as one HTML string. Links (notebooks, tables) are relative to `dir`, the
 * folder the page is written to. Figures are drawn by `Plotly.newPlot` into `<div class="fig">`
 * elements, from JSON inlined in the page; nothing is loaded from anywhere else, and the mode bar
 * has no "Share chart" button (plotly.js 4 shows one by default, which uploads to Plotly's cloud).
 *
 * @param dir The folder of the page.
 * @param sections The experiments, in order.
 * @param notebooks The executed notebooks and their HTML copies.
 * @param meta Run settings, versions and notes.
 * @param options The plotly.js source to inline, the time of generation.
 * @returns The page.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportHtml } from "./report_page.ts";
 * const html = reportHtml(
 *   "/r",
 *   [{
 *     title: "T", notebook: "/r/notebooks/t.ipynb", markdown: "/r/tables/t.md",
 *     csv: "/r/tables/t.csv", tableHtml: "<table></table>", claims: [],
 *     figures: [{ data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} }],
 *   }],
 *   [{ ipynb: "/r/notebooks/t.ipynb", html: "/r/notebooks/t.html" }],
 *   { profile: "smoke", seeds: 1, dataRoot: null, backend: "cpu" },
 *   { plotlyJs: "window.Plotly = {};" },
 * );
 * assert.match(html, /<a href="notebooks\/t.html">HTML<\/a>/);
 * assert.equal(html.match(/<div id="fig\d+" class="fig">/g)?.length, 1);
 * assert.doesNotMatch(html, /<script src=/);
 * ```
 */
export function reportHtml(
  dir: string,
  sections: readonly ReportSection[],
  notebooks: readonly ReportNotebook[],
  meta: ReportMeta,
  options: ReportHtmlOptions = {},
): string {
  const plotly = options.plotlyJs ?? null;
  const link = (p: string) =>
    relative(dir, p).split("/").map((part) => encodeURIComponent(part)).join("/");
  const htmlOf = new Map(notebooks.map((n) => [relative(dir, n.ipynb), n.html]));
  const notebookLinks = (ipynb: string) => {
    const html = htmlOf.get(relative(dir, ipynb));
    return (html ? `<a href="${link(html)}">HTML</a> · ` : "") +
      `<a href="${link(ipynb)}">.ipynb</a>`;
  };
  let fig = 0;
  const body = sections.map((s) => {
    const figs = !plotly ? "" : s.figures.map((f) => {
      const id = `fig${fig++}`;
      return `<div id="${id}" class="fig"></div>\n<script>Plotly.newPlot(${_scriptJson(id)}, ${
        _scriptJson(f.data)
      }, ${_scriptJson(f.layout)}, _config);</script>`;
    }).join("\n");
    return `<section><h2>${_e(s.title)}</h2>
<p>Executed notebook: ${notebookLinks(s.notebook)} · table: <a href="${
      link(s.markdown)
    }">Markdown</a> · <a href="${link(s.csv)}">CSV</a></p>
${s.tableHtml}
<h3>The paper's claims on our data</h3>
${s.claims.length ? claimsHtml(s.claims) : "<p><i>No claim of the paper to check here.</i></p>"}
${figs}
</section>`;
  }).join("\n");
  const versions = [
    meta.library ? `library ${_e(meta.library)}` : "",
    `Deno ${_e(Deno.version.deno)}`,
    plotly ? `plotly.js ${_e(plotlyVersion(plotly) ?? "(unknown version)")}` : "",
  ].filter(Boolean).join(", ");
  const notes = [
    ...(meta.notes ?? []),
    ...(plotly ? [] : [
      "No figures: plotly.js-dist-min is not installed (run `deno install --frozen`); the " +
      "executed notebooks have them.",
    ]),
  ];
  const notebookList = notebooks.map((n) =>
    `<li>${_e(relative(dir, n.ipynb).replace(/\.ipynb$/, ""))}: ${notebookLinks(n.ipynb)}</li>`
  ).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GradProm reproduction</title>
${plotly ? `<script>${_inlineScript(plotly)}</script>` : ""}
<script>const _config = {responsive: true, displaylogo: false, showSendToCloud: false};</script>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.holds{color:#080}.does-not-hold{color:#b00}.inconclusive{color:#a60}.fig{height:420px}
.note{background:#fff6e0;padding:.5em 1em}</style></head><body>
<h1>GradProm reproduction</h1>
<p>Profile <b>${_e(meta.profile)}</b>, ${meta.seeds} seed(s), data ${
    _e(meta.dataRoot ?? "embedded synthetic data")
  }, TF.js backend ${_e(meta.backend)}; ${versions}; generated ${
    (options.generated ?? new Date()).toISOString()
  }. The quick profile uses CPU-sized networks on synthetic data: compare methods with each other,
not absolute numbers with the paper's.</p>
${notes.map((n) => `<p class="note">${_e(n)}</p>`).join("\n")}
<h2>Executed notebooks</h2>
<ul>
${notebookList}
</ul>
${body}
</body></html>
`;
}

/**
 * Writes the report page atomically, with the pinned plotly.js inlined (see
 * {@linkcode reportHtml}).
 *
 * @param path Where (e.g. `results/index.html`); links are relative to its folder.
 * @param sections The experiments, in order.
 * @param notebooks The executed notebooks and their HTML copies.
 * @param meta Run settings, versions and notes.
 * @returns The page's size in bytes, and whether it has plotly.js (and so its figures).
 * @example
 * ```ts ignore
 * import { writeReport } from "./report_page.ts";
 * const { bytes } = await writeReport("results/index.html", [], [], {
 *   profile: "quick", seeds: 1, dataRoot: null, backend: "wasm",
 * });
 * ```
 */
export async function writeReport(
  path: string,
  sections: readonly ReportSection[],
  notebooks: readonly ReportNotebook[],
  meta: ReportMeta,
): Promise<{ bytes: number; plotly: boolean }> {
  const js = plotlyJsPath();
  const plotlyJs = js ? await Deno.readTextFile(js).catch(() => null) : null;
  const bytes = new TextEncoder().encode(
    reportHtml(dirname(path), sections, notebooks, meta, { plotlyJs }),
  );
  await writeFileAtomic(path, bytes);
  return { bytes: bytes.length, plotly: plotlyJs !== null };
}

/**
 * The version in plotly.js's header comment (`plotly.js v4.1.2`).
 *
 * @param js The plotly.js source.
 * @returns The version, or null when the header has none.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plotlyVersion } from "./report_page.ts";
 * assert.equal(plotlyVersion("* plotly.js v4.1.2\n* Copyright 2012-2026, Plotly, Inc."), "4.1.2");
 * assert.equal(plotlyVersion("var x;"), null);
 * ```
 */
export function plotlyVersion(js: string): string | null {
  return /plotly\.js v(\d+\.\d+\.\d+\S*)/.exec(js.slice(0, 500))?.[1] ?? null;
}

function _e(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll('"', "&quot;");
}

/** JSON that cannot end or comment out the `<script>` it is in (`<` only occurs in strings). */
function _scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c");
}

/** JavaScript source inside `<script>`: `</script` would end the element early. */
function _inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1");
}
