import { cosineOf, gradientStats } from "./grad_math.ts";
import { linearCombine } from "./_linear.ts";
import type { StrategyResult } from "./types.ts";
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@link gradVac}. */
export interface GradVacOptions {
  /** EMA rate β in [0, 1) (default 0.01, the paper's value); 0 keeps the target fixed. */
  beta?: number;
  /** Initial target cosine φ̂ in (−1, 1) (default 0, as in the paper). */
  target?: number;
  /**
   * `false` (default): only `aux` is moved toward `main`. `true`: as in the
   * original, each of the two is also moved toward the other.
   */
  symmetric?: boolean;
}

/**
 * A GradVac strategy: a {@link Strategy} that also carries its EMA state.
 * Calling it updates the state, so it is NOT pure: make one per training run.
 */
export interface GradVacStrategy {
  (main: tf.NamedTensorMap, aux: tf.NamedTensorMap): StrategyResult;
  /** The current target cosine φ̂ (the EMA of the cosines seen so far). */
  readonly target: number;
  /** How many calls updated the EMA (calls with a zero gradient do not). */
  readonly updates: number;
}

/**
 * Gradient Vaccine (Wang et al., ICLR 2021, "Gradient Vaccine: Investigating
 * and Improving Multi-task Optimization in Massively Multilingual Models"):
 * instead of only removing conflict (PCGrad's target cosine 0), pull the
 * gradients' cosine up to an adaptive target φ̂, the exponential moving
 * average of the cosines observed during training.
 *
 * With m = `main`, a = `aux`, φ = cos(m, a) and the current target φ̂: if
 * φ < φ̂, aux becomes
 *
 *   a' = a + w·m,  w = |a|·(φ̂·√(1 − φ²) − φ·√(1 − φ̂²)) / (|m|·√(1 − φ̂²)),
 *
 * the unique a' = a + w·m with cos(a', m) = φ̂ (w > 0); the update is
 * m + a' = (1 + w)·m + a. Otherwise the update is m + a. After the update the
 * target moves: φ̂ ← (1 − β)·φ̂ + β·φ, with φ the cosine of the raw gradients
 * (the paper's Algorithm 1 order: use φ̂, then update it).
 *
 * Adaptation to GradProm's asymmetric setting: the original modifies every
 * task's gradient toward every other's, per layer and per task pair, in
 * multilingual translation. Here there is one pair over all of θ flattened
 * into one vector (one EMA), and by default only `aux` is changed, by adding a
 * multiple of `main`, so `main` always enters the update in full; with
 * `symmetric: true` m is also replaced by m' = m + w'·a (w' as w with the
 * norms swapped) so that cos(m', a) = φ̂. While φ̂ ≥ 0 the asymmetric
 * update satisfies ⟨update, m⟩ ≥ |m|², as GradProm does. A negative φ̂ (an
 * EMA of mostly conflicting steps, or `target < 0`) only raises the cosine to
 * φ̂, so the update may then conflict with `main`: GradVac does not promise
 * GradProm's guarantee. A zero gradient leaves the update at m + a and the
 * EMA untouched (its cosine carries no information).
 *
 * `auxWeight` is the coefficient of `aux` in the update (1 unless symmetric).
 *
 * @param options `{beta, target, symmetric}`.
 * @returns A {@link GradVacStrategy}: call it like any strategy; read
 *   `.target` for the current EMA.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { gradVac } from "./gradvac.ts";
 * await setupBackend({ quiet: true });
 * const step = gradVac({ beta: 0.5, target: 0 });
 * const r = step({ w: tf.tensor([1, 0]) }, { w: tf.tensor([-1, 1]) });
 * // With φ̂ = 0 it acts like asymmetric PCGrad.
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 1]);
 * // φ̂ ← (1 − 0.5)·0 + 0.5·cos, cos = −1/√2.
 * assert.ok(Math.abs(step.target - 0.5 * -Math.SQRT1_2) < 1e-6);
 * ```
 */
export function gradVac(options: GradVacOptions = {}): GradVacStrategy {
  const beta = options.beta ?? 0.01;
  const symmetric = options.symmetric ?? false;
  let target = options.target ?? 0;
  if (typeof beta !== "number" || !(beta >= 0 && beta < 1)) {
    throw new RangeError(`Expected beta in [0, 1) but found ${beta}`);
  }
  if (typeof target !== "number" || !(target > -1 && target < 1)) {
    throw new RangeError(`Expected target in (-1, 1) but found ${target}`);
  }
  if (typeof symmetric !== "boolean") {
    throw new TypeError(`Expected symmetric to be a boolean but found ${symmetric}`);
  }
  let updates = 0;
  const strategy = function gradVacStrategy(
    main: tf.NamedTensorMap,
    aux: tf.NamedTensorMap,
  ): StrategyResult {
    const s = gradientStats(main, aux);
    const mm = s.totalMainSq, aa = s.totalAuxSq;
    const phi = cosineOf(s.totalDot, mm, aa);
    let wMain = 1, wAux = 1;
    if (mm > 0 && aa > 0) {
      const rootT = Math.sqrt(1 - target * target);
      if (phi < target && rootT > 0) {
        const k = (target * Math.sqrt(1 - phi * phi) - phi * rootT) / rootT;
        wMain += k * Math.sqrt(aa / mm); // a' = a + w·m
        if (symmetric) wAux += k * Math.sqrt(mm / aa); // m' = m + w'·a
      }
      target = (1 - beta) * target + beta * phi;
      updates++;
    }
    return { grads: linearCombine(main, aux, wMain, wAux), cosine: phi, auxWeight: wAux };
  };
  Object.defineProperties(strategy, {
    target: { get: () => target, enumerable: true },
    updates: { get: () => updates, enumerable: true },
  });
  return strategy as GradVacStrategy;
}
