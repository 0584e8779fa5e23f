/**
 * Runs a real training strategy (from `lib/strategies`) on the two-parameter
 * toy problem and records the trajectory.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Strategy } from "../strategies/types.ts";
import { type TwoParamProblem, twoParamProblem, type Vec2 } from "./two_param_problem.ts";

/** Options of {@link simulate}. Unknown keys are an error. */
export interface SimulateOptions {
  /** Optimizer steps (default 300). */
  steps?: number;
  /** Learning rate (default 0.02). */
  lr?: number;
  /** Starting θ (default `[-4, -3]`). */
  start?: Vec2;
  /** Weight λ of the auxiliary loss: the strategy sees aux = λ·∇L_VR (default 1). */
  lambda?: number;
  /**
   * `"sgd"` (default): θ ← θ − lr·u. `"adam"`: Adam (Kingma & Ba, bias-corrected,
   * β1 0.9, β2 0.999, ε 1e-7 as `tf.train.adam`) on u. u is the strategy's update.
   */
  optimizer?: "sgd" | "adam";
  /** The problem (default {@link twoParamProblem}`()`). */
  problem?: TwoParamProblem;
}

/** The defaults of {@link simulate}. */
export const SIMULATE_DEFAULTS: Readonly<Required<Omit<SimulateOptions, "problem">>> = {
  steps: 300,
  lr: 0.02,
  start: [-4, -3],
  lambda: 1,
  optimizer: "sgd",
};

/** What {@link simulate} records. Per-point arrays have `steps + 1` entries, per-step ones `steps`. */
export interface ToyTrajectory {
  /** θ_0 … θ_steps. */
  theta: Vec2[];
  /** L_IP(θ_t) per point. */
  lIp: number[];
  /** L_VR(θ_t) per point (unweighted). */
  lVr: number[];
  /** Per step: cos(∇L_IP, λ∇L_VR) at θ_t, as the strategy reported it. */
  cosine: number[];
  /** Per step: the strategy's weight on the auxiliary gradient (GradProm's gate). */
  auxWeight: number[];
  /**
   * Per step: ⟨θ_t − θ_{t+1}, ∇L_IP(θ_t)⟩, the first-order decrease of L_IP the
   * step makes. With SGD, Lemma 3.1 says GradProm's is ≥ lr·|∇L_IP(θ_t)|².
   */
  ipDescent: number[];
  /** Per step: |∇L_IP(θ_t)|². */
  ipGradSq: number[];
  /** The options used (defaults filled in, problem left out). */
  options: Required<Omit<SimulateOptions, "problem">>;
}

const _KEYS = new Set(["steps", "lr", "start", "lambda", "optimizer", "problem"]);

/**
 * Trains θ ∈ R² with a strategy: each step hands it `{theta: ∇L_IP(θ)}` and
 * `{theta: λ∇L_VR(θ)}` as float32 tensors, reads back its update u and applies
 * it with plain SGD or Adam (in float64). The strategy is the library's real
 * one, so the toy exercises the same code as the image experiments.
 *
 * @param strategy A {@link Strategy} (e.g. `ipOnly`, `joint`, `gradProm()`).
 * @param options Steps, learning rate, start, λ, optimizer, problem.
 * @returns The trajectory and per-step losses, cosine, gate and IP descent.
 * @throws {TypeError} On an unknown option or optimizer.
 * @throws {RangeError} On a non-positive step count or learning rate, or a negative λ.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { gradProm } from "../strategies/grad_prom.ts";
 * import { simulate } from "./simulate.ts";
 * await setupBackend({ quiet: true });
 * const run = simulate(gradProm(), { steps: 200 });
 * assert.ok(run.lIp[200] < 1e-2); // GradProm still reaches IP's minimum (L_IP 24.7 at the start)
 * ```
 */
export function simulate(strategy: Strategy, options: SimulateOptions = {}): ToyTrajectory {
  for (const k of Object.keys(options)) {
    if (!_KEYS.has(k)) {
      throw new TypeError(`Expected options among ${[..._KEYS].join(", ")} but found "${k}"`);
    }
  }
  const o = { ...SIMULATE_DEFAULTS, ...options };
  const { steps, lr, lambda, optimizer } = o;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`Expected steps to be a positive integer but found ${steps}`);
  }
  if (!(lr > 0) || !Number.isFinite(lr)) {
    throw new RangeError(`Expected lr to be a positive number but found ${lr}`);
  }
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new RangeError(`Expected lambda to be a non-negative number but found ${lambda}`);
  }
  if (optimizer !== "sgd" && optimizer !== "adam") {
    throw new TypeError(`Expected optimizer "sgd" or "adam" but found "${optimizer}"`);
  }
  if (!Array.isArray(o.start) || o.start.length !== 2 || !o.start.every(Number.isFinite)) {
    throw new RangeError(`Expected start to be two finite numbers but found [${o.start}]`);
  }
  const p = options.problem ?? twoParamProblem();
  let t: Vec2 = [o.start[0], o.start[1]];
  const out: ToyTrajectory = {
    theta: [t],
    lIp: [p.lIp(t)],
    lVr: [p.lVr(t)],
    cosine: [],
    auxWeight: [],
    ipDescent: [],
    ipGradSq: [],
    options: { steps, lr, lambda, optimizer, start: [o.start[0], o.start[1]] },
  };
  const m = [0, 0], v = [0, 0];
  const b1 = 0.9, b2 = 0.999, eps = 1e-7;
  for (let k = 1; k <= steps; k++) {
    const g = p.gradIp(t), a = p.gradVr(t);
    const r = tf.tidy(() => {
      const res = strategy(
        { theta: tf.tensor1d(g, "float32") },
        { theta: tf.tensor1d([lambda * a[0], lambda * a[1]], "float32") },
      );
      return { u: Array.from(res.grads.theta.dataSync()), cos: res.cosine, w: res.auxWeight };
    });
    let step: number[];
    if (optimizer === "sgd") {
      step = [lr * r.u[0], lr * r.u[1]];
    } else {
      step = [0, 1].map((i) => {
        m[i] = b1 * m[i] + (1 - b1) * r.u[i];
        v[i] = b2 * v[i] + (1 - b2) * r.u[i] * r.u[i];
        const mh = m[i] / (1 - b1 ** k), vh = v[i] / (1 - b2 ** k);
        return lr * mh / (Math.sqrt(vh) + eps);
      });
    }
    t = [t[0] - step[0], t[1] - step[1]];
    out.theta.push(t);
    out.lIp.push(p.lIp(t));
    out.lVr.push(p.lVr(t));
    out.cosine.push(r.cos);
    out.auxWeight.push(r.w);
    out.ipDescent.push(step[0] * g[0] + step[1] * g[1]);
    out.ipGradSq.push(g[0] * g[0] + g[1] * g[1]);
  }
  return out;
}
