/**
 * Figure builders for the denoising tables: metric by method and noise level,
 * with the paper's values as markers, and training dynamics of a run.
 *
 * @module
 */
import { isMethod, methodSpec, type RowMethod, rowStyle } from "../experiments/methods.ts";
import type { RunResult } from "../experiments/run_experiment.ts";
import type { TableRow } from "../experiments/summarize.ts";
import type { PlotlyFigure } from "./plotly.ts";

/** A row's colour, from `METHOD_SPECS` (an unknown method is an error, not a default grey). */
const colour = (m: RowMethod) => rowStyle(m).colour;

/** Whether a row's method trains IP alone (Benchmark-i, no VR): it draws the degraded input. */
const ipAlone = (m: RowMethod) => isMethod(m) && methodSpec(m).vrMode === "none";

/**
 * Grouped bars of one metric (mean ± std over seeds) per method, grouped by
 * the rows' setting (σ by default), with the paper's values as black
 * diamonds where the paper gives them and the degraded input as a dotted line.
 *
 * @param rows Table rows from `summarize`.
 * @param metric `psnr`, `ssim`, `accuracy` or `miou` (segmentation).
 * @returns A Plotly figure.
 */
export function metricBarFigure(
  rows: TableRow[],
  metric: "psnr" | "ssim" | "accuracy" | "miou",
): PlotlyFigure {
  const names = {
    psnr: "PSNR (dB)",
    ssim: "SSIM",
    accuracy: "Accuracy (%)",
    miou: "mIoU (%)",
  } as const;
  const scale = metric === "accuracy" || metric === "miou" ? 100 : 1;
  const methods = [...new Set(rows.filter((r) => r[metric]).map((r) => r.method))];
  const data: PlotlyFigure["data"] = methods.map((m) => {
    const rs = rows.filter((r) => r.method === m && r[metric]);
    return {
      type: "bar",
      name: rs[0].label,
      x: rs.map((r) => r.group),
      y: rs.map((r) => r[metric]!.mean * scale),
      error_y: { type: "data", array: rs.map((r) => r[metric]!.std * scale), visible: true },
      marker: { color: colour(m) },
    };
  });
  const paperKey = metric === "psnr" ? "paperPsnr" : metric === "ssim" ? "paperSsim" : undefined;
  if (paperKey) {
    const withPaper = rows.filter((r) => r[paperKey] !== undefined);
    if (withPaper.length) {
      data.push({
        type: "scatter",
        mode: "markers",
        name: "Paper (real data)",
        x: withPaper.map((r) => r.group),
        y: withPaper.map((r) => r[paperKey]),
        text: withPaper.map((r) => r.label),
        marker: { symbol: "diamond", size: 11, color: "black" },
      });
    }
  }
  const input = metric === "psnr" || metric === "ssim"
    ? rows.filter((r) => ipAlone(r.method) && r[metric === "psnr" ? "psnrInput" : "ssimInput"])
    : [];
  for (const r of input) {
    const v = (metric === "psnr" ? r.psnrInput : r.ssimInput)!.mean;
    data.push({
      type: "scatter",
      mode: "lines",
      name: `degraded input, ${r.group}`,
      x: [r.group, r.group],
      y: [v, v],
      line: { dash: "dot", color: "#d62728" },
      showlegend: false,
    });
  }
  return {
    data,
    layout: {
      title: { text: `${names[metric]} by method and setting` },
      barmode: "group",
      yaxis: { title: { text: names[metric] } },
      legend: { orientation: "h", y: -0.2 },
      margin: { t: 50, b: 40 },
    },
  };
}

/**
 * Training dynamics of runs: cos(G_IP, G_VR) (moving average) and the
 * fraction of steps whose gate was open, over training steps.
 *
 * @param runs Runs to overlay (e.g. Joint and GradProm at one σ).
 * @param window Moving-average window in steps.
 * @param label A run's setting in the legend (default `σ=<sigma>`).
 */
export function dynamicsFigure(
  runs: RunResult[],
  window = 20,
  label?: (r: RunResult) => string,
): PlotlyFigure {
  const smooth = (xs: number[]) =>
    xs.map((_, i) => {
      const s = xs.slice(Math.max(0, i - window + 1), i + 1).filter(Number.isFinite);
      return s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
    });
  const data: PlotlyFigure["data"] = [];
  for (const r of runs) {
    const steps = r.log.cosine.map((_, i) => i + 1);
    const name = `${r.config.method} ${
      label ? label(r) : `σ=${r.config.degradation.sigma}`
    } s${r.config.seed}`;
    data.push({
      type: "scatter",
      mode: "lines",
      name: `cos ${name}`,
      x: steps,
      y: smooth(r.log.cosine),
      line: { color: colour(r.config.method) },
    });
    if (methodSpec(r.config.method).gate) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: `aux weight ${name}`,
        x: steps,
        y: smooth(r.log.auxWeight),
        yaxis: "y2",
        line: { color: colour(r.config.method), dash: "dot" },
      });
    }
  }
  return {
    data,
    layout: {
      title: {
        text: `cos(G_IP, G_VR) and GradProm's gate over training (moving average of ${window})`,
      },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "cosine" }, zeroline: true },
      yaxis2: {
        title: { text: "weight on G_VR" },
        overlaying: "y",
        side: "right",
        range: [0, 1.05],
      },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/**
 * A metric against a swept setting (e.g. λ on a log axis), one line per
 * method (mean ± std over seeds), with a reference method drawn as a
 * horizontal dashed line (e.g. Benchmark-i, which does not depend on λ).
 *
 * @param rows Table rows whose `group` is the swept setting.
 * @param metric The metric to plot.
 * @param x The swept value of a row (e.g. its λ), in the rows' order.
 * @param options Axis title, log axis, reference method.
 * @returns A Plotly figure.
 */
export function sweepFigure(
  rows: TableRow[],
  metric: "psnr" | "ssim" | "accuracy" | "miou",
  x: (row: TableRow) => number,
  options: { xTitle: string; log?: boolean; reference?: TableRow["method"] } = { xTitle: "" },
): PlotlyFigure {
  const names = { psnr: "PSNR (dB)", ssim: "SSIM", accuracy: "Accuracy (%)", miou: "mIoU (%)" };
  const scale = metric === "accuracy" || metric === "miou" ? 100 : 1;
  const withMetric = rows.filter((r) => r[metric]);
  const xs = [...new Set(withMetric.map(x))].sort((a, b) => a - b);
  const data: PlotlyFigure["data"] = [];
  for (const m of [...new Set(withMetric.map((r) => r.method))]) {
    const rs = withMetric.filter((r) => r.method === m).sort((a, b) => x(a) - x(b));
    if (m === options.reference) {
      const v = rs[0][metric]!.mean * scale;
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${rs[0].label} (reference)`,
        x: [xs[0], xs.at(-1)],
        y: [v, v],
        line: { dash: "dash", color: colour(m) },
      });
      continue;
    }
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: rs[0].label,
      x: rs.map(x),
      y: rs.map((r) => r[metric]!.mean * scale),
      error_y: { type: "data", array: rs.map((r) => r[metric]!.std * scale), visible: true },
      line: { color: colour(m) },
    });
  }
  return {
    data,
    layout: {
      title: { text: `${names[metric]} against ${options.xTitle}` },
      xaxis: { title: { text: options.xTitle }, type: options.log ? "log" : "linear" },
      yaxis: { title: { text: names[metric] } },
      legend: { orientation: "h", y: -0.25 },
      margin: { t: 50, b: 40 },
    },
  };
}

/**
 * cos(G_IP, G_VR) per variable of IP over training, as a heatmap (layers ×
 * sampled steps, blue = agreeing, red = conflicting), from a run's
 * `log.layers`.
 *
 * @param run A run with a VR (results from before version 0.3 have no per-layer log).
 * @returns A Plotly figure.
 * @throws {TypeError} When the run has no per-layer log.
 */
export function layerCosineFigure(run: RunResult): PlotlyFigure {
  const layers = run.log.layers;
  if (!layers?.cosine.length) {
    throw new TypeError(
      `Expected per-layer cosines in run ${run.key} (${run.config.method}) but found none`,
    );
  }
  // Rows: layers from the input side (top) to the output side; columns: steps.
  const z = layers.names.map((_, i) => layers.cosine.map((row) => row[i]));
  return {
    data: [{
      type: "heatmap",
      x: layers.steps,
      y: layers.names,
      z,
      zmin: -1,
      zmax: 1,
      zmid: 0,
      // Plotly's RdBu runs blue → red; reversed, agreement (+1) is blue and conflict (−1) red.
      colorscale: "RdBu",
      reversescale: true,
      colorbar: { title: { text: "cos" } },
    }],
    layout: {
      title: {
        text:
          `cos(G_IP, G_VR) per layer of IP over training (${run.config.method}, ${run.config.train.granularity} gate, seed ${run.config.seed})`,
      },
      xaxis: { title: { text: "step" } },
      yaxis: { autorange: "reversed", automargin: true, tickfont: { size: 9 } },
      height: Math.max(420, 14 * layers.names.length + 120),
      margin: { l: 160, t: 50 },
    },
  };
}
