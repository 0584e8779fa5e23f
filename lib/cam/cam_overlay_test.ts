import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { camOverlay, jetColormap } from "./cam_overlay.ts";

await setupBackend({ quiet: true });

const near = (a: ArrayLike<number>, b: number[]) =>
  assert.ok(b.every((v, i) => Math.abs(a[i] - v) < 1e-6), `${Array.from(a)} vs ${b}`);

Deno.test("jetColormap() runs dark blue → blue → green → red → dark red", () => {
  const v = tf.tensor1d([-1, 0, 0.25, 0.5, 0.75, 1, 2]), rgb = jetColormap(v);
  assert.deepEqual(rgb.shape, [7, 3]);
  near(rgb.dataSync(), [
    ...[0, 0, 0.5], // clipped below
    ...[0, 0, 0.5],
    ...[0, 0.5, 1],
    ...[0.5, 1, 0.5],
    ...[1, 0.5, 0],
    ...[0.5, 0, 0],
    ...[0.5, 0, 0], // clipped above
  ]);
  tf.dispose([v, rgb]);
});

Deno.test("camOverlay() blends (1 − α)·image + α·jet(cam), grey shown as RGB", () => {
  const before = tf.memory().numTensors;
  const image = tf.fill([1, 2, 2, 1], 0.4), cam = tf.tensor3d([[[0, 0.5], [1, 0.25]]]);
  const out = camOverlay(image, cam, { alpha: 0.25 });
  assert.deepEqual(out.shape, [1, 2, 2, 3]);
  const g = 0.75 * 0.4;
  near(out.dataSync(), [
    ...[g, g, g + 0.125],
    ...[g + 0.125, g + 0.25, g + 0.125],
    ...[g + 0.125, g, g],
    ...[g, g + 0.125, g + 0.25],
  ]);
  const [rgb, zero] = [tf.ones([2, 2, 3]), tf.zeros([2, 2])];
  const unbatched = camOverlay(rgb, zero);
  assert.deepEqual(unbatched.shape, [2, 2, 3]);
  near(unbatched.dataSync(), [0.5, 0.5, 0.75]);
  assert.throws(() => camOverlay(image, cam, { alpha: 2 }), /alpha in \[0, 1\] but found 2/);
  assert.throws(
    () => tf.tidy(() => camOverlay(image, tf.zeros([1, 2, 3]))),
    /map of shape \[1,2,2\] for an image of shape \[1,2,2,1\] but found \[1,2,3\]/,
  );
  assert.throws(
    () => tf.tidy(() => camOverlay(tf.zeros([2, 2, 2]), tf.zeros([2, 2]))),
    /1 or 3 image channels/,
  );
  tf.dispose([image, cam, out, rgb, zero, unbatched]);
  assert.equal(tf.memory().numTensors, before, "tensor leak");
});
