import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { registerGradients } from "./register_gradients.ts";

await tf.setBackend("cpu");

Deno.test("registerGradients() registers the tfjs-core gradients once", () => {
  assert.deepEqual(registerGradients(), []); // the import already did the work
  const kernels = [
    "Sum",
    "Conv2D",
    "Conv2DBackpropInput",
    "FusedBatchNorm",
    "Prelu",
    "FusedConv2D",
  ];
  for (const kernel of kernels) {
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

const _fusedConv = (
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  activation = "linear",
) =>
  tf.engine().runKernel("FusedConv2D", { x, filter, bias }, {
    strides: 1,
    pad: "same",
    dataFormat: "NHWC",
    dilations: 1,
    activation,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;

// The kernel gradient runs the kernels tf.fused.conv2d's custom gradient runs, so the gradients
// are the same numbers; it differs in computing only the inputs a variable depends on.
Deno.test("FusedConv2D's kernel gradient equals tf.fused.conv2d's for x, filter and bias, and computes x's only where needed", async () => {
  const x = tf.randomNormal([2, 7, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([5, 5, 3, 4], 0, 0.3, "float32", 2) as tf.Tensor4D;
  const b = tf.randomNormal([4], 0, 1, "float32", 3) as tf.Tensor1D;
  const up = tf.randomNormal([2, 7, 6, 4], 0, 1, "float32", 4);
  const loss = (y: tf.Tensor) => tf.sum(tf.mul(tf.square(y), up)) as tf.Scalar;
  const ours = tf.grads((x, w, b) =>
    loss(_fusedConv(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D))
  )([x, w, b]);
  const theirs = tf.grads((x, w, b) =>
    loss(tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: w as tf.Tensor4D,
      bias: b,
      strides: 1,
      pad: "same",
    }))
  )([x, w, b]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(ours[i].shape, theirs[i].shape);
    assert.deepEqual(ours[i].dataSync(), theirs[i].dataSync(), `input ${i}`);
  }
  // Gradients of the filter and bias only: no backward-data convolution runs.
  const wv = tf.variable(w, true, "register_gradients_test/w");
  const bv = tf.variable(b, true, "register_gradients_test/b");
  const p = await tf.profile(() => {
    const { grads, value } = tf.variableGrads(() => loss(_fusedConv(x, wv, bv)), [wv, bv]);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const names = p.kernels.map((k) => k.name);
  assert.ok(names.includes("Conv2DBackpropFilter"), names.join(", "));
  assert.ok(!names.includes("Conv2DBackpropInput"), names.join(", "));
  tf.dispose([x, w, b, up, wv, bv, ...ours, ...theirs]);
});

Deno.test("FusedConv2D's kernel gradient refuses an activation it does not differentiate", () => {
  const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
  const w = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
  const b = tf.zeros([1]) as tf.Tensor1D;
  assert.throws(
    () => tf.grad((w) => tf.sum(_fusedConv(x, w as tf.Tensor4D, b, "relu")))(w),
    /activation "linear".*"relu"/,
  );
  tf.dispose([x, w, b]);
});
