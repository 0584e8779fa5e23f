import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { crossEntropyLoss } from "../train/losses.ts";
import { decodeWeightsInto, encodeWeights, loadWeights, saveWeights } from "./checkpoint.ts";
import type { ForwardContext, Module } from "./module.ts";
import {
  type ResNet,
  resNet,
  RESNET_DEFAULTS,
  type ResNetOptions,
  resNetPreset,
} from "./resnet.ts";

await setupBackend({ quiet: true });

/** Tiny versions of every setting: both blocks, both stems. */
const SETTINGS: [string, Partial<ResNetOptions>][] = [
  ["defaults", {}],
  [
    "resnet18/16, small stem",
    resNetPreset("resnet18", { classes: 3, widthMultiplier: 1 / 16, stem: "small" }),
  ],
  ["resnet18/16, imagenet stem", resNetPreset("resnet18", { classes: 3, widthMultiplier: 1 / 16 })],
  ["resnet50/16, imagenet stem", resNetPreset("resnet50", { classes: 3, widthMultiplier: 1 / 16 })],
  [
    "bottleneck, small stem, grey",
    { block: "bottleneck", blocks: [1, 1], widths: [4, 8], classes: 2, imageChannels: 1 },
  ],
];

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

const allValues = (net: { module: Module }) =>
  [...net.module.params.values(), ...net.module.state.values()].map((v) => v.dataSync().slice());

Deno.test("resNet() gives [N, classes] logits in every setting, train and eval", () => {
  for (const [name, options] of SETTINGS) {
    const net = resNet(options, 0);
    const before = tf.memory().numTensors;
    const c = net.options.imageChannels;
    for (const size of [32, 24]) {
      const x = tf.randomUniform([2, size, size, c], 0, 1, "float32", 1) as tf.Tensor4D;
      for (const training of [true, false]) {
        const y = tf.tidy(() => net.apply(x, { training }));
        assert.deepEqual(y.shape, [2, net.options.classes], `${name} ${size} ${training}`);
        y.dispose();
      }
      x.dispose();
    }
    assert.equal(tf.memory().numTensors, before, "tensor leak");
    net.module.dispose();
  }
});

Deno.test("resNet() feature maps: the ImageNet stem divides by 4, every later stage by 2", () => {
  const net = resNet(resNetPreset("resnet50", { classes: 3, widthMultiplier: 1 / 16 }), 0);
  assert.equal(net.options.stemStride, 2);
  const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
  for (let stage = 0; stage < 4; stage++) {
    const features = tf.tidy(() => net.split(x, { training: false }, stage).features);
    // Bottleneck: stage widths 4, 8, 16, 32 (64/16 …) times the expansion 4.
    assert.deepEqual(features.shape, [1, 16 / 2 ** stage, 16 / 2 ** stage, 16 * 2 ** stage]);
    features.dispose();
  }
  tf.dispose(x);
  net.module.dispose();
  // An ImageNet stem given without a stride gets torchvision's 2; an explicit one is kept.
  const small = resNet({ stem: "imagenet", stemStride: 1, blocks: [1], widths: [2] }, 0);
  assert.equal(small.options.stemStride, 1);
  small.module.dispose();
  const implied = resNet({ stem: "imagenet", blocks: [1], widths: [2] }, 0);
  assert.equal(implied.options.stemStride, 2);
  implied.module.dispose();
});

Deno.test("resNet().split() head(features) equals apply() at every stage", () => {
  const net = resNet(resNetPreset("resnet18", { classes: 4, widthMultiplier: 1 / 16 }), 0);
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const y = tf.tidy(() => net.apply(x, { training: false }));
  for (let stage = 0; stage < 4; stage++) {
    const z = tf.tidy(() => {
      const { features, head } = net.split(x, { training: false }, stage);
      return head(features);
    });
    assert.deepEqual(Array.from(z.dataSync()), Array.from(y.dataSync()), `stage ${stage}`);
    z.dispose();
  }
  assert.throws(() => net.split(x, { training: false }, 4), /stage index in \[0, 3\] but found 4/);
  tf.dispose([x, y]);
  assert.equal(tf.memory().numTensors, before, "tensor leak");
  net.module.dispose();
});

Deno.test("resNet() keeps its defaults: ResNet-8, basic blocks, small stem", () => {
  assert.deepEqual(RESNET_DEFAULTS, {
    blocks: [1, 1, 1],
    widths: [16, 32, 64],
    classes: 7,
    imageChannels: 3,
    stemStride: 1,
    block: "basic",
    stem: "small",
    widthMultiplier: 1,
  });
  const net = resNet();
  assert.equal(net.module.parameterCount(), 77_847); // as before blocks/stems/multiplier existed
  net.module.dispose();
  const half = resNet({ widthMultiplier: 0.5 });
  assert.equal(half.module.p("stem/conv/kernel").shape[3], 8);
  half.module.dispose();
  assert.throws(() => resNet({ widthMultiplier: 0 }), /positive widthMultiplier but found 0/);
  assert.throws(
    () => resNet({ block: "wide" as "basic" }),
    /"basic" or "bottleneck" but found "wide"/,
  );
  assert.throws(() => resNet({ stem: "big" as "small" }), /"small" or "imagenet" but found "big"/);
  assert.throws(
    () => resNetPreset("resnet152" as "resnet50", { classes: 2 }),
    /preset name in resnet18, resnet34, resnet50, resnet101 but found "resnet152"/,
  );
});

Deno.test("gradients reach every trainable variable of a bottleneck ResNet with ImageNet stem", () => {
  const net = resNet(resNetPreset("resnet50", { classes: 3, widthMultiplier: 1 / 32 }), 0);
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 2], "int32");
  const vars = net.module.trainable();
  const { value, grads } = tf.variableGrads(
    () => crossEntropyLoss(net.apply(x, { training: true }), labels),
    vars,
  );
  for (const v of vars) {
    assert.ok(v.name in grads, `no gradient for ${v.name}`);
    assert.ok(
      tf.tidy(() => tf.sum(tf.abs(grads[v.name])).dataSync()[0]) > 0,
      `zero gradient for ${v.name}`,
    );
  }
  tf.dispose([value, x, labels, ...Object.values(grads)]);
  net.module.dispose();
});

Deno.test("bottleneck ResNet weights round-trip bit-exactly (memory and file)", async () => {
  const options = resNetPreset("resnet50", { classes: 2, widthMultiplier: 1 / 32 });
  const a = resNet(options, 1), b = resNet(options, 2), c = resNet(options, 3);
  const updates = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    a.apply(tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3), { training: true, updates });
  });
  a.module.commitUpdates(updates);
  decodeWeightsInto(b.module, encodeWeights(a.module));
  assert.deepEqual(allValues(b), allValues(a));
  const dir = await Deno.makeTempDir();
  try {
    await saveWeights(a.module, `${dir}/w.bin`);
    await loadWeights(c.module, `${dir}/w.bin`);
    assert.deepEqual(allValues(c), allValues(a));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const basic = resNet(resNetPreset("resnet18", { classes: 2, widthMultiplier: 1 / 32 }), 1);
  assert.throws(() => decodeWeightsInto(basic.module, encodeWeights(a.module)), /expected shape/);
  for (const n of [a, b, c, basic]) n.module.dispose();
});

Deno.test("a tiny bottleneck ResNet with ImageNet stem overfits 8 images", () => {
  const net: ResNet = resNet(
    { block: "bottleneck", stem: "imagenet", blocks: [1, 1], widths: [4, 8], classes: 2 },
    0,
  );
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([8, 32, 32, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 1, 0, 1, 0, 0, 1], "int32");
  const losses = fit(net.module, (ctx) => crossEntropyLoss(net.apply(x, ctx), labels), 40, 1e-2);
  const [first, last] = [losses[0], Math.min(...losses.slice(-5))];
  assert.ok(last < first / 100, `loss ${first.toFixed(3)} → ${last.toFixed(4)}`);
  tf.dispose([x, labels]);
  assert.equal(tf.memory().numTensors, before, "tensor leak");
  net.module.dispose();
});
