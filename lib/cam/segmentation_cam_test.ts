import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { unet } from "../models/unet.ts";
import { Rng } from "../util/rng.ts";
import { segmentationCam } from "./segmentation_cam.ts";

await setupBackend({ quiet: true });

Deno.test("segmentationCam() gives [N, H, W] maps in [0, 1] at every decoder level", () => {
  const net = unet({ depth: 2, baseWidth: 4, classes: 3 }, 0);
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([2, 16, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  for (const level of [0, 1, 2, undefined]) {
    const cam = segmentationCam(net, x, 1, { level });
    assert.deepEqual(cam.shape, [2, 16, 8]);
    const [lo, hi] = tf.tidy(() => [tf.min(cam).dataSync()[0], tf.max(cam).dataSync()[0]]);
    assert.ok(lo >= 0 && hi <= 1, `range [${lo}, ${hi}]`);
    cam.dispose();
  }
  assert.throws(() => segmentationCam(net, x, 3), /class index in \[0, 3\) but found 3/);
  assert.throws(() => segmentationCam(net, x, 0, { level: 3 }), /level in \[0, 2\] but found 3/);
  x.dispose();
  assert.equal(tf.memory().numTensors, before, "tensor leak");
  net.module.dispose();
});

Deno.test("segmentationCam() of a trained U-Net concentrates on the object's class", () => {
  // Grey noise with one bright 6×6 square per image, to be segmented as class 1.
  const [n, size, side] = [8, 16, 6];
  const rng = new Rng(3);
  const img = new Float32Array(n * size * size), mask = new Int32Array(n * size * size);
  const corners: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const [y0, x0] = [rng.int(size - side + 1), rng.int(size - side + 1)];
    corners.push([y0, x0]);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = (i * size + y) * size + x;
        const inside = y >= y0 && y < y0 + side && x >= x0 && x < x0 + side;
        mask[p] = inside ? 1 : 0;
        img[p] = inside ? 0.8 + 0.2 * rng.uniform() : 0.5 * rng.uniform();
      }
    }
  }
  const x = tf.tensor4d(img, [n, size, size, 1]);
  const labels = tf.oneHot(tf.tensor1d(mask, "int32"), 2);
  const net = unet({ depth: 2, baseWidth: 4, classes: 2, imageChannels: 1 }, 0);
  const opt = tf.train.adam(2e-2);
  for (let step = 0; step < 30; step++) {
    const updates = new Map<string, tf.Tensor>();
    const { value, grads } = tf.variableGrads(() => {
      const logits = tf.reshape(net.apply(x, { training: true, updates }), [-1, 2]);
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as tf.Scalar;
    }, net.module.trainable());
    opt.applyGradients(grads as Record<string, tf.Variable>);
    net.module.commitUpdates(updates);
    tf.dispose([value, ...Object.values(grads)]);
  }
  opt.dispose();

  const area = (side * side) / (size * size);
  for (const level of [1, 2]) {
    const maps = tf.tidy(() => segmentationCam(net, x, 1, { level }).dataSync());
    let mean = 0;
    corners.forEach(([y0, x0], i) => {
      let inside = 0, total = 0;
      for (let y = 0; y < size; y++) {
        for (let xx = 0; xx < size; xx++) {
          const v = maps[(i * size + y) * size + xx];
          total += v;
          if (y >= y0 && y < y0 + side && xx >= x0 && xx < x0 + side) inside += v;
        }
      }
      mean += inside / total / n;
    });
    console.log(`level ${level}: CAM mass inside the object ${mean.toFixed(3)} (area ${area})`);
    assert.ok(mean > 2 * area, `level ${level}: ${mean.toFixed(3)} vs area ${area.toFixed(3)}`);
  }
  tf.dispose([x, labels]);
  net.module.dispose();
});
