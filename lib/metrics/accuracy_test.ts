import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { accuracy } from "./accuracy.ts";
import { _BACKENDS, _useBackend } from "./_testing.ts";

Deno.test("accuracy() compares class-index arrays", () => {
  assert.equal(accuracy([0, 2, 1, 1], [0, 2, 2, 1]), 0.75);
  assert.equal(accuracy([3], [3]), 1);
  assert.equal(accuracy([1, 1], [0, 0]), 0);
});

Deno.test("accuracy() takes the argmax of logits over the last axis", async (t) => {
  for (const backend of _BACKENDS) {
    await t.step(backend, async () => {
      await _useBackend(backend);
      const before = tf.memory().numTensors;
      // argmax per row: 0, 2, 1, 2, 0
      const logits = tf.tensor2d([
        [2.0, 1.0, 0.0],
        [-1.0, 0.5, 3.0],
        [0.1, 0.9, 0.2],
        [0.0, 0.0, 1e-3],
        [5.0, -5.0, 4.0],
      ]);
      const labels = tf.tensor1d([0, 2, 0, 2, 1], "int32");
      assert.equal(accuracy(logits, labels), 3 / 5);
      assert.equal(accuracy(logits, [0, 2, 1, 2, 0]), 1);
      // One-hot labels, and [N, 1] labels.
      const oneHot = tf.oneHot(labels, 3);
      assert.equal(accuracy(logits, oneHot), 3 / 5);
      const column = tf.reshape(labels, [5, 1]);
      assert.equal(accuracy(logits, column), 3 / 5);
      // Predicted indices as a tensor.
      const predicted = tf.tensor1d([0, 2, 0, 2, 1]);
      assert.equal(accuracy(predicted, labels), 1);
      // Segmentation logits [N, H, W, K] against masks [N, H, W]: pixel accuracy.
      const seg = tf.tidy(() => tf.oneHot(tf.tensor3d([[[0, 1], [2, 2]]], [1, 2, 2], "int32"), 3));
      const mask = tf.tensor3d([[[0, 1], [2, 1]]], [1, 2, 2], "int32");
      assert.equal(accuracy(seg, mask), 0.75);
      tf.dispose([logits, labels, oneHot, column, predicted, seg, mask]);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    });
  }
});

Deno.test("accuracy() rejects empty, mismatched and non-integer inputs", async () => {
  await _useBackend("cpu");
  assert.throws(() => accuracy([], []), {
    name: "RangeError",
    message: "Expected at least one prediction but found shape [0]",
  });
  assert.throws(() => accuracy([0, 1], [0, 1, 1]), {
    name: "RangeError",
    message: "Expected labels matching the predictions but found predictions of shape [2] " +
      "and labels of shape [3]",
  });
  const logits = tf.zeros([4, 3]), labels = tf.zeros([2, 2], "int32");
  assert.throws(() => accuracy(logits, labels), {
    name: "RangeError",
    message: "Expected labels matching the predictions but found predictions of shape [4] " +
      "and labels of shape [2,2]",
  });
  assert.throws(() => accuracy([0.5, 1], [0, 1]), {
    name: "RangeError",
    message: "Expected every prediction to be an integer class index but found 0.5",
  });
  tf.dispose([logits, labels]);
});
