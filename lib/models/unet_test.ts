import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { decodeWeightsInto, encodeWeights, loadWeights, saveWeights } from "./checkpoint.ts";
import type { ForwardContext, Module } from "./module.ts";
import { unet, UNET_DEFAULTS, type UNetOptions } from "./unet.ts";

await setupBackend({ quiet: true });

/** Adam on a loss; returns the loss of every step (batch-norm statistics committed). */
function fit(m: Module, loss: (ctx: ForwardContext) => tf.Scalar, steps: number, lr: number) {
  const opt = tf.train.adam(lr);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const updates = new Map<string, tf.Tensor>();
    const { value, grads } = tf.variableGrads(
      () => loss({ training: true, updates }),
      m.trainable(),
    );
    opt.applyGradients(grads as Record<string, tf.Variable>);
    m.commitUpdates(updates);
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
  }
  opt.dispose();
  return losses;
}

/** Mean per-pixel softmax cross-entropy of `[N, H, W, K]` logits against `[N, H, W]` labels. */
const pixelCrossEntropy = (logits: tf.Tensor4D, labels: tf.Tensor3D) =>
  tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, "int32"), logits.shape[3]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
  });

const allValues = (m: Module) =>
  [...m.params.values(), ...m.state.values()].map((v) => v.dataSync().slice());

const SETTINGS: Partial<UNetOptions>[] = [
  {},
  { depth: 1, baseWidth: 2, classes: 1, imageChannels: 1 },
  { depth: 2, baseWidth: 4, classes: 4, upsampling: "bilinear" },
  { depth: 4, baseWidth: 2, classes: 3, imageChannels: 1, upsampling: "transpose" },
];

Deno.test("unet() gives [N, H, W, classes] logits in every setting, train and eval", () => {
  for (const options of SETTINGS) {
    const net = unet(options, 0);
    const before = tf.memory().numTensors;
    const { depth, imageChannels, classes } = net.options;
    for (const [h, w] of [[16, 16], [16, 32], [48, 16]]) {
      const x = tf.randomUniform([2, h, w, imageChannels], 0, 1, "float32", 1) as tf.Tensor4D;
      for (const training of [true, false]) {
        const y = tf.tidy(() => net.apply(x, { training }));
        assert.deepEqual(y.shape, [2, h, w, classes], `${JSON.stringify(options)} ${h}×${w}`);
        y.dispose();
      }
      x.dispose();
    }
    const bad = tf.zeros([1, 2 ** depth + 1, 2 ** depth, imageChannels]) as tf.Tensor4D;
    assert.throws(
      () => net.apply(bad, { training: false }),
      new RegExp(`divisible by 2\\^depth = ${2 ** depth} but found shape \\[1,${2 ** depth + 1},`),
    );
    bad.dispose();
    assert.equal(tf.memory().numTensors, before, "tensor leak");
    net.module.dispose();
  }
});

Deno.test("unet() defaults and bad options", () => {
  assert.deepEqual(UNET_DEFAULTS, {
    depth: 3,
    baseWidth: 16,
    classes: 2,
    imageChannels: 3,
    upsampling: "transpose",
  });
  const small = unet();
  assert.equal(small.module.parameterCount(), 482_754);
  small.module.dispose();
  assert.throws(() => unet({ depth: 0 }), /integer depth ≥ 1 but found 0/);
  assert.throws(() => unet({ baseWidth: 1.5 }), /integer baseWidth ≥ 1 but found 1.5/);
  assert.throws(() => unet({ classes: 0 }), /number of classes ≥ 1 but found 0/);
  assert.throws(
    () => unet({ upsampling: "nearest" as "bilinear" }),
    /"transpose" or "bilinear" but found "nearest"/,
  );
  const net = unet({ depth: 2, baseWidth: 2 });
  const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
  assert.throws(() => net.apply(x, { training: false }), /Expected 3 image channels but found/);
  x.dispose();
  net.module.dispose();
});

Deno.test("unet().split() head(features) equals apply() at every decoder level", () => {
  const net = unet({ depth: 3, baseWidth: 4, classes: 3 }, 0);
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const y = tf.tidy(() => net.apply(x, { training: false }));
  for (let level = 0; level <= 3; level++) {
    const [shape, z] = tf.tidy(() => {
      const { features, head } = net.split(x, { training: false }, level);
      return [tf.tensor1d(features.shape), head(features)];
    });
    const side = 16 / 2 ** (3 - level);
    assert.deepEqual(Array.from(shape.dataSync()), [2, side, side, 4 * 2 ** (3 - level)]);
    assert.deepEqual(Array.from(z.dataSync()), Array.from(y.dataSync()), `level ${level}`);
    tf.dispose([shape, z]);
  }
  assert.throws(
    () => net.split(x, { training: false }, 4),
    /decoder level in \[0, 3\] but found 4/,
  );
  tf.dispose([x, y]);
  assert.equal(tf.memory().numTensors, before, "tensor leak");
  net.module.dispose();
});

Deno.test("gradients reach every trainable variable of both U-Net upsamplings", () => {
  for (const upsampling of ["transpose", "bilinear"] as const) {
    const net = unet({ depth: 2, baseWidth: 3, classes: 3, upsampling }, 0);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 2) as tf.Tensor4D;
    const labels = tf.tidy(() =>
      tf.cast(tf.mul(tf.randomUniform([2, 8, 8], 0, 3, "float32", 3), 1), "int32")
    ) as tf.Tensor3D;
    const vars = net.module.trainable();
    const { value, grads } = tf.variableGrads(
      () => pixelCrossEntropy(net.apply(x, { training: true }), labels),
      vars,
    );
    for (const v of vars) {
      assert.ok(v.name in grads, `no gradient for ${v.name}`);
      assert.ok(
        tf.tidy(() => tf.sum(tf.abs(grads[v.name])).dataSync()[0]) > 0,
        `zero gradient for ${v.name} (${upsampling})`,
      );
    }
    tf.dispose([value, x, labels, ...Object.values(grads)]);
    net.module.dispose();
  }
});

Deno.test("U-Net weights round-trip bit-exactly (memory and file)", async () => {
  const options = { depth: 2, baseWidth: 3, classes: 2 };
  const a = unet(options, 1), b = unet(options, 2), c = unet(options, 3);
  const updates = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    a.apply(tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 3), { training: true, updates });
  });
  a.module.commitUpdates(updates);
  decodeWeightsInto(b.module, encodeWeights(a.module));
  assert.deepEqual(allValues(b.module), allValues(a.module));
  const dir = await Deno.makeTempDir();
  try {
    await saveWeights(a.module, `${dir}/w.bin`);
    await loadWeights(c.module, `${dir}/w.bin`);
    assert.deepEqual(allValues(c.module), allValues(a.module));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const bilinear = unet({ ...options, upsampling: "bilinear" }, 1);
  assert.throws(
    () => decodeWeightsInto(bilinear.module, encodeWeights(a.module)),
    /expected shape \[3,3,12,6\] for 'dec1\/up\/kernel' but found \[2,2,6,12\]/,
  );
  for (const n of [a, b, c, bilinear]) n.module.dispose();
});

Deno.test("a tiny U-Net overfits 4 masks, with either upsampling", () => {
  // Masks of two planted rectangles per image (classes 1 and 2) on a noisy background.
  const [n, size] = [4, 16];
  const img = new Float32Array(n * size * size * 3), mask = new Int32Array(n * size * size);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = (i * size + y) * size + x;
        const cls = y >= 2 + i && y < 8 + i && x >= 3 && x < 9 ? 1 : y >= 10 && x >= 6 + i ? 2 : 0;
        mask[p] = cls;
        for (let c = 0; c < 3; c++) img[p * 3 + c] = 0.2 + 0.3 * cls + 0.2 * Math.sin(p * 1.7 + c);
      }
    }
  }
  const x = tf.tensor4d(img, [n, size, size, 3]);
  const labels = tf.tensor3d(mask, [n, size, size], "int32");
  for (const upsampling of ["transpose", "bilinear"] as const) {
    const net = unet({ depth: 2, baseWidth: 4, classes: 3, upsampling }, 0);
    const before = tf.memory().numTensors;
    const losses = fit(net.module, (ctx) => pixelCrossEntropy(net.apply(x, ctx), labels), 50, 2e-2);
    const [first, last] = [losses[0], Math.min(...losses.slice(-5))];
    assert.ok(last < first / 20, `${upsampling}: loss ${first.toFixed(3)} → ${last.toFixed(4)}`);
    assert.equal(tf.memory().numTensors, before, "tensor leak");
    net.module.dispose();
  }
  tf.dispose([x, labels]);
});
