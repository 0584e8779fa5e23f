import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { registerGradients } from "./register_gradients.ts";

await tf.setBackend("cpu");

Deno.test("registerGradients() registers the tfjs-core gradients once", () => {
  assert.deepEqual(registerGradients(), []); // the import already did the work
  for (const kernel of ["Sum", "Conv2D", "Conv2DBackpropInput", "FusedBatchNorm", "Prelu"]) {
    assert.ok(tf.getGradient(kernel), kernel);
  }
});

Deno.test("registerGradients() gives comparisons and logical ops a zero gradient", () => {
  const a = tf.tensor1d([1, -2, 3, 0.5]);
  const b = tf.tensor1d([0, 0, 5, 0]);
  const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => {
    const mask = tf.logicalAnd(tf.greater(x, y), tf.logicalNot(tf.equal(x, tf.scalar(3))));
    return tf.sum(tf.where(mask, tf.mul(x, 2), tf.mul(y, 3)));
  })([a, b]);
  assert.deepEqual(Array.from(ga.dataSync()), [2, 0, 0, 2]);
  assert.deepEqual(Array.from(gb.dataSync()), [0, 3, 3, 0]);
  tf.dispose([a, b, ga, gb]);
});
