import { cosineOf, gradientStats } from "./grad_math.ts";
import { linearCombine } from "./_linear.ts";
import type { Strategy, StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@link pcGrad}. */
export interface PcGradOptions {
  /**
   * `false` (default): only `aux` is projected, onto the normal plane of
   * `main`; `main` enters the update unchanged. `true`: the original
   * two-task PCGrad, where each gradient is projected onto the other's normal
   * plane.
   */
  symmetric?: boolean;
}

/**
 * PCGrad, "gradient surgery" (Yu et al., NeurIPS 2020, "Gradient Surgery for
 * Multi-Task Learning"), for one main and one auxiliary gradient over all of θ
 * flattened into one vector.
 *
 * With m = `main`, a = `aux` and d = ⟨m, a⟩: when d ≥ 0 the update is m + a
 * (no conflict, nothing changes). When d < 0:
 *
 * - symmetric (the original; with two tasks each projects once onto the
 *   other's original gradient): m' = m − d/|a|²·a, a' = a − d/|m|²·m, update
 *   m' + a' = (1 − d/|m|²)·m + (1 − d/|a|²)·a. Then
 *   ⟨update, m⟩ = |m|²(1 − cos²) ≥ 0 and ⟨update, a⟩ = |a|²(1 − cos²) ≥ 0:
 *   it conflicts with neither, but main's own component shrinks to
 *   |m|²(1 − cos²), down to 0 when the two are anti-parallel.
 * - asymmetric (default): only `aux` is projected onto m's normal plane,
 *   a' = a − d/|m|²·m, update m + a' = (1 − d/|m|²)·m + a. Then
 *   ⟨update, m⟩ = |m|² exactly: main's descent is kept in full (the same
 *   guarantee ⟨update, m⟩ ≥ |m|² as GradProm's Lemma 3.1), while the
 *   update may still conflict with `aux`.
 *
 * Adaptation to GradProm's asymmetric setting: the original treats the tasks
 * as peers. Here the image-processing task (main) must not be harmed and the
 * recognition task (aux) is only a helper, so the default keeps `main`
 * intact and removes from `aux` just the component that opposes it; unlike
 * GradProm's gate, the rest of `aux` (the part orthogonal to `main`) is still
 * used when they conflict. The original PCGrad is per task pair over the whole
 * shared parameter vector, as here (one global inner product, not per layer).
 * A zero gradient gives d = 0: no conflict, update m + a. The decision (sign
 * of d) is scale-free, the update is not: λ scales `aux`'s share.
 *
 * `auxWeight` is the coefficient of `aux` in the update (1 − d/|a|² for the
 * symmetric form under conflict, > 1; otherwise 1).
 *
 * @param options `{symmetric}` (default `false`).
 * @returns A {@link Strategy}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { pcGrad } from "./pcgrad.ts";
 * await setupBackend({ quiet: true });
 * const r = pcGrad()({ w: tf.tensor([1, 0]) }, { w: tf.tensor([-1, 1]) });
 * // aux lost its component along −main; main is intact.
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 1]);
 * ```
 */
export function pcGrad(options: PcGradOptions = {}): Strategy {
  const symmetric = options.symmetric ?? false;
  if (typeof symmetric !== "boolean") {
    throw new TypeError(`Expected symmetric to be a boolean but found ${symmetric}`);
  }
  return function pcGradStrategy(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): StrategyResult {
    const s = gradientStats(main, aux);
    const d = s.totalDot, mm = s.totalMainSq, aa = s.totalAuxSq;
    const cosine = cosineOf(d, mm, aa);
    // d < 0 implies |m|, |a| > 0 in exact arithmetic; float32 squares can underflow.
    const conflict = d < 0 && mm > 0 && aa > 0;
    const wMain = conflict ? 1 - d / mm : 1;
    const wAux = conflict && symmetric ? 1 - d / aa : 1;
    return { grads: linearCombine(main, aux, wMain, wAux), cosine, auxWeight: wAux };
  };
}
