import { cosineOf, gradientStats } from "./grad_math.ts";
import { linearCombine } from "./_linear.ts";
import type { Strategy, StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@link mgda}. */
export interface MgdaOptions {
  /**
   * `true` (default): return 2·d, so that the weights of `main` and `aux` sum
   * to 2 as in `joint` (m + a). `false`: the raw min-norm point d, a convex
   * combination, whose norm is at most min(|m|, |a|).
   */
  rescale?: boolean;
}

/**
 * MGDA, the multiple-gradient descent algorithm in its two-task closed form
 * (Sener & Koltun, NeurIPS 2018, "Multi-Task Learning as Multi-Objective
 * Optimization"; after Désidéri 2012): the minimum-norm point of the segment
 * between the two gradients,
 *
 *   α = clip(⟨a − m, a⟩ / |m − a|², 0, 1),  d = α·m + (1 − α)·a,
 *
 * with m = `main`, a = `aux` (α = ½ when m = a). The min-norm point d of the
 * convex hull satisfies ⟨d, m⟩ ≥ |d|² and ⟨d, a⟩ ≥ |d|², with equality for
 * both when 0 < α < 1: it is a common descent direction for both tasks
 * (d = 0 at a Pareto-stationary point, e.g. m = −a).
 *
 * Scaling: d is a convex combination, so it shrinks the step (|d| ≤ min(|m|,
 * |a|), and far below that when the gradients conflict). By default the
 * update is rescaled to 2·d so that two equal gradients give exactly the joint
 * update m + a; with `rescale: false`, d itself. Sener & Koltun's gradient
 * normalisations (by the loss or the L2 norm) and their MGDA-UB shared-
 * representation bound are not applied: θ is the enhancement network's
 * parameters, flattened into one vector.
 *
 * Adaptation to GradProm's asymmetric setting: none in the formula; MGDA
 * treats both tasks as peers and is not scale-free. Because it seeks the
 * smallest vector in the hull it leans toward the SMALLER gradient: with
 * a small λ, |a| ≪ |m| and d ≈ a, so MGDA then follows the auxiliary task
 * almost alone (its ⟨d, m⟩ ≥ 0 still holds, but main's own step nearly
 * vanishes). Tune λ with that in mind, or prefer GradProm / PCGrad when `main`
 * must lead.
 *
 * `auxWeight` is the coefficient of `aux` in the update: 2·(1 − α), or 1 − α
 * without rescaling.
 *
 * @param options `{rescale}` (default `true`).
 * @returns A {@link Strategy}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { mgda } from "./mgda.ts";
 * await setupBackend({ quiet: true });
 * const r = mgda({ rescale: false })({ w: tf.tensor([2, 0]) }, { w: tf.tensor([0, 2]) });
 * // α = ½: the midpoint is the min-norm point.
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 1]);
 * ```
 */
export function mgda(options: MgdaOptions = {}): Strategy {
  const rescale = options.rescale ?? true;
  if (typeof rescale !== "boolean") {
    throw new TypeError(`Expected rescale to be a boolean but found ${rescale}`);
  }
  const scale = rescale ? 2 : 1;
  return function mgdaStrategy(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): StrategyResult {
    const s = gradientStats(main, aux);
    const mm = s.totalMainSq, aa = s.totalAuxSq, ma = s.totalDot;
    const diffSq = mm - 2 * ma + aa; // |m − a|²
    const alpha = diffSq > 0 ? Math.min(1, Math.max(0, (aa - ma) / diffSq)) : 0.5;
    return {
      grads: linearCombine(main, aux, scale * alpha, scale * (1 - alpha)),
      cosine: cosineOf(ma, mm, aa),
      auxWeight: scale * (1 - alpha),
    };
  };
}
