import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { resNet } from "../models/resnet.ts";
import { srResNet } from "../models/sr_resnet.ts";
import { unet } from "../models/unet.ts";
import { taskAttention } from "./attention_maps.ts";

await setupBackend({ quiet: true });

const nets = () => ({
  ip: srResNet({ channels: 4, blocks: 1 }, 0),
  classifier: resNet({ blocks: [1, 1], widths: [4, 8], classes: 3 }, 1),
  segmenter: unet({ depth: 2, baseWidth: 4, classes: 2 }, 2),
});
const disposeNets = (n: ReturnType<typeof nets>) =>
  [n.ip, n.classifier, n.segmenter].forEach((m) => m.module.dispose());

const data = () =>
  tf.tidy(() => {
    const clean = tf.randomUniform([3, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const degraded = tf.add(
      clean,
      tf.randomNormal(clean.shape, 0, 0.1, "float32", 2),
    ) as tf.Tensor4D;
    const masks = tf.cast(
      tf.greater(tf.randomUniform([3, 16, 16, 1], 0, 1, "float32", 3), 0.6),
      "float32",
    ) as tf.Tensor4D;
    return { clean, degraded, masks };
  });

Deno.test("taskAttention() maps every task, frees everything, and leaks nothing", () => {
  const n = nets(), d = data();
  const before = tf.memory().numTensors;
  const maps = taskAttention(n, d.degraded, d.clean, { masks: d.masks });
  for (
    const m of [
      maps.denoising,
      maps.segmentation!.gradient,
      maps.segmentation!.cam,
      maps.diagnosis!.gradient,
      maps.diagnosis!.cam,
    ]
  ) {
    assert.deepEqual(m.shape, [3, 16, 16]);
    assert.ok(Math.min(...m.dataSync()) >= 0);
  }
  assert.deepEqual(maps.enhanced.shape, [3, 16, 16, 3]);
  assert.equal(maps.diagnosis!.predicted.length, 3);
  assert.deepEqual(maps.diagnosis!.classes, maps.diagnosis!.predicted);
  for (const c of Object.values(maps.cosine)) {
    assert.equal(c!.length, 3);
    for (const v of c!) assert.ok(v >= -1 - 1e-6 && v <= 1 + 1e-6, String(v));
  }
  maps.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([d.clean, d.degraded, d.masks]);
  disposeNets(n);
});

Deno.test("taskAttention() denoising map is 2|Ŷ − Y|/n summed over channels", () => {
  const n = nets(), d = data();
  const maps = taskAttention({ ip: n.ip }, d.degraded, d.clean);
  const expected = tf.tidy(() => {
    const y = n.ip.apply(d.degraded, { training: false });
    return tf.sum(tf.mul(tf.abs(tf.sub(y, d.clean)), 2 / (16 * 16 * 3)), 3);
  });
  const err = tf.tidy(() => tf.max(tf.abs(tf.sub(maps.denoising, expected))).dataSync()[0]);
  const scale = tf.tidy(() => tf.max(expected).dataSync()[0]);
  assert.ok(err < 1e-5 * scale, `max error ${err} against a map of max ${scale}`);
  assert.equal(maps.segmentation, undefined);
  assert.equal(maps.diagnosis, undefined);
  assert.deepEqual(maps.cosine, {});
  maps.dispose();
  expected.dispose();
  tf.dispose([d.clean, d.degraded, d.masks]);
  disposeNets(n);
});

Deno.test("taskAttention() maps each image alone and uses the labels given", () => {
  const n = nets(), d = data();
  const all = taskAttention(n, d.degraded, d.clean, { masks: d.masks, labels: [2, 0, 1] });
  assert.deepEqual(all.diagnosis!.classes, [2, 0, 1]);
  const slice = (t: tf.Tensor) => tf.slice(t, 1, 1);
  const [x, y, m] = [slice(d.degraded), slice(d.clean), slice(d.masks)] as tf.Tensor4D[];
  const alone = taskAttention(n, x, y, { masks: m, labels: [0] });
  for (
    const [a, b] of [
      [all.segmentation!.gradient, alone.segmentation!.gradient],
      [all.diagnosis!.cam, alone.diagnosis!.cam],
      [all.diagnosis!.gradient, alone.diagnosis!.gradient],
    ]
  ) {
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(slice(a), b))).dataSync()[0]);
    assert.ok(diff < 1e-6, `image 1 differs by ${diff} inside a batch`);
  }
  all.dispose();
  alone.dispose();
  tf.dispose([x, y, m, d.clean, d.degraded, d.masks]);
  disposeNets(n);
});

Deno.test("taskAttention() names what is missing or wrong", () => {
  const n = nets(), d = data();
  const before = tf.memory().numTensors;
  assert.throws(() => taskAttention(n, d.degraded, d.clean), /Expected masks for the segmenter/);
  assert.throws(
    () =>
      taskAttention({ ip: n.ip, classifier: n.classifier }, d.degraded, d.clean, { labels: [1] }),
    /Expected 3 labels but found 1/,
  );
  assert.throws(
    () => taskAttention(n, d.degraded, d.clean, { masks: d.masks, segClass: 2 }),
    /Expected segClass in \[0, 2\) but found 2/,
  );
  const small = tf.slice(d.clean, [0, 0, 0, 0], [-1, 8, 8, -1]) as tf.Tensor4D;
  assert.throws(
    () => taskAttention({ ip: n.ip }, d.degraded, small),
    /Expected clean images of IP's output shape \[3,16,16,3\] but found \[3,8,8,3\]/,
  );
  small.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([d.clean, d.degraded, d.masks]);
  disposeNets(n);
});
