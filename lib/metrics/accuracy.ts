/**
 * Classification accuracy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Fraction of predictions equal to their labels: `mean(pred == label)`.
 *
 * Predictions are given either as class indices (a `number[]` or a rank-1 tensor) or as
 * logits / probabilities (a tensor of rank ≥ 2, reduced by argmax over its last axis, so
 * `[N, K]` logits give N predictions and `[N, H, W, K]` segmentation logits give per-pixel
 * accuracy). Labels are class indices (a `number[]`, a tensor of the predictions' shape, or that
 * shape with a trailing axis of size 1), or one-hot / soft labels with one more axis than the
 * predictions (reduced by argmax).
 *
 * @param logitsOrPred Class indices, or logits with classes on the last axis.
 * @param labels Class indices of the same shape as the predictions, or one-hot labels.
 * @returns The accuracy in [0, 1].
 * @throws {RangeError} If there are no samples, the numbers of predictions and labels differ,
 *   or an index is not an integer.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { accuracy } from "./accuracy.ts";
 * await tf.setBackend("cpu");
 * if (accuracy([0, 2, 1, 1], [0, 2, 2, 1]) !== 0.75) throw new Error();
 * const logits = tf.tensor2d([[2, 1, 0], [0, 1, 3]]); // argmax: 0, 2
 * if (accuracy(logits, [0, 1]) !== 0.5) throw new Error();
 * logits.dispose();
 * ```
 */
export function accuracy(
  logitsOrPred: tf.Tensor | number[],
  labels: tf.Tensor | number[],
): number {
  const pred = _classIndices(
    logitsOrPred,
    !Array.isArray(logitsOrPred) && logitsOrPred.rank > 1 ? "argmax" : "indices",
  );
  const extraAxis = !Array.isArray(labels) && labels.rank > 1 &&
    labels.rank === pred.shape.length + 1;
  const truth = _classIndices(
    labels,
    !extraAxis ? "indices" : labels.shape[labels.rank - 1] === 1 ? "squeeze" : "argmax",
  );
  if (pred.values.length === 0) {
    throw new RangeError(`Expected at least one prediction but found shape [${pred.shape}]`);
  }
  const matches = Array.isArray(logitsOrPred) || Array.isArray(labels)
    ? pred.values.length === truth.values.length
    : pred.shape.length === truth.shape.length && pred.shape.every((d, i) => d === truth.shape[i]);
  if (!matches) {
    const labelShape = Array.isArray(labels) ? [labels.length] : labels.shape;
    throw new RangeError(
      `Expected labels matching the predictions but found predictions of shape [${pred.shape}] and labels of shape [${labelShape}]`,
    );
  }
  let hits = 0;
  for (let i = 0; i < pred.values.length; i++) {
    _checkIndex("prediction", pred.values[i]);
    _checkIndex("label", truth.values[i]);
    if (pred.values[i] === truth.values[i]) hits++;
  }
  return hits / pred.values.length;
}

/**
 * Class indices as a flat array, with the shape they stand for: as given ("indices"), the
 * last axis of size 1 dropped ("squeeze"), or argmax over the last axis ("argmax": logits,
 * one-hot labels).
 */
function _classIndices(
  x: tf.Tensor | number[],
  mode: "indices" | "squeeze" | "argmax",
): { values: ArrayLike<number>; shape: number[] } {
  if (Array.isArray(x)) return { values: x, shape: [x.length] };
  if (mode === "indices") return { values: x.dataSync(), shape: x.shape };
  if (mode === "squeeze") return { values: x.dataSync(), shape: x.shape.slice(0, -1) };
  const idx = tf.tidy(() => tf.argMax(x, -1));
  const values = idx.dataSync();
  idx.dispose();
  return { values, shape: x.shape.slice(0, -1) };
}

function _checkIndex(what: string, v: number): void {
  if (!Number.isInteger(v)) {
    throw new RangeError(`Expected every ${what} to be an integer class index but found ${v}`);
  }
}
