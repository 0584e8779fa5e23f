import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../backend/setup_backend.ts";
import {
  addGaussianNoise,
  addPoissonNoise,
  compositeDegradation,
  type DegradationSpec,
  degrade,
  downsampleBicubic,
  gaussianBlur,
} from "./mod.ts";

await setupBackend({ quiet: true });

Deno.test("degrade() dispatches every kind to its function", () => {
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(
    Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => (i % 11) / 11),
    [1, 8, 8, 3],
  );
  const cases: [DegradationSpec, () => tf.Tensor][] = [
    [{ kind: "gaussian", sigma: 0.1 }, () => addGaussianNoise(x, 0.1, 4)],
    [{ kind: "poisson", photons: 30 }, () => addPoissonNoise(x, 30, 4)],
    [{ kind: "blur", sigma: 1, radius: 2 }, () => gaussianBlur(x, 1, { radius: 2 })],
    [
      { kind: "composite", sigma: 0.1, photons: 30, blurSigma: 1 },
      () => compositeDegradation(x, { sigma: 0.1, photons: 30, blurSigma: 1 }, 4),
    ],
    [{ kind: "bicubic", factor: 4 }, () => downsampleBicubic(x, 4)],
  ];
  for (const [spec, direct] of cases) {
    const a = degrade(x, spec, 4), b = direct();
    assert.deepEqual(a.shape, b.shape, spec.kind);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), spec.kind);
    tf.dispose([a, b]);
  }
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("degrade() rejects unknown kinds, fields and out-of-range values", () => {
  const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
  const bad = (spec: unknown) => () => degrade(x, spec as DegradationSpec, 1);
  assert.throws(bad({ kind: "jpeg", quality: 5 }), /kind gaussian, poisson, .* but found "jpeg"/);
  assert.throws(bad(null), /spec object but found null/);
  assert.throws(bad({ kind: "gaussian", sigma: 0.1, photons: 3 }), /Unknown field "photons"/);
  assert.throws(bad({ kind: "poisson" }), /Missing field "photons"/);
  assert.throws(bad({ kind: "gaussian", sigma: 2 }), /sigma in \[0, 1\] but found 2/);
  assert.throws(bad({ kind: "bicubic", factor: 3 }), /factor 2 or 4 but found 3/);
  x.dispose();
});
