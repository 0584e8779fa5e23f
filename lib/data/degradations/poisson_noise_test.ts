import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../backend/setup_backend.ts";
import { Rng } from "../../util/rng.ts";
import { _poisson, addPoissonNoise, POISSON_NORMAL_THRESHOLD } from "./poisson_noise.ts";

await setupBackend({ quiet: true });

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i];
    s2 += values[i] * values[i];
  }
  const mean = s / values.length;
  return { mean, variance: s2 / values.length - mean * mean };
}

Deno.test("_poisson() has mean and variance λ on both sides of the switch", () => {
  for (const lambda of [0.5, 4, 29.5, POISSON_NORMAL_THRESHOLD, 200]) {
    const rng = new Rng(11);
    const n = 20000;
    const samples = Array.from({ length: n }, () => _poisson(lambda, rng));
    assert.ok(samples.every((k) => Number.isInteger(k) && k >= 0));
    const { mean, variance } = moments(samples);
    // 5 standard errors of the mean, and of the variance (≈ λ·√(2/n) for large λ).
    assert.ok(Math.abs(mean - lambda) < 5 * Math.sqrt(lambda / n), `mean ${mean} for λ ${lambda}`);
    const seVar = Math.sqrt((2 * lambda * lambda + lambda) / n);
    assert.ok(Math.abs(variance - lambda) < 5 * seVar, `variance ${variance} for λ ${lambda}`);
  }
});

Deno.test("addPoissonNoise() is unbiased with variance x/photons, seeded, in [0, 1]", () => {
  const before = tf.memory().numTensors;
  const x = tf.fill([2, 32, 32, 3], 0.3);
  const photons = 50; // λ = 15: Knuth's branch
  const y = addPoissonNoise(x, photons, 5);
  const again = addPoissonNoise(x, photons, 5);
  const other = addPoissonNoise(x, photons, 6);
  const v = y.dataSync();
  assert.deepEqual(y.shape, x.shape);
  assert.equal(y.dtype, "float32");
  assert.deepEqual(Array.from(again.dataSync()), Array.from(v));
  assert.notDeepEqual(Array.from(other.dataSync()), Array.from(v));
  assert.ok(v.every((a) => a >= 0 && a <= 1));
  const { mean, variance } = moments(v);
  const n = v.length;
  assert.ok(Math.abs(mean - 0.3) < 5 * Math.sqrt(0.3 / photons / n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 0.3 / photons) < 0.1 * (0.3 / photons), `variance ${variance}`);
  // Large photon count (λ = 600: normal branch).
  const z = addPoissonNoise(x, 2000, 5);
  const m = moments(z.dataSync());
  assert.ok(Math.abs(m.variance - 0.3 / 2000) < 0.1 * (0.3 / 2000), `variance ${m.variance}`);
  tf.dispose([x, y, again, other, z]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("addPoissonNoise() keeps 0 at 0, clips at 1 and copies for Infinity", () => {
  const x = tf.tensor4d([0, 1, 1, 0.5], [1, 2, 2, 1]);
  const y = addPoissonNoise(x, 3, 1);
  const v = y.dataSync();
  assert.equal(v[0], 0);
  assert.ok(v.every((a) => a >= 0 && a <= 1));
  const c = addPoissonNoise(x, Infinity, 1);
  assert.deepEqual(Array.from(c.dataSync()), [0, 1, 1, 0.5]);
  tf.dispose([x, y, c]);
});

Deno.test("addPoissonNoise() rejects a bad photon count", () => {
  const x = tf.zeros([1, 2, 2, 1]);
  assert.throws(() => addPoissonNoise(x, 0, 1), /Expected photons > 0 \(or Infinity\) but found 0/);
  assert.throws(() => addPoissonNoise(x, NaN, 1), /but found NaN/);
  assert.throws(() => addPoissonNoise(x, 10, NaN), /finite seed/);
  x.dispose();
});
