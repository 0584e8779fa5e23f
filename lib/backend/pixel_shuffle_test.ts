import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import {
  _gradsOn,
  _initBackends,
  _onBackend,
  _randn,
  _relError,
  _spec,
  type _TestBackend,
  _weightedSum,
} from "./_testing.ts";
import { pixelShuffle } from "./pixel_shuffle.ts";

await _initBackends();

const BACKENDS: _TestBackend[] = ["cpu", "wasm"];
const CASES: [number[], number][] = [
  [[1, 1, 1, 4], 2],
  [[2, 3, 5, 8], 2],
  [[3, 2, 3, 18], 3],
  [[1, 4, 2, 12], 2],
  [[2, 3, 3, 5], 1],
];

/** The inverse shuffle (space-to-depth) by its definition: the gradient of Σ shuffle(x)·r. */
function inverseShuffle(r: Float32Array, xShape: number[], s: number): Float32Array {
  const [n, h, w, depth] = xShape;
  const c = depth / s / s;
  const out = new Float32Array(r.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let i = 0; i < s; i++) {
          for (let j = 0; j < s; j++) {
            for (let k = 0; k < c; k++) {
              const src = ((b * h * s + y * s + i) * w * s + x * s + j) * c + k;
              out[((b * h + y) * w + x) * depth + (i * s + j) * c + k] = r[src];
            }
          }
        }
      }
    }
  }
  return out;
}

Deno.test("pixelShuffle() equals tf.depthToSpace(NHWC) on cpu and wasm", async () => {
  const rng = new Rng(1);
  for (const [shape, s] of CASES) {
    const x = _spec(rng, shape);
    for (const backend of BACKENDS) {
      await _onBackend(backend, () => {
        const xt = tf.tensor4d(x.values, shape as [number, number, number, number]);
        const y = pixelShuffle(xt, s);
        // depthToSpace rejects a block size of 1, where the shuffle is the identity.
        const expected = s === 1 ? tf.clone(xt) : tf.depthToSpace(xt, s, "NHWC");
        assert.deepEqual(y.shape, expected.shape);
        assert.deepEqual(y.dataSync(), expected.dataSync(), `${backend} [${shape}] s=${s}`);
        tf.dispose([xt, y, expected]);
      });
    }
  }
});

Deno.test("pixelShuffle() gradient is the inverse shuffle, on cpu and wasm", async () => {
  const rng = new Rng(2);
  for (const [k, [shape, s]] of CASES.entries()) {
    const x = _spec(rng, shape);
    const outShape = [shape[0], shape[1] * s, shape[2] * s, shape[3] / s / s];
    const r = _randn(new Rng(500 + k), outShape.reduce((a, b) => a * b, 1));
    const expected = inverseShuffle(r, shape, s);
    for (const backend of BACKENDS) {
      const { grads } = await _gradsOn(
        backend,
        [x],
        (xt) => _weightedSum(pixelShuffle(xt as tf.Tensor4D, s), 500 + k),
      );
      assert.ok(_relError(grads[0], expected) < 1e-6, `${backend} [${shape}] s=${s}`);
    }
  }
});

Deno.test("pixelShuffle() keeps the tensor count flat", async () => {
  await _onBackend("wasm", () => {
    const x = tf.ones([2, 3, 3, 8]) as tf.Tensor4D;
    const f = (a: tf.Tensor) => tf.sum(pixelShuffle(a as tf.Tensor4D, 2));
    tf.dispose(tf.grad(f)(x));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([pixelShuffle(x, 2), tf.grad(f)(x)]);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

Deno.test("pixelShuffle() rejects bad scales and channel counts", async () => {
  await _onBackend("cpu", () => {
    const x = tf.zeros([1, 2, 2, 8]) as tf.Tensor4D;
    assert.throws(() => pixelShuffle(x, 0), /Expected scale to be an integer >= 1 but found 0/);
    assert.throws(() => pixelShuffle(x, 1.5), /but found 1.5/);
    assert.throws(
      () => pixelShuffle(x, 3),
      /Expected the channel count to be a multiple of scale² = 9 but found 8/,
    );
    assert.throws(
      () => pixelShuffle(tf.zeros([2, 8]) as unknown as tf.Tensor4D, 2),
      /Expected a rank-4 NHWC tensor but found shape \[2,8\]/,
    );
    x.dispose();
  });
});
