import { combine, cosineOf, gradientStats } from "./grad_math.ts";
import type { Strategy, StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/**
 * Joint training: θ follows the gradient of L_IP + λ·L_VR, i.e. `main + aux`.
 *
 * @param main ∇θ L_IP by variable name.
 * @param aux ∇θ λ·L_VR by variable name (same keys and shapes).
 * It is marked {@link Strategy.sumOnly}: `trainStep` takes its update as one gradient of
 * L_IP + λ·L_VR, without calling it, on steps that do not measure the cosine.
 *
 * @returns `{grads: main + aux, cosine, auxWeight: 1}`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { joint } from "./joint.ts";
 * await tf.setBackend("cpu");
 * const r = joint({ w: tf.tensor([1, 0]) }, { w: tf.tensor([0, 2]) });
 * assert.equal(r.cosine, 0);
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 2]);
 * assert.equal(joint.sumOnly, true);
 * ```
 */
export const joint: Strategy = Object.assign(
  (main: tf.NamedTensorMap, aux: tf.NamedTensorMap): StrategyResult => {
    const s = gradientStats(main, aux);
    return {
      grads: combine(main, aux, () => 1),
      cosine: cosineOf(s.totalDot, s.totalMainSq, s.totalAuxSq),
      auxWeight: 1,
    };
  },
  { sumOnly: true } as const,
);
