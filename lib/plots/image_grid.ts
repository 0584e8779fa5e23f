/**
 * Image grids as Plotly figures: rows of images (for example one test image per row, one method
 * per column) with column titles, row titles and a caption under each image.
 *
 * Each image goes into the figure as a PNG `data:` URI on an `image` trace (one axis pair per
 * cell), so a grid of small images stays a few kilobytes per image, keeps its exact pixels (no
 * smoothing: one screen block per pixel), and the same URIs serve the HTML fallback
 * ({@link imageGridHtml}) for front ends without a Plotly renderer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { _encodePng, _pngDataUri } from "./_png.ts";
import type { PlotlyFigure, PlotlyTrace } from "./plotly.ts";

/** One image of a grid: 8-bit pixels, row-major, channels interleaved. */
export interface GridImage {
  width: number;
  height: number;
  /** 1 (greyscale) or 3 (RGB). */
  channels: 1 | 3;
  pixels: Uint8Array;
  /** A short line shown under the image (e.g. `"27.41 dB"`). */
  caption?: string;
}

/** Options of {@link imageGridFigure} and {@link imageGridHtml}. */
export interface ImageGridOptions {
  /** One title per column, shown above the first row (`<br>` breaks a line in the figure). */
  columnTitles?: string[];
  /** One title per row, shown left of it. */
  rowTitles?: string[];
  /** The figure's title. */
  title?: string;
  /** Displayed size of each cell's longer side, in screen pixels (default 96). */
  cellSize?: number;
}

/** Options of {@link gridImages}. */
export interface GridImagesOptions {
  /** One caption per image. */
  captions?: string[];
  /**
   * Masks `[N, H, W, 1]` or `[N, H, W]` (non-zero = inside): their outline (inside pixels with a
   * 4-neighbour outside) is painted over the images in `outlineColor`.
   */
  outline?: tf.Tensor;
  /** RGB of the outline, 0–255 (default white). Greyscale images become RGB when outlined. */
  outlineColor?: [number, number, number];
}

/**
 * Converts a batch of images in [0, 1] (clipped) into {@link GridImage}s.
 *
 * @param images `[N, H, W, C]` with C = 1 or 3, or `[N, H, W]` (greyscale, e.g. a map).
 * @param options Captions, and masks whose outline is drawn over the images.
 * @returns One grid image per input image.
 * @throws {RangeError} For another rank or channel count, a caption list or outline of the
 *   wrong size.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gridImages } from "./image_grid.ts";
 * await tf.setBackend("cpu");
 * const [img] = gridImages(tf.fill([1, 2, 2, 3], 0.5), { captions: ["grey"] });
 * assert.deepEqual([img.width, img.channels, img.pixels[0], img.caption], [2, 3, 128, "grey"]);
 * ```
 */
export function gridImages(images: tf.Tensor, options: GridImagesOptions = {}): GridImage[] {
  if (images.rank !== 3 && images.rank !== 4) {
    throw new RangeError(`Expected images [N, H, W, C] or [N, H, W] but found [${images.shape}]`);
  }
  const [n, h, w] = images.shape;
  const c = images.rank === 4 ? images.shape[3] : 1;
  if (c !== 1 && c !== 3) {
    throw new RangeError(`Expected 1 or 3 channels but found shape [${images.shape}]`);
  }
  if (options.captions && options.captions.length !== n) {
    throw new RangeError(`Expected ${n} captions but found ${options.captions.length}`);
  }
  const bytes = tf.tidy(() =>
    tf.cast(tf.round(tf.mul(tf.clipByValue(images, 0, 1), 255)), "int32")
  );
  const all = Uint8Array.from(bytes.dataSync() as Int32Array);
  bytes.dispose();
  let inside: Uint8Array | undefined;
  if (options.outline) {
    const m = options.outline;
    const ok = (m.rank === 4 && m.shape[3] === 1 || m.rank === 3) &&
      m.shape[0] === n && m.shape[1] === h && m.shape[2] === w;
    if (!ok) {
      throw new RangeError(
        `Expected outline masks [${n}, ${h}, ${w}(, 1)] for images [${images.shape}] but found [${m.shape}]`,
      );
    }
    inside = Uint8Array.from(m.dataSync(), (v) => (v !== 0 ? 1 : 0));
  }
  const size = h * w * c;
  return Array.from({ length: n }, (_, i) => {
    let pixels = all.slice(i * size, (i + 1) * size);
    let channels = c as 1 | 3;
    if (inside) {
      if (channels === 1) {
        const grey = pixels;
        pixels = Uint8Array.from({ length: h * w * 3 }, (_, j) => grey[Math.floor(j / 3)]);
        channels = 3;
      }
      _paintOutline(
        pixels,
        inside.subarray(i * h * w, (i + 1) * h * w),
        w,
        h,
        options.outlineColor ?? [255, 255, 255],
      );
    }
    return {
      width: w,
      height: h,
      channels,
      pixels,
      ...(options.captions ? { caption: options.captions[i] } : {}),
    };
  });
}

/** Paints RGB `color` on inside pixels that have a 4-neighbour outside (or on the border). */
function _paintOutline(
  rgb: Uint8Array,
  inside: Uint8Array,
  w: number,
  h: number,
  color: [number, number, number],
): void {
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : inside[y * w + x]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!inside[y * w + x]) continue;
      if (at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1)) continue;
      rgb.set(color, (y * w + x) * 3);
    }
  }
}

/** Screen geometry shared by the figure and its checks. */
function _geometry(rows: (GridImage | null)[][], options: ImageGridOptions) {
  const s = options.cellSize ?? 96;
  if (!(s > 0)) throw new RangeError(`Expected cellSize > 0 but found ${s}`);
  const nRows = rows.length;
  const nCols = Math.max(0, ...rows.map((r) => r.length));
  if (nRows === 0 || nCols === 0) {
    throw new RangeError("Expected at least one image but found none");
  }
  if (options.columnTitles && options.columnTitles.length !== nCols) {
    throw new RangeError(
      `Expected ${nCols} column titles but found ${options.columnTitles.length}`,
    );
  }
  if (options.rowTitles && options.rowTitles.length !== nRows) {
    throw new RangeError(`Expected ${nRows} row titles but found ${options.rowTitles.length}`);
  }
  const caption = rows.some((r) => r.some((im) => im?.caption)) ? 16 : 0;
  const gap = 6;
  const titleLines = Math.max(
    1,
    ...(options.columnTitles ?? []).map((t) => t.split("<br>").length),
  );
  return {
    s,
    nRows,
    nCols,
    caption,
    gap,
    width: nCols * (s + gap),
    height: nRows * (s + caption + gap),
    margin: {
      l: options.rowTitles ? 110 : 10,
      r: 10,
      t: (options.title ? 40 : 10) + (options.columnTitles ? 15 * titleLines + 6 : 0),
      b: 10,
    },
  };
}

/**
 * A Plotly figure of an image grid.
 *
 * @param rows Rows of cells; `null` leaves a cell empty. Rows may be shorter than the longest.
 * @param options Column and row titles, figure title, cell size.
 * @returns A figure with one `image` trace per image (PNG `source`) and fixed pixel size.
 * @throws {RangeError} For an empty grid, or title lists whose lengths do not match the grid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gridImages, imageGridFigure } from "./image_grid.ts";
 * await tf.setBackend("cpu");
 * const imgs = gridImages(tf.zeros([2, 8, 8, 3]), { captions: ["a", "b"] });
 * const fig = imageGridFigure([imgs], { columnTitles: ["noisy", "clean"] });
 * assert.deepEqual([fig.data.length, fig.data[0].type], [2, "image"]);
 * ```
 */
export function imageGridFigure(
  rows: (GridImage | null)[][],
  options: ImageGridOptions = {},
): PlotlyFigure {
  const g = _geometry(rows, options);
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    width: g.width + g.margin.l + g.margin.r,
    height: g.height + g.margin.t + g.margin.b,
    margin: g.margin,
    showlegend: false,
    plot_bgcolor: "white",
    paper_bgcolor: "white",
    ...(options.title ? { title: { text: options.title, x: 0, xanchor: "left" } } : {}),
  };
  const annotations: Record<string, unknown>[] = [];
  const note = (text: string, extra: Record<string, unknown>) =>
    annotations.push({ text, xref: "paper", yref: "paper", showarrow: false, ...extra });
  let k = 0;
  rows.forEach((row, r) => {
    const top = r * (g.s + g.caption + g.gap);
    const y = [1 - (top + g.s) / g.height, 1 - top / g.height];
    row.forEach((im, c) => {
      if (!im) return;
      k++;
      const x = [(c * (g.s + g.gap)) / g.width, (c * (g.s + g.gap) + g.s) / g.width];
      const ax = k === 1 ? "" : String(k);
      data.push({
        type: "image",
        source: _pngDataUri(_encodePng(im.width, im.height, im.channels, im.pixels)),
        xaxis: `x${ax}`,
        yaxis: `y${ax}`,
        hoverinfo: "x+y",
        name: [options.rowTitles?.[r], options.columnTitles?.[c]].filter(Boolean).join(", "),
      });
      layout[`xaxis${ax}`] = {
        domain: x,
        range: [-0.5, im.width - 0.5],
        visible: false,
        fixedrange: true,
        constrain: "domain",
      };
      layout[`yaxis${ax}`] = {
        domain: y,
        range: [im.height - 0.5, -0.5],
        visible: false,
        fixedrange: true,
        scaleanchor: `x${ax}`,
        constrain: "domain",
      };
      if (im.caption) {
        note(im.caption, {
          x: (x[0] + x[1]) / 2,
          xanchor: "center", // Plotly's "auto" would anchor by position on the page
          y: y[0],
          yanchor: "top",
          font: { size: 11 },
        });
      }
    });
    if (options.rowTitles) {
      note(options.rowTitles[r], {
        x: 0,
        xanchor: "right",
        xshift: -6,
        y: (y[0] + y[1]) / 2,
        font: { size: 11 },
        align: "right",
      });
    }
  });
  options.columnTitles?.forEach((t, c) =>
    note(t, {
      x: (c * (g.s + g.gap) + g.s / 2) / g.width,
      xanchor: "center",
      y: 1,
      yanchor: "bottom",
      yshift: 2,
      font: { size: 11 },
    })
  );
  layout.annotations = annotations;
  return { data, layout };
}

/**
 * The same grid as an HTML table of `<img>` elements (the fallback for front ends without a
 * Plotly renderer; also readable in any browser).
 *
 * @param rows As for {@link imageGridFigure}.
 * @param options As for {@link imageGridFigure}.
 * @returns An HTML fragment.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageGridHtml } from "./image_grid.ts";
 * const im = { width: 1, height: 1, channels: 1 as const, pixels: new Uint8Array([9]), caption: "x" };
 * assert.ok(imageGridHtml([[im]], { title: "T" }).includes("<img"));
 * ```
 */
export function imageGridHtml(
  rows: (GridImage | null)[][],
  options: ImageGridOptions = {},
): string {
  const g = _geometry(rows, options);
  const e = (v: string) =>
    v.replaceAll("&", "&amp;").replaceAll("<br>", "\n").replaceAll("<", "&lt;").replaceAll(
      "\n",
      "<br>",
    );
  const cell = "padding:2px;text-align:center;vertical-align:top;font-size:11px";
  const out: string[] = [];
  if (options.title) out.push(`<p><b>${e(options.title)}</b></p>`);
  out.push(`<table style="border-collapse:collapse">`);
  if (options.columnTitles) {
    out.push(
      `<tr>${options.rowTitles ? "<th></th>" : ""}${
        options.columnTitles.map((t) => `<th style="${cell}">${e(t)}</th>`).join("")
      }</tr>`,
    );
  }
  rows.forEach((row, r) => {
    const tds = Array.from({ length: g.nCols }, (_, c) => {
      const im = row[c];
      if (!im) return `<td style="${cell}"></td>`;
      const scale = g.s / Math.max(im.width, im.height);
      const src = _pngDataUri(_encodePng(im.width, im.height, im.channels, im.pixels));
      return `<td style="${cell}"><img src="${src}" width="${Math.round(im.width * scale)}" ` +
        `height="${Math.round(im.height * scale)}" style="image-rendering:pixelated">` +
        `${im.caption ? `<div>${e(im.caption)}</div>` : ""}</td>`;
    });
    const head = options.rowTitles
      ? `<th style="${cell};text-align:right">${e(options.rowTitles[r])}</th>`
      : "";
    out.push(`<tr>${head}${tds.join("")}</tr>`);
  });
  out.push("</table>");
  return out.join("\n");
}
