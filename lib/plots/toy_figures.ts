/**
 * Figure builders for the Fig. 1 notebook: trajectories of the strategies on
 * the two-parameter toy problem over the loss contours, the cosine and the
 * gate over steps, L_IP over steps, and a summary table.
 *
 * @module
 */
import type { ToyTrajectory } from "../toy/simulate.ts";
import type { TwoParamProblem, Vec2 } from "../toy/two_param_problem.ts";
import type { PlotlyFigure } from "./plotly.ts";

const _PALETTE = ["#7f7f7f", "#1f77b4", "#2ca02c", "#98df8a", "#ff7f0e", "#9467bd"];
const _COLORS: Record<string, string> = {
  "IP only": "#7f7f7f",
  "Joint": "#1f77b4",
  "GradProm (gate)": "#2ca02c",
  "GradProm (weighted)": "#98df8a",
};
const _color = (name: string, i: number) => _COLORS[name] ?? _PALETTE[i % _PALETTE.length];

/**
 * Contours of L_IP (solid) and L_VR (dashed), the boundary where the two
 * gradients start to conflict (cos = 0, dotted), both minima, Joint's minimum,
 * and each run's trajectory with a circle at its start and a cross at its end.
 * Contour levels are equally spaced in √L (so they are equally spaced ellipses).
 *
 * @param problem The toy problem.
 * @param runs Trajectories by method name (legend order = insertion order).
 * @param options `lambda` for Joint's minimum (default: the first run's λ), `grid` points per axis (default 61), `title`.
 * @returns A Plotly figure.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { joint } from "../strategies/joint.ts";
 * import { simulate } from "../toy/simulate.ts";
 * import { twoParamProblem } from "../toy/two_param_problem.ts";
 * import { toyContourFigure } from "./toy_figures.ts";
 * await setupBackend({ quiet: true });
 * const fig = toyContourFigure(twoParamProblem(), { Joint: simulate(joint, { steps: 20 }) });
 * assert.ok(fig.data.length > 3);
 * ```
 */
export function toyContourFigure(
  problem: TwoParamProblem,
  runs: Record<string, ToyTrajectory>,
  options: { lambda?: number; grid?: number; title?: string } = {},
): PlotlyFigure {
  const names = Object.keys(runs);
  const lambda = options.lambda ?? runs[names[0]]?.options.lambda ?? 1;
  const n = options.grid ?? 61;
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(`Expected grid to be an integer ≥ 2 but found ${n}`);
  }
  const jm = problem.jointMinimum(lambda);
  const pts: Vec2[] = [
    problem.thetaStar,
    problem.thetaVr,
    jm,
    ...names.flatMap((k) => runs[k].theta),
  ];
  const range = (i: 0 | 1) => {
    const lo = Math.min(...pts.map((p) => p[i])), hi = Math.max(...pts.map((p) => p[i]));
    const pad = 0.15 * (hi - lo || 1);
    return [lo - pad, hi + pad];
  };
  const [x0, x1] = range(0), [y0, y1] = range(1);
  const xs = Array.from({ length: n }, (_, i) => x0 + (x1 - x0) * i / (n - 1));
  const ys = Array.from({ length: n }, (_, j) => y0 + (y1 - y0) * j / (n - 1));
  // Rounded to 4 decimals: the figure's JSON stays small.
  const field = (f: (t: Vec2) => number) =>
    ys.map((y) => xs.map((x) => Math.round(f([x, y]) * 1e4) / 1e4));
  const contour = (name: string, z: number[][], extra: Record<string, unknown>) => ({
    type: "contour",
    name,
    x: xs,
    y: ys,
    z,
    showscale: false,
    hoverinfo: "skip",
    showlegend: true,
    ...extra,
  });
  const sq = (f: (t: Vec2) => number) => field((t) => Math.sqrt(f(t)));
  const data: PlotlyFigure["data"] = [
    contour("L_IP (main)", sq(problem.lIp), {
      contours: { coloring: "lines" },
      ncontours: 18,
      line: { width: 1, color: "#555" },
      colorscale: [[0, "#555"], [1, "#555"]],
    }),
    contour(`L_VR (auxiliary)`, sq(problem.lVr), {
      contours: { coloring: "lines" },
      ncontours: 14,
      line: { width: 1, dash: "dash", color: "#d62728" },
      colorscale: [[0, "#d62728"], [1, "#d62728"]],
    }),
    contour(
      "cos = 0 (conflict inside)",
      field((t) => {
        const g = problem.gradIp(t), v = problem.gradVr(t);
        return g[0] * v[0] + g[1] * v[1];
      }),
      {
        contours: { coloring: "lines", start: 0, end: 0, size: 1 },
        line: { width: 2, dash: "dot", color: "#000" },
        colorscale: [[0, "#000"], [1, "#000"]],
      },
    ),
  ];
  const mark = (name: string, p: Vec2, symbol: string, color: string) => ({
    type: "scatter",
    mode: "markers",
    name,
    x: [p[0]],
    y: [p[1]],
    marker: { symbol, size: 13, color, line: { width: 1, color: "#000" } },
  });
  data.push(
    mark("θ* (min of L_IP)", problem.thetaStar, "star", "#ffd700"),
    mark("min of L_VR", problem.thetaVr, "star", "#d62728"),
    mark(`Joint's min (λ = ${lambda})`, jm, "diamond", "#1f77b4"),
  );
  names.forEach((name, i) => {
    const th = runs[name].theta, c = _color(name, i), end = th[th.length - 1];
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name,
      legendgroup: name,
      x: th.map((p) => p[0]),
      y: th.map((p) => p[1]),
      line: { color: c, width: 2 },
      marker: { size: 3, color: c },
    }, {
      type: "scatter",
      mode: "markers",
      name: `${name}: start / end`,
      legendgroup: name,
      showlegend: false,
      x: [th[0][0], end[0]],
      y: [th[0][1], end[1]],
      marker: { symbol: ["circle", "x"], size: 11, color: c, line: { width: 1, color: "#000" } },
    });
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? "Trajectories on the toy problem" },
      xaxis: { title: { text: "θ₁" }, range: [x0, x1] },
      yaxis: { title: { text: "θ₂" }, range: [y0, y1], scaleanchor: "x" },
      legend: { orientation: "h", y: -0.15 },
      height: 620,
    },
  };
}

/**
 * cos(∇L_IP, λ∇L_VR) per step for each run (solid), and the weight each run
 * put on the auxiliary gradient (GradProm's gate; dotted, right axis).
 *
 * @param runs Trajectories by method name.
 * @param options `title`.
 * @returns A Plotly figure.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { gradProm } from "../strategies/grad_prom.ts";
 * import { simulate } from "../toy/simulate.ts";
 * import { toyGateFigure } from "./toy_figures.ts";
 * await setupBackend({ quiet: true });
 * // 300 steps: the path crosses the region where the gradients conflict, so the gate moves.
 * const fig = toyGateFigure({ GradProm: simulate(gradProm(), { steps: 300 }) });
 * assert.equal(fig.data.length, 2); // the cosine, and the weight on G_VR
 * ```
 */
export function toyGateFigure(
  runs: Record<string, ToyTrajectory>,
  options: { title?: string } = {},
): PlotlyFigure {
  const data: PlotlyFigure["data"] = [];
  Object.entries(runs).forEach(([name, r], i) => {
    const steps = r.cosine.map((_, t) => t);
    const c = _color(name, i);
    data.push({
      type: "scatter",
      mode: "lines",
      name: `cos, ${name}`,
      x: steps,
      y: r.cosine,
      line: { color: c },
    });
    if (
      r.auxWeight.some((w) => w !== 0 && w !== 1) || r.auxWeight.some((w) => w !== r.auxWeight[0])
    ) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: `weight on G_VR, ${name}`,
        x: steps,
        y: r.auxWeight,
        yaxis: "y2",
        line: { color: c, dash: "dot", shape: "hv" },
      });
    }
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? "cos(G_IP, G_VR) and GradProm's weight on G_VR per step" },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "cosine" }, range: [-1.05, 1.05], zeroline: true },
      yaxis2: {
        title: { text: "weight on G_VR" },
        overlaying: "y",
        side: "right",
        range: [-1.05, 1.05],
      },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/**
 * L_IP per step for each run, on a log axis (zeros are left out).
 *
 * @param runs Trajectories by method name.
 * @param options `title`.
 * @returns A Plotly figure.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { ipOnly } from "../strategies/ip_only.ts";
 * import { simulate } from "../toy/simulate.ts";
 * import { toyLossFigure } from "./toy_figures.ts";
 * await setupBackend({ quiet: true });
 * const fig = toyLossFigure({ "IP only": simulate(ipOnly, { steps: 10 }) });
 * assert.equal((fig.data[0].y as number[]).length, 11);
 * ```
 */
export function toyLossFigure(
  runs: Record<string, ToyTrajectory>,
  options: { title?: string } = {},
): PlotlyFigure {
  return {
    data: Object.entries(runs).map(([name, r], i) => ({
      type: "scatter",
      mode: "lines",
      name,
      x: r.lIp.map((_, t) => t),
      y: r.lIp.map((l) => (l > 0 ? l : null)),
      line: { color: _color(name, i) },
    })),
    layout: {
      title: { text: options.title ?? "L_IP per step" },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "L_IP" }, type: "log" },
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/**
 * A Markdown table of each run's final L_IP and L_VR, how often its gate was
 * open, how many steps raised L_IP, and the worst step against Lemma 3.1's
 * bound: min over steps of ⟨θ_t − θ_{t+1}, G_IP⟩ / (lr·|G_IP|²), which is
 * ≥ 1 when every step descends on L_IP at least as fast (to first order) as
 * IP-only's plain gradient step (it is exactly 1 for IP-only with SGD). With
 * Adam only its sign means something: < 0 is a step that went uphill on L_IP.
 *
 * @param runs Trajectories by method name.
 * @returns Markdown.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { gradProm } from "../strategies/grad_prom.ts";
 * import { simulate } from "../toy/simulate.ts";
 * import { toyTableMarkdown } from "./toy_figures.ts";
 * await setupBackend({ quiet: true });
 * const md = toyTableMarkdown({ GradProm: simulate(gradProm(), { steps: 10 }) });
 * assert.ok(md.split("\n")[2].startsWith("| GradProm |"));
 * ```
 */
export function toyTableMarkdown(runs: Record<string, ToyTrajectory>): string {
  const fmt = (x: number) =>
    x === 0 ? "0" : Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(4);
  const lines = [
    "| Method | final L_IP | final L_VR | gate open (share of steps) | steps raising L_IP | min descent ratio |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [name, r] of Object.entries(runs)) {
    const n = r.cosine.length;
    const open = r.auxWeight.filter((w) => w > 0).length / n;
    const up = r.lIp.filter((l, i) => i > 0 && l > r.lIp[i - 1]).length;
    const ratios = r.ipDescent.map((d, t) => d / (r.options.lr * r.ipGradSq[t]))
      .filter(Number.isFinite);
    const minRatio = ratios.length ? Math.min(...ratios) : NaN;
    lines.push(
      `| ${name} | ${fmt(r.lIp[n])} | ${fmt(r.lVr[n])} | ${(100 * open).toFixed(0)}% | ${up} | ${
        fmt(minRatio)
      } |`,
    );
  }
  return lines.join("\n");
}
