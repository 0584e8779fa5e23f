import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { Rng } from "../../util/rng.ts";
import { registerGradients } from "../register_gradients.ts";
import { _make, _spec, _weightedSum } from "../_testing.ts";
import { registerBatchNormGradient } from "./batch_norm_gradient.ts";

registerGradients();
await tf.setBackend("cpu");

/** Gradients of a training-mode batch norm (batch statistics) w.r.t. x, gamma and beta. */
function grads(): { values: Float32Array[] } {
  const rng = new Rng(21);
  const specs = [_spec(rng, [2, 5, 5, 6], 2), _spec(rng, [6]), _spec(rng, [6])];
  const values = tf.tidy(() => {
    const xs = specs.map(_make);
    const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const y = tf.batchNorm4d(
        x as tf.Tensor4D,
        mean as tf.Tensor1D,
        variance as tf.Tensor1D,
        b as tf.Tensor1D,
        g as tf.Tensor1D,
        1e-5,
      );
      return _weightedSum(y, 4);
    };
    return tf.grads(f)(xs).map((t) => t.dataSync() as Float32Array);
  });
  return { values };
}

Deno.test("registerBatchNormGradient() gives the stock gradients bit for bit, without Tile", async () => {
  const stock = grads();
  const stockProfile = await tf.profile(() => tf.tidy(() => grads()).values.length);
  assert.ok(stockProfile.kernels.some((k) => k.name === "Tile"), "the stock gradient tiles");
  registerBatchNormGradient();
  registerBatchNormGradient(); // idempotent
  const mine = grads();
  for (let i = 0; i < stock.values.length; i++) {
    assert.deepEqual(mine.values[i], stock.values[i], `gradient ${i}`);
  }
  const profile = await tf.profile(() => tf.tidy(() => grads()).values.length);
  assert.deepEqual(profile.kernels.filter((k) => k.name === "Tile"), []);
});
