import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../backend/setup_backend.ts";
import { Rng } from "../../util/rng.ts";
import { addGaussianNoise } from "../gaussian_noise.ts";
import { compositeDegradation } from "./composite_degradation.ts";
import { gaussianBlur } from "./gaussian_blur.ts";
import { addPoissonNoise } from "./poisson_noise.ts";

await setupBackend({ quiet: true });

function image(): tf.Tensor4D {
  const d = Float32Array.from({ length: 2 * 12 * 10 * 3 }, (_, i) => ((i * 13) % 17) / 17);
  return tf.tensor4d(d, [2, 12, 10, 3]);
}

Deno.test("compositeDegradation() is blur → Poisson → Gaussian by default", () => {
  const before = tf.memory().numTensors;
  const x = image();
  const opts = { sigma: 0.05, photons: 100, blurSigma: 1 };
  const y = compositeDegradation(x, opts, 9);
  const rng = new Rng(9);
  const b = gaussianBlur(x, 1);
  const p = addPoissonNoise(b, 100, rng.fork("poisson").seed());
  const g = addGaussianNoise(p, 0.05, rng.fork("gaussian").seed());
  assert.deepEqual(Array.from(y.dataSync()), Array.from(g.dataSync()));
  const v = y.dataSync();
  assert.ok(v.every((a) => a >= 0 && a <= 1));
  tf.dispose([x, y, b, p, g]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("compositeDegradation() follows a custom order and is seeded", () => {
  const x = image();
  const opts = { sigma: 0.05, photons: 100, blurSigma: 1 };
  const a = compositeDegradation(x, { ...opts, order: ["gaussian", "poisson", "blur"] }, 9);
  const rng = new Rng(9);
  const g = addGaussianNoise(x, 0.05, rng.fork("gaussian").seed());
  const p = addPoissonNoise(g, 100, rng.fork("poisson").seed());
  const b = gaussianBlur(p as tf.Tensor4D, 1);
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  const same = compositeDegradation(x, { ...opts, order: ["gaussian", "poisson", "blur"] }, 9);
  assert.deepEqual(Array.from(same.dataSync()), Array.from(a.dataSync()));
  const only = compositeDegradation(x, { ...opts, order: ["blur"] }, 9);
  const blur = gaussianBlur(x, 1);
  assert.deepEqual(Array.from(only.dataSync()), Array.from(blur.dataSync()));
  tf.dispose([x, a, g, p, b, same, only, blur]);
});

Deno.test("compositeDegradation() rejects bad parameters", () => {
  const x = image();
  const ok = { sigma: 0.1, photons: 10, blurSigma: 1 };
  assert.throws(
    () => compositeDegradation(x, { ...ok, sigma: 1.5 }, 1),
    /sigma in \[0, 1\] but found 1.5/,
  );
  assert.throws(
    () => compositeDegradation(x, { ...ok, photons: -1 }, 1),
    /photons > 0 but found -1/,
  );
  assert.throws(
    () => compositeDegradation(x, { ...ok, blurSigma: -2 }, 1),
    /blurSigma >= 0 but found -2/,
  );
  assert.throws(
    () => compositeDegradation(x, { ...ok, order: ["blur", "blur"] }, 1),
    /distinct steps .* found \["blur","blur"\]/,
  );
  assert.throws(
    () => compositeDegradation(x, { ...ok, noise: 1 } as typeof ok, 1),
    /Unknown option "noise"/,
  );
  x.dispose();
});
