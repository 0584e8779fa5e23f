/**
 * The contract every training strategy follows.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** What a strategy returns. */
export interface StrategyResult {
  /** The update direction for θ, keyed like the inputs; hand it to `optimizer.applyGradients`. */
  grads: tf.NamedTensorMap;
  /** cos(main, aux) over all of θ flattened into one vector (0 when either is zero). */
  cosine: number;
  /**
   * The weight the strategy gave `aux` overall: 1 when it was added in full, 0
   * when it was refused, in between for weighted forms. For per-layer
   * strategies, the mean weight over variables.
   */
  auxWeight: number;
}

/**
 * A training strategy: a pure function from the main task's gradient
 * `main` = ∇θ L_IP and the auxiliary task's gradient `aux` = ∇θ λ·L_VR (both
 * over the enhancement parameters θ, with the same keys and shapes) to the
 * update for θ. It sees no model and no optimizer. The caller owns the inputs
 * and the returned tensors (a strategy never disposes its inputs, and never
 * returns an input tensor itself, so the caller may dispose both).
 */
export type Strategy = ((main: tf.NamedTensorMap, aux: tf.NamedTensorMap) => StrategyResult) & {
  /**
   * True when the update is always `main + aux`, with weight 1 (Joint). A caller that does not
   * need cos(main, aux) on a step may then skip the strategy and take the update as one gradient
   * of L_IP + λ·L_VR: one backward pass through θ instead of two (`trainStep`'s `measureCosine`).
   */
  readonly sumOnly?: boolean;
};
