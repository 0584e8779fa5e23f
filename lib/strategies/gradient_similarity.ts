import { combine, cosineOf, gradientStats } from "./grad_math.ts";
import type { Strategy, StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@link gradientSimilarity}. */
export interface GradientSimilarityOptions {
  /**
   * `"unweighted"`: add `aux` in full iff cos(main, aux) > 0 (strictly).
   * `"weighted"` (default): add max(0, cos)·aux.
   */
  mode?: "weighted" | "unweighted";
  /**
   * `"global"` (default): one cosine over all of θ flattened into one
   * vector, the form of Du et al.'s propositions. `"layer"`: one cosine per
   * variable, each variable gated on its own.
   */
  granularity?: "global" | "layer";
}

/**
 * Gradient similarity (Du et al., 2018, "Adapting Auxiliary Losses Using
 * Gradient Similarity", arXiv:1812.02224): an auxiliary loss is used only
 * while its gradient agrees with the main task's.
 *
 * With s = cos(main, aux): unweighted returns `main + aux` if s > 0 and
 * `main` otherwise; weighted returns `main + max(0, s)·aux`. Either way
 * ⟨update, main⟩ ≥ |main|².
 *
 * How this differs from {@link gradProm} (the same idea, proposed for
 * task-driven enhancement): GradProm's gate is open at s ≥ 0, this one only
 * at s > 0, so they differ exactly when the cosine is 0 (orthogonal
 * gradients, or either gradient zero: here `aux` is then refused, in GradProm
 * it is added). The weighted forms coincide (max(0, s) is 0 at s = 0). The
 * two papers also share the asymmetric setting (a main task that must keep
 * descending and a helper task), so no adaptation is needed beyond λ, which
 * sits inside `aux` and does not change the cosine. Du et al.'s convergence
 * argument is for the cosine of the whole shared parameter vector, which is
 * the default here; `granularity: "layer"` applies the rule per variable, like
 * GradProm's layer option (the returned `cosine` is still the global one and
 * `auxWeight` the mean weight).
 *
 * @param options `{mode, granularity}` (defaults `"weighted"`, `"global"`).
 * @returns A {@link Strategy}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { gradientSimilarity } from "./gradient_similarity.ts";
 * await setupBackend({ quiet: true });
 * const strict = gradientSimilarity({ mode: "unweighted" });
 * const r = strict({ w: tf.tensor([1, 0]) }, { w: tf.tensor([0, 1]) });
 * // Orthogonal, so refused (GradProm would add it).
 * assert.deepEqual([r.cosine, r.auxWeight], [0, 0]);
 * ```
 */
export function gradientSimilarity(options: GradientSimilarityOptions = {}): Strategy {
  const mode = options.mode ?? "weighted";
  const granularity = options.granularity ?? "global";
  if (mode !== "weighted" && mode !== "unweighted") {
    throw new TypeError(`Expected mode "weighted" or "unweighted" but found "${mode}"`);
  }
  if (granularity !== "global" && granularity !== "layer") {
    throw new TypeError(`Expected granularity "global" or "layer" but found "${granularity}"`);
  }
  const weightOf = (cos: number) => mode === "unweighted" ? (cos > 0 ? 1 : 0) : Math.max(0, cos);
  return function gradientSimilarityStrategy(
    main: tf.NamedTensorMap,
    aux: tf.NamedTensorMap,
  ): StrategyResult {
    const s = gradientStats(main, aux);
    const cosine = cosineOf(s.totalDot, s.totalMainSq, s.totalAuxSq);
    if (granularity === "global") {
      const w = weightOf(cosine);
      return { grads: combine(main, aux, () => w), cosine, auxWeight: w };
    }
    const weights = s.keys.map((_, i) => weightOf(cosineOf(s.dot[i], s.mainSq[i], s.auxSq[i])));
    return {
      grads: combine(main, aux, (_, i) => weights[i]),
      cosine,
      auxWeight: weights.reduce((a, b) => a + b, 0) / weights.length,
    };
  };
}
