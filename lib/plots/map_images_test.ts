import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { mapImages } from "./map_images.ts";

await setupBackend({ quiet: true });

Deno.test("mapImages() scales each map by its own quantile and colours it", () => {
  const before = tf.memory().numTensors;
  // Image 0: values 0..99 (its 99th percentile is 98); image 1: ten times larger.
  const v = Array.from({ length: 100 }, (_, i) => i);
  const maps = tf.tensor3d([...v, ...v.map((x) => 10 * x)], [2, 10, 10]);
  const [a, b] = mapImages(maps, { captions: ["a", "b"] });
  // Same map up to scale, same picture (to one 8-bit step of float rounding).
  assert.ok(a.pixels.every((p, i) => Math.abs(p - b.pixels[i]) <= 1));
  assert.equal(a.caption, "a");
  // The last pixel (99 > 98) clips to 1: dark red; the first (0) is dark blue.
  assert.deepEqual(Array.from(a.pixels.slice(-3)), [128, 0, 0]);
  assert.deepEqual(Array.from(a.pixels.slice(0, 3)), [0, 0, 128]);
  maps.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("mapImages() keeps an all-zero map at the low colour and draws outlines", () => {
  const maps = tf.zeros([1, 3, 3]);
  const mask = tf.tensor3d([[[1, 0, 0], [0, 0, 0], [0, 0, 0]]]);
  const [im] = mapImages(maps, { outline: mask });
  assert.deepEqual(Array.from(im.pixels.slice(0, 3)), [255, 255, 255]);
  assert.deepEqual(Array.from(im.pixels.slice(3, 6)), [0, 0, 128]);
  tf.dispose([maps, mask]);
});

Deno.test("mapImages() names what is wrong", () => {
  const maps = tf.zeros([1, 3, 3, 1]);
  assert.throws(() => mapImages(maps), /Expected maps \[N, H, W\] but found \[1,3,3,1\]/);
  const m3 = tf.zeros([1, 3, 3]);
  assert.throws(() => mapImages(m3, { quantile: 0 }), /quantile in \(0, 1\] but found 0/);
  tf.dispose([maps, m3]);
});
