import { combine, cosineOf, gradientStats } from "./grad_math.ts";
import type { Strategy, StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@link gradProm}. */
export interface GradPromOptions {
  /**
   * `"gate"` (default, the paper's algorithm): `main + aux` when cos ≥ 0, else
   * `main`. `"weighted"` (the paper's Lemma 3.1): `main + max(0, cos)·aux`.
   */
  mode?: "gate" | "weighted";
  /**
   * `"global"` (default): one cosine over all of θ flattened into one vector
   * (the Lemma's single scalar). `"layer"`: a cosine per variable, each
   * variable gated on its own.
   */
  granularity?: "global" | "layer";
}

/**
 * Gradient promotion (GradProm): the enhancement network takes the
 * recognition network's gradient only when it does not pull against its own.
 *
 * With s = cos(main, aux): gate mode returns `main + aux` if s ≥ 0 and `main`
 * otherwise; weighted mode returns `main + max(0, s)·aux`. Either way
 * ⟨update, main⟩ ≥ |main|² ≥ 0, so the auxiliary task never biases IP's
 * descent (Lemma 3.1). A zero gradient has cosine 0, so the gate is open
 * (adding a zero vector, or adding aux to a zero main, keeps the inner product
 * with main at 0). The cosine is scale-free: λ changes the step, not the gate.
 * With `granularity: "layer"` the rule applies per variable; the returned
 * `cosine` is still the global one and `auxWeight` the mean weight.
 *
 * @param options Mode and granularity.
 * @returns A {@link Strategy}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gradProm } from "./grad_prom.ts";
 * await tf.setBackend("cpu");
 * const step = gradProm();
 * const r = step({ w: tf.tensor([1, 0]) }, { w: tf.tensor([-1, 1]) });
 * // Gate shut: the update is main.
 * assert.ok(r.cosine < 0);
 * assert.equal(r.auxWeight, 0);
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 0]);
 * ```
 */
export function gradProm(options: GradPromOptions = {}): Strategy {
  const mode = options.mode ?? "gate";
  const granularity = options.granularity ?? "global";
  if (mode !== "gate" && mode !== "weighted") {
    throw new TypeError(`Expected mode "gate" or "weighted" but found "${mode}"`);
  }
  if (granularity !== "global" && granularity !== "layer") {
    throw new TypeError(`Expected granularity "global" or "layer" but found "${granularity}"`);
  }
  const weightOf = (cos: number) => mode === "gate" ? (cos >= 0 ? 1 : 0) : Math.max(0, cos);
  return function gradPromStrategy(
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
