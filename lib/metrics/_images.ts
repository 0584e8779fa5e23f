/**
 * Shared input checks for the image metrics (internal, not re-exported).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Checks that `pred` and `target` are images of one shape (HWC or NHWC) and returns both as
 * float32 NHWC tensors. Call inside `tf.tidy`: the returned tensors may be new.
 */
export function _asImageBatches(
  pred: tf.Tensor,
  target: tf.Tensor,
  metric: string,
): [tf.Tensor4D, tf.Tensor4D] {
  if (pred.rank !== 3 && pred.rank !== 4) {
    throw new RangeError(
      `Expected ${metric} inputs of rank 3 (HWC) or 4 (NHWC) but found pred of shape [${pred.shape}]`,
    );
  }
  if (!_sameShape(pred.shape, target.shape)) {
    throw new RangeError(
      `Expected ${metric} pred and target to have the same shape but found [${pred.shape}] and [${target.shape}]`,
    );
  }
  if (pred.size === 0) {
    throw new RangeError(`Expected non-empty ${metric} inputs but found shape [${pred.shape}]`);
  }
  const as4d = (x: tf.Tensor): tf.Tensor4D => {
    const f = x.dtype === "float32" ? x : tf.cast(x, "float32");
    return (x.rank === 3 ? tf.expandDims(f, 0) : f) as tf.Tensor4D;
  };
  return [as4d(pred), as4d(target)];
}

/** Checks a positive finite scale such as `maxValue` or `dataRange`. */
export function _checkPositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`Expected ${name} to be a positive finite number but found ${value}`);
  }
}

function _sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
