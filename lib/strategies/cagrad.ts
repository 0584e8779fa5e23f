import { cosineOf, gradientStats } from "./grad_math.ts";
import { caGradDual } from "./_cagrad_dual.ts";
import { linearCombine } from "./_linear.ts";
import type { Strategy, StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@link caGrad}. */
export interface CaGradOptions {
  /** Radius c ≥ 0 of the ball around the average gradient (default 0.5, the paper's usual value). */
  c?: number;
  /**
   * Divide the update by 1 + c² (default `true`, the official code's default
   * `rescale=1`), which keeps the step near the joint step.
   */
  rescale?: boolean;
}

/**
 * Conflict-Averse Gradient descent, CAGrad (Liu et al., NeurIPS 2021,
 * "Conflict-Averse Gradient Descent for Multi-task Learning"), for two tasks.
 *
 * CAGrad looks for the update d that maximises the worse of the two tasks'
 * improvements, min(⟨m, d⟩, ⟨a, d⟩), within a ball |d − g₀| ≤ c·|g₀| around
 * the average gradient g₀ = (m + a)/2. Its dual is one-dimensional for two
 * tasks: minimise F(x) = ⟨g_w, g₀⟩ + c·|g₀|·|g_w| over x ∈ [0, 1] with
 * g_w = x·m + (1 − x)·a (solved by bisection on the sign of its derivative), then
 *
 *   d = g₀ + (c·|g₀| / |g_w|)·g_w.
 *
 * c = 0 gives the average (joint) gradient; as c grows CAGrad approaches
 * MGDA's min-norm direction. If |g_w| ≈ 0 (≤ 1e-4·max(|m|, |a|): the hull of
 * m and a holds 0, a Pareto-stationary point) the second term is dropped and
 * d = g₀.
 *
 * Adaptation to GradProm's setting: the method is kept symmetric (it protects
 * the worse-off task, whichever it is), so unlike GradProm it does not favour
 * `main`: for c < 1 the update can still conflict with `main`, and both
 * gradients' scales matter, so λ (inside `aux`) changes the direction, not
 * just the step. To put it on the same scale as `joint` (m + a = 2·g₀) the
 * update returned is 2·d, divided by (1 + c²) when `rescale` is on: with
 * c = 0 the result is exactly m + a. The whole of θ is one vector (one x per
 * step), as in the paper.
 *
 * `auxWeight` is the coefficient of `aux` in the returned update.
 *
 * @param options `{c, rescale}`.
 * @returns A {@link Strategy}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { caGrad } from "./cagrad.ts";
 * await setupBackend({ quiet: true });
 * const r = caGrad({ c: 0 })({ w: tf.tensor([1, 0]) }, { w: tf.tensor([-1, 2]) });
 * assert.deepEqual([...r.grads.w.dataSync()], [0, 2]); // c = 0 is joint training
 * ```
 */
export function caGrad(options: CaGradOptions = {}): Strategy {
  const c = options.c ?? 0.5;
  const rescale = options.rescale ?? true;
  if (!(Number.isFinite(c) && c >= 0)) throw new RangeError(`Expected c ≥ 0 but found ${c}`);
  if (typeof rescale !== "boolean") {
    throw new TypeError(`Expected rescale to be a boolean but found ${rescale}`);
  }
  const scale = 2 / (rescale ? 1 + c * c : 1);
  return function caGradStrategy(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): StrategyResult {
    const s = gradientStats(main, aux);
    const mm = s.totalMainSq, aa = s.totalAuxSq, ma = s.totalDot;
    const cosine = cosineOf(ma, mm, aa);
    // d = ½m + ½a + k·(x·m + (1 − x)·a), k = c·|g₀| / |g_w|.
    let wMain = 0.5, wAux = 0.5;
    const g0 = Math.sqrt(Math.max(0, (mm + 2 * ma + aa) / 4));
    if (c > 0 && g0 > 0) {
      const { x, gwSq } = caGradDual(mm, aa, ma, c);
      // |g_w| ≈ 0: the float32 sum k·(x·m + (1 − x)·a) would be all cancellation error.
      if (gwSq > 1e-8 * Math.max(mm, aa)) {
        const k = c * g0 / Math.sqrt(gwSq);
        wMain += k * x;
        wAux += k * (1 - x);
      }
    }
    return {
      grads: linearCombine(main, aux, scale * wMain, scale * wAux),
      cosine,
      auxWeight: scale * wAux,
    };
  };
}
