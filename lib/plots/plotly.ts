/**
 * Plotly figures as plain JSON, and their display in Jupyter.
 *
 * A figure is `{data, layout}` as Plotly.js takes it. In a notebook on the
 * Deno kernel, returning the value of {@link plotly} from a cell (or passing it
 * to `Deno.jupyter.display`) shows one bundle with, in this order,
 * `application/vnd.plotly.v1+json` (drawn interactively by JupyterLab with its
 * Plotly renderer, VS Code and nteract), a static `image/png` (drawn by headless
 * Chromium, see `lib/figures/figure_exporter.ts`; shown by classic Notebook,
 * GitHub, nbviewer and `jupyter nbconvert --to html`), and the plotted numbers
 * as `text/plain`. The kernel awaits the
 * Promise that the display method returns, so the picture is in the cell's
 * output when the cell ends. Without Chromium the `text/html` says so, and the
 * notebook still runs.
 *
 * @module
 */

/** A Plotly trace (loosely typed: Plotly's own schema is large). */
export type PlotlyTrace = Record<string, unknown>;

/** A Plotly figure. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: Record<string, unknown>;
}

/** The symbol the Deno kernel looks up to display a value as a MIME bundle. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A value that the Deno kernel displays as a rich MIME bundle. */
export interface Displayable {
  [JUPYTER_DISPLAY](): Record<string, unknown>;
}

/**
 * A value whose MIME bundle takes time to build; the Deno kernel (2.9) awaits
 * the Promise, and so does `Deno.jupyter.display`.
 */
export interface AsyncDisplayable {
  [JUPYTER_DISPLAY](): Promise<Record<string, unknown>>;
}

/** What draws a figure's static images (a {@link FigureExporter}-like object). */
export interface StaticFigureExporter {
  export(fig: PlotlyFigure, size?: { scale?: number }): Promise<{ png: Uint8Array; svg: string }>;
}

/**
 * Where a bundle gets its exporter: a function resolving to one, or null for
 * no static images (the bundle says so).
 */
export type ExporterSource = (() => Promise<StaticFigureExporter>) | null;

/** The environment variable that turns static images off when set to `0`. */
export const STATIC_FIGURES_ENV = "GRADPROM_STATIC_FIGURES";

/** The process's shared headless Chromium (loaded only when a figure is displayed). */
const _localExporter = async (): Promise<StaticFigureExporter> =>
  (await import("../figures/shared_exporter.ts")).sharedFigureExporter();

/**
 * The figure server named by `GRADPROM_FIGURE_SERVER` (`deno task reproduce` serves one
 * Chromium to all its notebooks: `lib/figures/figure_server.ts`), else, or when it cannot be
 * reached, the process's own Chromium.
 */
let _remote: StaticFigureExporter | undefined;
const _sharedExporter = async (): Promise<StaticFigureExporter> => {
  const { FIGURE_SERVER_ENV, remoteFigureExporter } = await import(
    "../figures/figure_server.ts"
  );
  const url = Deno.env.get(FIGURE_SERVER_ENV);
  if (!url) return await _localExporter();
  _remote ??= remoteFigureExporter(url, _localExporter);
  return _remote;
};

/**
 * Wraps a figure so that a notebook cell displays it: interactive Plotly JSON,
 * a static PNG and SVG, and a text fallback (see the module doc).
 *
 * @param fig The figure.
 * @param fallbackHtml HTML for front ends without a Plotly renderer (default: the traces as tables).
 * @returns A value to return from a cell or pass to `Deno.jupyter.display`.
 * @example
 * ```ts ignore
 * import { plotly } from "./plotly.ts";
 * // A notebook cell; the kernel awaits the bundle, whose PNG Chromium draws.
 * plotly({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} });
 * ```
 */
export function plotly(fig: PlotlyFigure, fallbackHtml?: string): AsyncDisplayable {
  return { [JUPYTER_DISPLAY]: () => figureBundle(fig, fallbackHtml) };
}

/**
 * A figure's MIME bundle, in the order front ends should prefer it:
 * `application/vnd.plotly.v1+json`, `image/png` (base64), `text/plain` (the
 * plotted numbers). Classic Notebook and nbconvert rank `text/html` and
 * `image/svg+xml` above `image/png`, so the bundle has neither when it has the
 * picture. When the picture cannot be drawn (no Chromium, or
 * `GRADPROM_STATIC_FIGURES=0`), the bundle is the Plotly JSON and a `text/html`
 * table that begins with a sentence saying why.
 *
 * @param fig The figure.
 * @param fallbackHtml HTML for front ends without a Plotly renderer (default: the traces as tables).
 * @param exporter Where the static images come from (default: the process's shared headless
 *   Chromium, launched on the first figure); null for none.
 * @returns The bundle.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureBundle } from "./plotly.ts";
 * const fig = { data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} };
 * const fake = () => Promise.resolve({ export: async () => ({ png: new Uint8Array([1]), svg: "<svg/>" }) });
 * const bundle = await figureBundle(fig, undefined, fake);
 * assert.deepEqual(Object.keys(bundle), ["application/vnd.plotly.v1+json", "image/png", "text/plain"]);
 * ```
 */
export async function figureBundle(
  fig: PlotlyFigure,
  fallbackHtml?: string,
  exporter: ExporterSource = _staticFiguresOff() ? null : _sharedExporter,
): Promise<Record<string, unknown>> {
  const html = fallbackHtml ?? figureAsHtmlTables(fig);
  let images: { png: Uint8Array; svg: string } | undefined;
  let why = `static images are turned off (${STATIC_FIGURES_ENV}=0)`;
  if (exporter) {
    try {
      // One PNG pixel per CSS pixel: a notebook stays small (about 60 KB a chart, not 170 KB).
      images = await (await exporter()).export(fig, { scale: 1 });
    } catch (e) {
      why = `they could not be drawn: ${(e as Error).message}`;
    }
  }
  if (!images) {
    const e = (v: string) => v.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
    return {
      "application/vnd.plotly.v1+json": fig,
      "text/html": `<p><i>No static image of this chart: ${e(why)}</i></p>\n${html}`,
    };
  }
  // No text/html and no SVG beside the PNG: classic Notebook and nbconvert rank both above
  // image/png, so either would hide the picture (or, for SVG, double the notebook's size).
  return {
    "application/vnd.plotly.v1+json": fig,
    "image/png": _bytesToBase64(images.png),
    "text/plain": figureAsText(fig),
  };
}

/** The traces of a figure as plain text: the title, then one `name: x = y ± e` line per point. */
export function figureAsText(fig: PlotlyFigure): string {
  const title = fig.layout.title as { text?: string } | string | undefined;
  const lines = [(typeof title === "string" ? title : title?.text) ?? "(untitled chart)"];
  const num = (v: unknown) => (typeof v === "number" ? v.toFixed(4) : String(v ?? ""));
  for (const tr of fig.data) {
    const x = (tr.x as unknown[]) ?? [], y = (tr.y as unknown[]) ?? [];
    const err = ((tr.error_y as { array?: unknown[] } | undefined)?.array) ?? [];
    x.forEach((xi, i) =>
      lines.push(
        `${tr.name ?? "trace"}: ${xi} = ${num(y[i])}${err.length ? ` ± ${num(err[i])}` : ""}`,
      )
    );
  }
  return lines.join("\n");
}

function _staticFiguresOff(): boolean {
  try {
    return Deno.env.get(STATIC_FIGURES_ENV) === "0";
  } catch {
    return false; // no --allow-env: images stay on
  }
}

function _bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** The traces of a figure as small HTML tables (x, y and error columns). */
export function figureAsHtmlTables(fig: PlotlyFigure): string {
  const e = (v: unknown) => String(v ?? "").replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const title = fig.layout.title as { text?: string } | string | undefined;
  const t = typeof title === "string" ? title : title?.text ?? "";
  const parts = [`<p><b>${e(t)}</b> <i>(interactive chart: open in JupyterLab or VS Code)</i></p>`];
  for (const tr of fig.data) {
    const x = (tr.x as unknown[]) ?? [], y = (tr.y as unknown[]) ?? [];
    const err = ((tr.error_y as { array?: unknown[] } | undefined)?.array) ?? [];
    const rows = x.map((xi, i) =>
      `<tr><td>${e(xi)}</td><td>${
        e(typeof y[i] === "number" ? (y[i] as number).toFixed(4) : y[i])
      }</td>` +
      `${
        err.length
          ? `<td>${e(typeof err[i] === "number" ? (err[i] as number).toFixed(4) : "")}</td>`
          : ""
      }</tr>`
    );
    parts.push(
      `<table><caption>${e(tr.name)}</caption><tr><th>x</th><th>y</th>${
        err.length ? "<th>±</th>" : ""
      }</tr>` +
        `${rows.join("")}</table>`,
    );
  }
  return parts.join("\n");
}
