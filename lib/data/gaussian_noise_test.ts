import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { addGaussianNoise } from "./gaussian_noise.ts";

await tf.setBackend("cpu");

Deno.test("addGaussianNoise() adds N(0, σ²) noise: mean ≈ 0, std ≈ σ on mid-grey", () => {
  const x = tf.fill([4, 64, 64, 3], 0.5);
  const before = tf.memory().numTensors;
  for (const sigma of [0.05, 0.1]) { // ≥ 5σ from the clip bounds: clipping is negligible
    const y = addGaussianNoise(x, sigma, 7);
    const [mean, std] = tf.tidy(() => {
      const n = tf.sub(y, x);
      const m = tf.mean(n);
      const s = tf.sqrt(tf.mean(tf.square(tf.sub(n, m))));
      return [m.dataSync()[0], s.dataSync()[0]];
    });
    assert.ok(Math.abs(mean) < 0.003, `mean ${mean}`);
    assert.ok(Math.abs(std - sigma) / sigma < 0.02, `std ${std} for sigma ${sigma}`);
    y.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

Deno.test("addGaussianNoise() is seeded, clipped to [0, 1], and σ = 0 copies", () => {
  const x = tf.tidy(() => tf.reshape(tf.div(tf.range(0, 300, 1, "float32"), 299), [1, 10, 10, 3]));
  const a = addGaussianNoise(x, 0.3, 1), b = addGaussianNoise(x, 0.3, 1);
  const c = addGaussianNoise(x, 0.3, 2);
  assert.deepEqual(a.dataSync(), b.dataSync());
  assert.notDeepEqual(a.dataSync(), c.dataSync());
  const va = a.dataSync();
  assert.ok(va.every((v) => v >= 0 && v <= 1));
  assert.ok(va.some((v) => v === 0) && va.some((v) => v === 1));
  const z = addGaussianNoise(x, 0, 5);
  assert.notEqual(z, x);
  assert.deepEqual(z.dataSync(), x.dataSync());
  tf.dispose([a, b, c, z, x]);
});

Deno.test("addGaussianNoise() rejects σ outside [0, 1]", () => {
  const x = tf.zeros([1, 2, 2, 1]);
  assert.throws(() => addGaussianNoise(x, 1.5, 0), {
    name: "RangeError",
    message: "Expected sigma in [0, 1] but found 1.5",
  });
  assert.throws(() => addGaussianNoise(x, -0.1, 0), RangeError);
  assert.throws(() => addGaussianNoise(x, NaN, 0), RangeError);
  x.dispose();
});
