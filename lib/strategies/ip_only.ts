import { combine, cosineOf, gradientStats } from "./grad_math.ts";
import type { StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/**
 * IP only (Benchmark-i when no recognition network is trained at all): θ
 * follows `main` alone; `aux` is only measured (its cosine with `main`).
 *
 * @param main ∇θ L_IP by variable name.
 * @param aux ∇θ λ·L_VR by variable name (same keys and shapes).
 * @returns `{grads: main (a copy), cosine, auxWeight: 0}`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ipOnly } from "./ip_only.ts";
 * await tf.setBackend("cpu");
 * const r = ipOnly({ w: tf.tensor([1, 0]) }, { w: tf.tensor([-1, 0]) });
 * assert.equal(r.cosine, -1);
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 0]); // main alone
 * ```
 */
export function ipOnly(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): StrategyResult {
  const s = gradientStats(main, aux);
  return {
    grads: combine(main, aux, () => 0),
    cosine: cosineOf(s.totalDot, s.totalMainSq, s.totalAuxSq),
    auxWeight: 0,
  };
}
