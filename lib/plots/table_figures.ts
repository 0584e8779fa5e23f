/**
 * Figure builders for the denoising tables: metric by method and noise level,
 * with the paper's values as markers, and training dynamics of a run.
 *
 * @module
 */
import type { RunResult } from "../experiments/run_experiment.ts";
import type { TableRow } from "../experiments/summarize.ts";
import type { PlotlyFigure } from "./plotly.ts";

const COLORS: Record<string, string> = {
  "benchmark-i": "#7f7f7f",
  "joint": "#1f77b4",
  "frozen": "#ff7f0e",
  "gradprom": "#2ca02c",
  "gradprom-weighted": "#98df8a",
  "benchmark-ii": "#9467bd",
};

/**
 * Grouped bars of one metric (mean ± std over seeds) per method, grouped by
 * σ, with the paper's values as black diamonds where the paper gives them.
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
      x: rs.map((r) => `σ = ${r.sigma}`),
      y: rs.map((r) => r[metric]!.mean * scale),
      error_y: { type: "data", array: rs.map((r) => r[metric]!.std * scale), visible: true },
      marker: { color: COLORS[m] ?? "#333" },
    };
  });
  const paperKey = metric === "psnr" ? "paperPsnr" : metric === "ssim" ? "paperSsim" : undefined;
  if (paperKey) {
    const withPaper = rows.filter((r) => r[paperKey] !== undefined);
    if (withPaper.length) {
      data.push({
        type: "scatter",
        mode: "markers",
        name: "Paper (real ISIC 2018)",
        x: withPaper.map((r) => `σ = ${r.sigma}`),
        y: withPaper.map((r) => r[paperKey]),
        text: withPaper.map((r) => r.label),
        marker: { symbol: "diamond", size: 11, color: "black" },
      });
    }
  }
  const input = metric === "psnr" || metric === "ssim"
    ? rows.filter((r) =>
      r.method === "benchmark-i" && r[metric === "psnr" ? "psnrInput" : "ssimInput"]
    )
    : [];
  for (const r of input) {
    const v = (metric === "psnr" ? r.psnrInput : r.ssimInput)!.mean;
    data.push({
      type: "scatter",
      mode: "lines",
      name: `noisy input σ = ${r.sigma}`,
      x: [`σ = ${r.sigma}`, `σ = ${r.sigma}`],
      y: [v, v],
      line: { dash: "dot", color: "#d62728" },
      showlegend: false,
    });
  }
  return {
    data,
    layout: {
      title: { text: `${names[metric]} by method and noise level` },
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
 */
export function dynamicsFigure(runs: RunResult[], window = 20): PlotlyFigure {
  const smooth = (xs: number[]) =>
    xs.map((_, i) => {
      const s = xs.slice(Math.max(0, i - window + 1), i + 1).filter(Number.isFinite);
      return s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
    });
  const data: PlotlyFigure["data"] = [];
  for (const r of runs) {
    const steps = r.log.cosine.map((_, i) => i + 1);
    const name = `${r.config.method} σ=${r.config.degradation.sigma} s${r.config.seed}`;
    data.push({
      type: "scatter",
      mode: "lines",
      name: `cos ${name}`,
      x: steps,
      y: smooth(r.log.cosine),
      line: { color: COLORS[r.config.method] },
    });
    if (r.config.method.startsWith("gradprom")) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: `aux weight ${name}`,
        x: steps,
        y: smooth(r.log.auxWeight),
        yaxis: "y2",
        line: { color: COLORS[r.config.method], dash: "dot" },
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
