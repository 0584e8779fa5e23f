import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../backend/setup_backend.ts";
import { _gaussianKernel, _reflectIndex, gaussianBlur } from "./gaussian_blur.ts";

await setupBackend({ quiet: true });

Deno.test("_reflectIndex() pads by reflection without repeating the edge", () => {
  const idx = _reflectIndex(4, 3);
  assert.deepEqual(Array.from(idx.dataSync()), [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
  idx.dispose();
  const big = _reflectIndex(2, 3); // pad larger than the axis: reflect again
  assert.deepEqual(Array.from(big.dataSync()), [1, 0, 1, 0, 1, 0, 1, 0]);
  big.dispose();
});

Deno.test("gaussianBlur() matches a hand-computed separable blur with reflect padding", () => {
  const before = tf.memory().numTensors;
  const h = 5, w = 6, c = 2;
  const data = Float32Array.from({ length: h * w * c }, (_, i) => ((i * 37) % 23) / 23);
  const x = tf.tensor4d(data, [1, h, w, c]);
  const sigma = 1.2, r = 2;
  const y = gaussianBlur(x, sigma, { radius: r });
  const k = _gaussianKernel(sigma, r);
  const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const at = (i: number, j: number, ch: number) => data[(i * w + j) * c + ch];
  const got = y.dataSync();
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let a = -r; a <= r; a++) {
          for (let b = -r; b <= r; b++) {
            s += k[a + r] * k[b + r] * at(refl(i + a, h), refl(j + b, w), ch);
          }
        }
        assert.ok(Math.abs(got[(i * w + j) * c + ch] - s) < 1e-5, `at ${i},${j},${ch}`);
      }
    }
  }
  tf.dispose([x, y]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("gaussianBlur() keeps constants, copies for sigma 0, default radius ceil(3σ)", () => {
  const x = tf.fill([2, 7, 5, 3], 0.4) as tf.Tensor4D;
  const y = gaussianBlur(x, 2.5);
  assert.deepEqual(y.shape, x.shape);
  assert.ok(y.dataSync().every((v) => Math.abs(v - 0.4) < 1e-6));
  const z = gaussianBlur(x, 0);
  assert.deepEqual(Array.from(z.dataSync()), Array.from(x.dataSync()));
  assert.equal(_gaussianKernel(1, 3).length, 7);
  tf.dispose([x, y, z]);
});

Deno.test("gaussianBlur() rejects bad arguments", () => {
  const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
  assert.throws(() => gaussianBlur(x, -1), /Expected sigma >= 0 but found -1/);
  assert.throws(() => gaussianBlur(x, 1, { radius: 1.5 }), /radius .* found 1.5/);
  const r3 = tf.zeros([4, 4, 1]);
  assert.throws(() => gaussianBlur(r3 as tf.Tensor4D, 1), /rank 4 but found shape \[4,4,1\]/);
  tf.dispose([x, r3]);
});
