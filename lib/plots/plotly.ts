/**
 * Plotly figures as plain JSON, and their display in Jupyter.
 *
 * A figure is `{data, layout}` as Plotly.js takes it. In a notebook on the
 * Deno kernel, `display(fig)` (or returning the value of {@link plotly}) shows it
 * as `application/vnd.plotly.v1+json`, which JupyterLab (with its Plotly
 * renderer), VS Code and nteract draw interactively; other front ends get the
 * `text/html` fallback, a table of the plotted numbers.
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
 * Wraps a figure so that a notebook cell displays it.
 *
 * @param fig The figure.
 * @param fallbackHtml HTML for front ends without a Plotly renderer (default: the traces as tables).
 * @returns A value to return from a cell or pass to `Deno.jupyter.display`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JUPYTER_DISPLAY, plotly } from "./plotly.ts";
 * const d = plotly({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} });
 * const mimes = Object.keys(d[JUPYTER_DISPLAY]());
 * assert.deepEqual(mimes, ["application/vnd.plotly.v1+json", "text/html"]);
 * ```
 */
export function plotly(fig: PlotlyFigure, fallbackHtml?: string): Displayable {
  return {
    [JUPYTER_DISPLAY]() {
      return {
        "application/vnd.plotly.v1+json": fig,
        "text/html": fallbackHtml ?? figureAsHtmlTables(fig),
      };
    },
  };
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
