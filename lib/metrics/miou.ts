/**
 * Segmentation metrics: per-class and mean intersection over union (Jaccard), Dice (F1), and
 * the confusion matrix they come from.
 *
 * For class c, with TP/FP/FN counted over every pixel of every image together (not per image,
 * then averaged):
 *
 * ```
 * IoU_c  = TP_c / (TP_c + FP_c + FN_c)
 * Dice_c = 2·TP_c / (2·TP_c + FP_c + FN_c)
 * mIoU   = mean of IoU_c over the counted classes
 * ```
 *
 * **Background counts** by default: class 0 is a class like any other (as in the usual mIoU of
 * semantic segmentation); `ignoreBackground: true` leaves class 0 out of the mean (its
 * per-class value is still reported).
 *
 * **A class absent from both prediction and truth** (TP + FP + FN = 0) has no defined IoU. By
 * default (`absent: "exclude"`) it is reported as NaN per class and left out of the mean;
 * `absent: "one"` or `"zero"` count it as 1 or 0 instead (scikit-learn's
 * `jaccard_score(..., zero_division=1 | 0)`). A mean over no counted class is NaN.
 *
 * Predictions and labels may each be class indices (a `number[]`, a typed array, or an
 * integer-valued tensor of any shape) or scores (logits, probabilities, one-hot) with the
 * classes on a last axis, reduced by argmax. A tensor is read as scores when it has one axis
 * more than the other input (or, against an array, `classes` times its length) and that axis is
 * not of size 1; a trailing axis of size 1 is dropped. NHWC logits `[N, H, W, K]` against
 * labels `[N, H, W]` or `[N, H, W, 1]` thus work as expected.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Class indices or scores accepted by the metrics. */
export type SegInput = tf.Tensor | ArrayLike<number>;

/** How a class absent from both prediction and truth is scored. */
export type AbsentClass = "exclude" | "one" | "zero";

/** Options of {@link perClassIoU} and {@link perClassDice}. */
export interface PerClassOptions {
  /** Number of classes K; indices must be in [0, K). */
  classes: number;
  /** Absent classes: NaN (`exclude`, default), 1 (`one`) or 0 (`zero`). */
  absent?: AbsentClass;
}

/** Options of {@link meanIoU} and {@link dice}. */
export interface MeanIoUOptions extends PerClassOptions {
  /** Leave class 0 out of the mean (default false: background counts). */
  ignoreBackground?: boolean;
}

/**
 * The K×K confusion matrix: `m[t][p]` = number of pixels of true class t predicted as p (rows
 * truth, columns prediction, as scikit-learn's `confusion_matrix`).
 *
 * @param pred Predicted class indices, or scores with classes on the last axis.
 * @param target True class indices (or one-hot labels), as many as the predictions.
 * @param classes Number of classes K.
 * @returns K rows of K counts.
 * @throws {RangeError} If the inputs do not match in size, are empty, or hold an index that is
 *   not an integer in [0, K).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix } from "./miou.ts";
 * const m = confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], 3); // rows: true class
 * assert.deepEqual(m, [[1, 0, 0], [0, 1, 0], [0, 1, 1]]);
 * ```
 */
export function confusionMatrix(pred: SegInput, target: SegInput, classes: number): number[][] {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`Expected an integer number of classes ≥ 1 but found ${classes}`);
  }
  const [p, t] = _resolvePair(pred, target, classes);
  const counts = new Float64Array(classes * classes);
  for (let i = 0; i < p.length; i++) {
    _checkIndex("prediction", p[i], classes);
    _checkIndex("label", t[i], classes);
    counts[t[i] * classes + p[i]]++;
  }
  return Array.from(
    { length: classes },
    (_, r) => Array.from(counts.subarray(r * classes, (r + 1) * classes)),
  );
}

/**
 * Intersection over union of every class, `TP / (TP + FP + FN)`, pixels of all images pooled.
 *
 * @param pred Predicted class indices, or scores with classes on the last axis.
 * @param target True class indices (or one-hot labels).
 * @param options Number of classes; how an absent class is scored (default NaN).
 * @returns K values in [0, 1] (NaN for an absent class by default).
 * @throws {RangeError} As {@link confusionMatrix}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perClassIoU } from "./miou.ts";
 * // class 0: 1/2, class 1: 1/2, class 2: absent
 * assert.deepEqual(perClassIoU([0, 1, 1], [0, 0, 1], { classes: 3 }), [0.5, 0.5, NaN]);
 * ```
 */
export function perClassIoU(pred: SegInput, target: SegInput, options: PerClassOptions): number[] {
  return _perClass(confusionMatrix(pred, target, options.classes), options, 1);
}

/**
 * Dice coefficient (F1) of every class, `2·TP / (2·TP + FP + FN)`, pixels of all images pooled.
 *
 * @param pred Predicted class indices, or scores with classes on the last axis.
 * @param target True class indices (or one-hot labels).
 * @param options Number of classes; how an absent class is scored (default NaN).
 * @returns K values in [0, 1] (NaN for an absent class by default).
 * @throws {RangeError} As {@link confusionMatrix}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perClassDice } from "./miou.ts";
 * assert.deepEqual(perClassDice([0, 1, 1], [0, 0, 1], { classes: 2 }), [2 / 3, 2 / 3]);
 * ```
 */
export function perClassDice(pred: SegInput, target: SegInput, options: PerClassOptions): number[] {
  return _perClass(confusionMatrix(pred, target, options.classes), options, 2);
}

/**
 * Mean intersection over union: the mean of {@link perClassIoU} over the counted classes.
 * Background (class 0) counts unless `ignoreBackground`; a class absent from both prediction and
 * truth is left out unless `absent` says otherwise (see the module doc). NaN when no class is
 * counted.
 *
 * @param pred Predicted class indices, or scores with classes on the last axis (e.g. U-Net
 *   logits `[N, H, W, K]`).
 * @param target True class indices (e.g. `[N, H, W]`), or one-hot labels.
 * @param options Number of classes, `ignoreBackground` (default false), `absent` (default
 *   `exclude`).
 * @returns The mIoU in [0, 1], or NaN.
 * @throws {RangeError} As {@link confusionMatrix}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { meanIoU } from "./miou.ts";
 * await tf.setBackend("cpu");
 * assert.equal(meanIoU([0, 1, 1, 0], [0, 1, 0, 0], { classes: 2 }), (2 / 3 + 1 / 2) / 2);
 * assert.equal(meanIoU([0, 1, 1, 0], [0, 1, 0, 0], { classes: 2, ignoreBackground: true }), 0.5);
 * // Logits [1, 2, 2, 2] (argmax over the last axis) against labels [1, 2, 2].
 * const logits = tf.tensor4d([[[[2, 1], [0, 3]], [[0, 1], [5, 0]]]]);
 * const labels = tf.tensor3d([[[0, 1], [1, 0]]]);
 * assert.equal(meanIoU(logits, labels, { classes: 2 }), 1);
 * tf.dispose([logits, labels]);
 * ```
 */
export function meanIoU(pred: SegInput, target: SegInput, options: MeanIoUOptions): number {
  return _mean(perClassIoU(pred, target, options), options.ignoreBackground ?? false);
}

/**
 * Mean Dice coefficient: the mean of {@link perClassDice} over the counted classes, with the
 * same background and absent-class rules as {@link meanIoU}.
 *
 * @param pred Predicted class indices, or scores with classes on the last axis.
 * @param target True class indices, or one-hot labels.
 * @param options Number of classes, `ignoreBackground` (default false), `absent` (default
 *   `exclude`).
 * @returns The mean Dice in [0, 1], or NaN.
 * @throws {RangeError} As {@link confusionMatrix}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dice } from "./miou.ts";
 * // foreground: TP 1, FP 1, FN 0 → 2/3
 * assert.equal(dice([0, 1, 1, 0], [0, 1, 0, 0], { classes: 2, ignoreBackground: true }), 2 / 3);
 * ```
 */
export function dice(pred: SegInput, target: SegInput, options: MeanIoUOptions): number {
  return _mean(perClassDice(pred, target, options), options.ignoreBackground ?? false);
}

/** IoU (`k` = 1) or Dice (`k` = 2) per class from a confusion matrix. */
function _perClass(cm: number[][], options: PerClassOptions, k: 1 | 2): number[] {
  const absent = options.absent ?? "exclude";
  if (!["exclude", "one", "zero"].includes(absent)) {
    throw new RangeError(`Expected absent to be "exclude", "one" or "zero" but found "${absent}"`);
  }
  const K = cm.length;
  return cm.map((row, c) => {
    const tp = row[c];
    let fp = 0, fn = 0;
    for (let j = 0; j < K; j++) {
      if (j === c) continue;
      fn += row[j];
      fp += cm[j][c];
    }
    const denominator = k * tp + fp + fn;
    if (denominator === 0) return absent === "one" ? 1 : absent === "zero" ? 0 : NaN;
    return (k * tp) / denominator;
  });
}

function _mean(values: number[], ignoreBackground: boolean): number {
  const counted = values.filter((v, c) => !(ignoreBackground && c === 0) && !Number.isNaN(v));
  return counted.length ? counted.reduce((a, b) => a + b, 0) / counted.length : NaN;
}

/** Both inputs as flat class indices of equal length. */
function _resolvePair(
  pred: SegInput,
  target: SegInput,
  classes: number,
): [ArrayLike<number>, ArrayLike<number>] {
  const describe = (
    x: SegInput,
  ) => (x instanceof tf.Tensor ? `[${x.shape}]` : `[${x.length}] (array)`);
  const p = _indices(pred, target, classes);
  const t = _indices(target, pred, classes);
  if (p.length !== t.length) {
    throw new RangeError(
      `Expected predictions and labels of matching size but found ${describe(pred)} and ${
        describe(target)
      }`,
    );
  }
  if (p.length === 0) {
    throw new RangeError(`Expected at least one pixel but found ${describe(pred)}`);
  }
  return [p, t];
}

/** A tensor's rank without a trailing axis of size 1 (`[N, H, W, 1]` counts as rank 3). */
function _rank(x: tf.Tensor): number {
  return x.rank >= 2 && x.shape[x.rank - 1] === 1 ? x.rank - 1 : x.rank;
}

/**
 * One input as flat class indices: as given, or the argmax over its last axis when it holds
 * scores, i.e. has one axis more than the other input (against an array, which always holds
 * indices: `classes` values per element of the array).
 */
function _indices(x: SegInput, other: SegInput, classes: number): ArrayLike<number> {
  if (!(x instanceof tf.Tensor)) return x;
  const last = x.shape[x.rank - 1];
  const scores = _rank(x) === x.rank && x.rank >= 2 &&
    (other instanceof tf.Tensor
      ? x.rank === _rank(other) + 1
      : last === classes && x.size === classes * other.length);
  if (!scores) return x.dataSync();
  const idx = tf.tidy(() => tf.argMax(x, -1));
  const values = idx.dataSync();
  idx.dispose();
  return values;
}

function _checkIndex(what: string, v: number, classes: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= classes) {
    throw new RangeError(
      `Expected every ${what} to be an integer class index in [0, ${classes}) but found ${v}`,
    );
  }
}
