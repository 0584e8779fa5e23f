import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { Rng } from "../../util/rng.ts";
import { registerGradients } from "../register_gradients.ts";
import { _make, _randn, _relError, type _Spec, _spec, _weightedSum } from "../_testing.ts";
import { registerBatchNormGradient } from "./batch_norm_gradient.ts";
import { loadDnnl } from "./_dnnl.ts";
import {
  nativeCallCounts,
  ONEDNN_BACKEND,
  registerOnednnBackend,
  resetNativeCallCounts,
} from "./register_onednn_backend.ts";

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

/** libdnnl 2.x loadable? Without it (not installed, or no FFI) the onednn test is skipped. */
const _onednn = (() => {
  try {
    loadDnnl();
    return true;
  } catch {
    return false;
  }
})();

/** Inputs `x, mean, variance, scale, offset` of a batch norm with given statistics. */
function givenStats(): _Spec[] {
  const rng = new Rng(22);
  const variance = _spec(rng, [16]);
  variance.values.forEach((v, i) => (variance.values[i] = 0.5 + v * v));
  return [
    _spec(rng, [4, 8, 8, 16], 2),
    _spec(rng, [16]),
    variance,
    _spec(rng, [16]),
    _spec(rng, [16]),
  ];
}

/** Gradients of `Σ batchNorm(...)·r` for all five inputs, and the onednn kernel calls. */
async function givenStatsGrads(backend: string) {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const specs = givenStats();
  resetNativeCallCounts();
  const out = tf.tidy(() => {
    const [x, mean, variance, scale, offset] = specs.map(_make);
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.batchNorm4d(
        x as tf.Tensor4D,
        m as tf.Tensor1D,
        v as tf.Tensor1D,
        o as tf.Tensor1D,
        s as tf.Tensor1D,
        1e-3,
      );
    const dy = tf.tensor(_randn(new Rng(23), x.size), x.shape, "float32");
    return tf.grads(f)([x, mean, variance, scale, offset], dy).map((t) =>
      t.dataSync() as Float32Array
    );
  });
  return { grads: out, counts: nativeCallCounts() };
}

Deno.test({
  name:
    "registerBatchNormGradient() on onednn: the fewer-pass gradient runs natively and matches cpu",
  ignore: !_onednn,
  fn: async () => {
    registerOnednnBackend();
    const cpu = await givenStatsGrads("cpu");
    const dnn = await givenStatsGrads(ONEDNN_BACKEND);
    // Float32 rounding only: the fewer-pass form sums Σ dy·(x − mean) per channel (256
    // terms) where the stock one sums each gradient's own products; measured ≤ 1e-6.
    for (let i = 0; i < cpu.grads.length; i++) {
      const err = _relError(dnn.grads[i], cpu.grads[i]);
      assert.ok(err <= 1e-5, `gradient ${i}: error ${err}`);
    }
    const c = dnn.counts;
    assert.deepEqual(c.FusedBatchNorm, { native: 1, js: 0, cpu: 0 }, "the forward pass");
    // S₁ and S₂, both native: two sums (the stock form takes one per statistic's gradient).
    assert.deepEqual(c.Sum, { native: 2, js: 0, cpu: 0 }, "the per-channel sums");
    // x − mean, dy·(x − mean) and dy·(r·scale) at full size; the per-channel products (16
    // values, under NATIVE_MIN_SIZE) stay on the cpu kernel.
    assert.deepEqual(c.Sub, { native: 1, js: 0, cpu: 0 }, "x − mean");
    assert.equal(c.Multiply.native, 2, `full-size products: ${JSON.stringify(c.Multiply)}`);
    await tf.setBackend("cpu");
  },
});
