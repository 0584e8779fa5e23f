/**
 * Where a map's mass lies, against a foreground mask: the numbers behind the paper's reading of
 * Fig. 2 (denoising everywhere, segmentation the foreground, diagnosis discriminative parts).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { PlotlyFigure } from "./plotly.ts";

/** Per-image statistics of a non-negative map. */
export interface MapStats {
  /** Share of the map's mass on foreground pixels: `Σ map·mask / Σ map`. */
  insideShare: number;
  /** Share of the image that is foreground (what `insideShare` is for a uniform map). */
  areaShare: number;
  /**
   * Smallest share of the image's pixels that holds half of the map's mass (largest values
   * first): 0.5 for a uniform map, near 0 for a map concentrated on a few pixels.
   */
  halfMassArea: number;
}

/**
 * Statistics of maps against masks, one entry per image (NaN shares for an all-zero map).
 *
 * @param maps `[N, H, W]`, non-negative.
 * @param masks `[N, H, W, 1]` or `[N, H, W]`, non-zero = foreground.
 * @returns One {@link MapStats} per image.
 * @throws {RangeError} For shapes that do not match.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { mapStats } from "./attention_stats.ts";
 * await tf.setBackend("cpu");
 * const [s] = mapStats(tf.tensor3d([[[3, 1, 0, 0]]]), tf.tensor3d([[[1, 0, 0, 0]]]));
 * assert.deepEqual(s, { insideShare: 0.75, areaShare: 0.25, halfMassArea: 0.25 });
 * ```
 */
export function mapStats(maps: tf.Tensor, masks: tf.Tensor): MapStats[] {
  const [n, h, w] = maps.shape;
  const okMask = (masks.rank === 3 || masks.rank === 4 && masks.shape[3] === 1) &&
    masks.shape[0] === n && masks.shape[1] === h && masks.shape[2] === w;
  if (maps.rank !== 3 || !okMask) {
    throw new RangeError(
      `Expected maps [N, H, W] and masks [N, H, W(, 1)] but found [${maps.shape}] and [${masks.shape}]`,
    );
  }
  const m = maps.dataSync() as Float32Array, k = masks.dataSync();
  const px = h * w;
  return Array.from({ length: n }, (_, i) => {
    let total = 0, inside = 0, fg = 0;
    const v = new Float64Array(px);
    for (let j = 0; j < px; j++) {
      const a = Math.max(0, m[i * px + j]);
      v[j] = a;
      total += a;
      if (k[i * px + j] !== 0) (inside += a, fg++);
    }
    v.sort().reverse();
    let acc = 0, count = 0;
    while (count < px && acc < total / 2) acc += v[count++];
    return {
      insideShare: total > 0 ? inside / total : NaN,
      areaShare: fg / px,
      halfMassArea: total > 0 ? count / px : NaN,
    };
  });
}

/** Mean and standard deviation of finite values (NaN when there are none). */
export function _meanStd(xs: number[]): { mean: number; std: number } {
  const f = xs.filter(Number.isFinite);
  if (!f.length) return { mean: NaN, std: NaN };
  const mean = f.reduce((a, b) => a + b, 0) / f.length;
  const std = Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / f.length);
  return { mean, std };
}

/**
 * A bar chart of map statistics per map kind: mean ± std over images of the share of the map
 * inside the foreground, and of the image area holding half the map's mass, with the
 * foreground's own share of the image as a dashed line (what a uniform map would give).
 *
 * @param stats Per map kind (legend order = insertion order), the per-image statistics.
 * @param options The figure's title.
 * @returns A Plotly figure.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapStatsFigure } from "./attention_stats.ts";
 * const s = { insideShare: 0.6, areaShare: 0.3, halfMassArea: 0.2 };
 * const fig = mapStatsFigure({ denoising: [s], diagnosis: [s] });
 * assert.equal(fig.data.length, 3);
 * ```
 */
export function mapStatsFigure(
  stats: Record<string, MapStats[]>,
  options: { title?: string } = {},
): PlotlyFigure {
  const names = Object.keys(stats);
  const bar = (key: "insideShare" | "halfMassArea", name: string, color: string) => {
    const ms = names.map((t) => _meanStd(stats[t].map((s) => s[key])));
    return {
      type: "bar",
      name,
      x: names,
      y: ms.map((m) => m.mean),
      error_y: { type: "data", array: ms.map((m) => m.std), visible: true },
      marker: { color },
    };
  };
  const area = _meanStd(names.flatMap((t) => stats[t].map((s) => s.areaShare))).mean;
  return {
    data: [
      bar("insideShare", "share of the map inside the lesion", "#d62728"),
      bar("halfMassArea", "share of the image holding half the map", "#1f77b4"),
      {
        type: "scatter",
        mode: "lines",
        name: `lesion's share of the image (${area.toFixed(2)})`,
        x: names,
        y: names.map(() => area),
        line: { dash: "dash", color: "#444" },
      },
    ],
    layout: {
      title: { text: options.title ?? "Where each map's mass lies (mean ± std over test images)" },
      barmode: "group",
      yaxis: { title: { text: "share" }, range: [0, 1] },
      width: 900,
      height: 400,
      xaxis: { automargin: true },
      legend: { x: 1.02, y: 1, xanchor: "left" },
    },
  };
}
