/**
 * Fig. 1 on the two-parameter toy problem, in one place: the settings, the runs of the four
 * strategies, the five panels and the summary the notebook prints. Shared by
 * `notebooks/fig1_gradient_promotion.ipynb` and `deno task figures` (`fig1-toy`), so the two
 * cannot drift apart.
 *
 * @module
 */
import type { PlotlyFigure } from "../plots/plotly.ts";
import { toyContourFigure, toyGateFigure, toyLossFigure } from "../plots/toy_figures.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { ipOnly } from "../strategies/ip_only.ts";
import { joint } from "../strategies/joint.ts";
import { simulate, type ToyTrajectory } from "../toy/simulate.ts";
import { type TwoParamProblem, twoParamProblem, type Vec2 } from "../toy/two_param_problem.ts";

/** The settings of the Fig. 1 runs. */
export interface Fig1Settings {
  /** Weight λ of L_VR. */
  lambda: number;
  /** Learning rate of plain gradient descent. */
  lr: number;
  /** Learning rate of Adam. */
  lrAdam: number;
  /** Steps of each run. */
  steps: number;
  /** θ_0. */
  start: Vec2;
}

/**
 * The figure's settings for a profile (the smoke profile only shortens the runs), with
 * `overrides` on top (to explore).
 *
 * @param profile Run profile: `smoke` runs 80 steps, every other 300.
 * @param overrides Settings to change.
 * @returns The settings.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fig1Settings } from "./fig1_toy.ts";
 * assert.deepEqual(fig1Settings("quick"), {
 *   lambda: 1,
 *   lr: 0.02,
 *   lrAdam: 0.05,
 *   steps: 300,
 *   start: [-4, -3],
 * });
 * assert.equal(fig1Settings("smoke", { lambda: 2 }).steps, 80);
 * ```
 */
export function fig1Settings(profile: string, overrides: Partial<Fig1Settings> = {}): Fig1Settings {
  return {
    lambda: 1,
    lr: 0.02,
    lrAdam: 0.05,
    steps: profile === "smoke" ? 80 : 300,
    start: [-4, -3],
    ...overrides,
  };
}

/** The runs of Fig. 1: each strategy's trajectory, by name, with plain gradient descent and Adam. */
export interface Fig1Runs {
  settings: Fig1Settings;
  problem: TwoParamProblem;
  sgd: Record<string, ToyTrajectory>;
  adam: Record<string, ToyTrajectory>;
}

/**
 * Runs IP only, Joint, GradProm (gate) and GradProm (weighted) from the same start, with plain
 * gradient descent and with Adam.
 *
 * @param settings From {@link fig1Settings}.
 * @returns The problem and the trajectories by strategy name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { fig1Runs, fig1Settings } from "./fig1_toy.ts";
 * await setupBackend({ quiet: true });
 * const runs = fig1Runs(fig1Settings("smoke"));
 * assert.deepEqual(Object.keys(runs.sgd), ["IP only", "Joint", "GradProm (gate)", "GradProm (weighted)"]);
 * assert.equal(runs.adam["Joint"].options.optimizer, "adam");
 * ```
 */
export function fig1Runs(settings: Fig1Settings): Fig1Runs {
  const problem = twoParamProblem();
  const runAll = (optimizer: "sgd" | "adam", lr: number): Record<string, ToyTrajectory> => {
    const strategies = {
      "IP only": ipOnly,
      "Joint": joint,
      "GradProm (gate)": gradProm(),
      "GradProm (weighted)": gradProm({ mode: "weighted" }),
    };
    const { steps, start, lambda } = settings;
    return Object.fromEntries(
      Object.entries(strategies).map((
        [name, s],
      ) => [name, simulate(s, { steps, lr, start, lambda, optimizer, problem })]),
    );
  };
  return {
    settings,
    problem,
    sgd: runAll("sgd", settings.lr),
    adam: runAll("adam", settings.lrAdam),
  };
}

/**
 * The five panels of Fig. 1: trajectories, gate and L_IP with plain gradient descent; trajectories
 * and L_IP with Adam.
 *
 * @param runs From {@link fig1Runs}.
 * @returns The figures by panel name.
 */
export function fig1Figures(runs: Fig1Runs): {
  "sgd-trajectories": PlotlyFigure;
  "sgd-gate": PlotlyFigure;
  "sgd-loss": PlotlyFigure;
  "adam-trajectories": PlotlyFigure;
  "adam-loss": PlotlyFigure;
} {
  const { problem, sgd, adam, settings } = runs;
  return {
    "sgd-trajectories": toyContourFigure(problem, sgd, {
      title: "Plain gradient descent: trajectories",
    }),
    "sgd-gate": toyGateFigure(sgd),
    "sgd-loss": toyLossFigure(sgd, { title: "Plain gradient descent: L_IP per step" }),
    "adam-trajectories": toyContourFigure(problem, adam, {
      title: `Adam (lr ${settings.lrAdam}): trajectories`,
    }),
    "adam-loss": toyLossFigure(adam, { title: `Adam (lr ${settings.lrAdam}): L_IP per step` }),
  };
}

/**
 * The problem and the run settings in words (L_IP, L_VR, Joint's minimum, steps, start, lr).
 *
 * @param runs From {@link fig1Runs}.
 * @returns Markdown.
 */
export function fig1ProblemMarkdown(runs: Fig1Runs): string {
  const { problem, settings: { lambda, steps, start, lr } } = runs;
  const [[a00, a01], [, a11]] = problem.hessianIp;
  return `L_IP(θ) = ½ (θ − θ*)ᵀ A (θ − θ*), θ* = (${problem.thetaStar}), ` +
    `A = [[${a00.toFixed(2)}, ${a01.toFixed(2)}], [${a01.toFixed(2)}, ${a11.toFixed(2)}]] ` +
    `(eigenvalues 1 and 10); L_VR(θ) = ½ |θ − θ_VR|², θ_VR = (${problem.thetaVr}); λ = ${lambda}. ` +
    `Joint training's minimum is (${problem.jointMinimum(lambda).map((x) => x.toFixed(3))}). ` +
    `${steps} steps from (${start}), plain gradient descent with lr ${lr}.`;
}

/** The smallest descent ratio of a run over its steps (Lemma 3.1: ≥ 1 for GradProm with SGD). */
const _worstRatio = (r: ToyTrajectory) =>
  Math.min(...r.ipDescent.map((d, t) => d / (r.options.lr * r.ipGradSq[t])));
/** Steps that went uphill on L_IP to first order. */
const _uphill = (r: ToyTrajectory) => r.ipDescent.filter((d) => d < 0).length;
/** L_IP at the end of a run. */
const _end = (r: ToyTrajectory) => r.lIp[r.lIp.length - 1];

/**
 * What the runs show, computed from them: whether Lemma 3.1's bound holds at every plain
 * gradient step for both GradProm forms, the final L_IP of each, and how many Adam steps went
 * uphill on L_IP.
 *
 * @param runs From {@link fig1Runs}.
 * @returns Markdown, one bullet per optimizer.
 */
export function fig1SummaryMarkdown(runs: Fig1Runs): string {
  const { sgd, adam, settings: { steps } } = runs;
  const holds = ["GradProm (gate)", "GradProm (weighted)"].every((k) =>
    _worstRatio(sgd[k]) >= 1 - 1e-4
  );
  return [
    `- **Plain gradient descent**: Lemma 3.1's bound ${
      holds ? "holds at every step" : "is violated at some step"
    } for both GradProm forms (minimum descent ratio ${
      _worstRatio(sgd["GradProm (gate)"]).toFixed(4)
    } gate, ${_worstRatio(sgd["GradProm (weighted)"]).toFixed(4)} weighted). ` +
    `Final L_IP: Joint ${_end(sgd["Joint"]).toFixed(4)}, GradProm (gate) ${
      _end(sgd["GradProm (gate)"]).toExponential(2)
    }, IP only ${_end(sgd["IP only"]).toExponential(2)}.`,
    `- **Adam**: steps that went uphill on L_IP (to first order): IP only ${
      _uphill(adam["IP only"])
    }, Joint ${_uphill(adam["Joint"])}, GradProm (gate) ${_uphill(adam["GradProm (gate)"])}, ` +
    `GradProm (weighted) ${_uphill(adam["GradProm (weighted)"])} of ${steps}. ` +
    `Final L_IP: GradProm (gate) ${
      _end(adam["GradProm (gate)"]).toExponential(2)
    } against IP only ${_end(adam["IP only"]).toExponential(2)}.`,
  ].join("\n");
}
