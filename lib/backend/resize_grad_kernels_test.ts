import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { _initBackends, _onBackend, _randn, _relError, type _TestBackend } from "./_testing.ts";
import { registerResizeGradKernels } from "./resize_grad_kernels.ts";

await _initBackends(); // registers the kernels of resize_grad_kernels.ts

type Resize = (x: tf.Tensor4D) => tf.Tensor4D;

function variants(size: [number, number]): [string, Resize][] {
  return [
    ["bilinear", (x) => tf.image.resizeBilinear(x, size)],
    ["bilinear halfPixelCenters", (x) => tf.image.resizeBilinear(x, size, false, true)],
    ["bilinear alignCorners", (x) => tf.image.resizeBilinear(x, size, true)],
    ["nearest", (x) => tf.image.resizeNearestNeighbor(x, size)],
    ["nearest halfPixelCenters", (x) => tf.image.resizeNearestNeighbor(x, size, false, true)],
    ["nearest alignCorners", (x) => tf.image.resizeNearestNeighbor(x, size, true)],
  ];
}

/**
 * The gradient of `Σ f(x)·r` and, as reference, `Jᵀr` from the backend's own forward `f`
 * (linear, batch elements independent) applied to all basis images at once.
 */
function gradAndReference(
  f: Resize,
  shape: [number, number, number, number],
  x: Float32Array,
  r: Float32Array,
  outShape: number[],
): { grad: tf.Tensor; reference: Float32Array } {
  const [n, h, w, c] = shape;
  const p = h * w * c;
  const rt = tf.tensor(r, outShape);
  const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D), rt)))(
    tf.tensor4d(x, shape),
  );
  const reference = tf.tidy(() => {
    const basis = tf.reshape(tf.eye(p), [p, h, w, c]) as tf.Tensor4D;
    const images = tf.reshape(f(basis), [p, -1]); // row q: f(e_q)
    return tf.transpose(tf.matMul(images, tf.reshape(rt, [n, -1]), false, true)); // [n, p]
  });
  const out = reference.dataSync() as Float32Array;
  tf.dispose([rt, reference]);
  return { grad, reference: out };
}

Deno.test("resize gradients equal the transpose of the forward resize on cpu and wasm", async () => {
  const rng = new Rng(31);
  const shape: [number, number, number, number] = [2, 4, 5, 3];
  const x = _randn(rng, 2 * 4 * 5 * 3);
  for (const size of [[8, 10], [7, 8], [3, 3], [4, 5]] as [number, number][]) {
    const outShape = [2, size[0], size[1], 3];
    const r = _randn(rng, outShape.reduce((a, b) => a * b, 1));
    for (const [name, f] of variants(size)) {
      for (const backend of ["cpu", "wasm"] as _TestBackend[]) {
        await _onBackend(backend, () => {
          const { grad, reference } = gradAndReference(f, shape, x, r, outShape);
          assert.deepEqual(grad.shape, shape, `${backend} ${name} ${size}`);
          const err = _relError(grad.dataSync(), reference);
          grad.dispose();
          assert.ok(err < 1e-5, `${backend} ${name} -> ${size}: relative error ${err}`);
        });
      }
    }
  }
});

Deno.test("registerResizeGradKernels() is idempotent and does not leak", async () => {
  registerResizeGradKernels();
  registerResizeGradKernels();
  for (const backend of ["cpu", "wasm"] as _TestBackend[]) {
    await _onBackend(backend, () => {
      const x = tf.ones([2, 3, 4, 2]) as tf.Tensor4D;
      const f = (a: tf.Tensor) =>
        tf.sum(tf.image.resizeBilinear(a as tf.Tensor4D, [5, 7], false, true));
      tf.dispose(tf.grad(f)(x));
      const before = tf.memory().numTensors;
      const ids = tf.engine().backend.numDataIds();
      for (let i = 0; i < 3; i++) tf.dispose(tf.grad(f)(x));
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.engine().backend.numDataIds(), ids);
      x.dispose();
    });
  }
});
