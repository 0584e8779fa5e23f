import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { decodeWeightsInto, encodeWeights } from "./checkpoint.ts";
import { srResNet } from "./sr_resnet.ts";

await setupBackend({ quiet: true });

Deno.test("srResNet() output shapes for every setting", () => {
  for (const scale of [1, 2, 4] as const) {
    for (const batchNorm of [true, false]) {
      for (const globalResidual of [true, false]) {
        const net = srResNet({
          channels: 4,
          blocks: 2,
          scale,
          outerKernel: 3,
          batchNorm,
          globalResidual,
        }, 0);
        for (const training of [true, false]) {
          const y = net.apply(tf.zeros([2, 6, 10, 3]), { training });
          assert.deepEqual(y.shape, [2, 6 * scale, 10 * scale, 3]);
          y.dispose();
        }
        net.module.dispose();
      }
    }
  }
  const grey = srResNet({ channels: 4, blocks: 1, imageChannels: 1 }, 0);
  assert.throws(
    () => grey.apply(tf.zeros([1, 8, 8, 3]), { training: false }),
    /Expected 1 image channels/,
  );
  grey.module.dispose();
});

Deno.test("srResNet() parameter count of ESTR's 64×5 SR-ResNet (scale 1 and 4)", () => {
  // Per conv: k·k·cin·cout (+ cout bias when there is no batch norm after it); PReLU: C.
  const C = 64, B = 5;
  const head = 9 * 9 * 3 * C + C + C;
  const blocks = B * (2 * (9 * C * C) + 2 * 2 * C + C);
  const bodyOut = 9 * C * C + 2 * C;
  const tail = 9 * 9 * C * 3 + 3;
  const up = (9 * C * 4 * C + 4 * C) + C;
  const x1 = srResNet({ channels: C, blocks: B }, 0);
  assert.equal(x1.module.parameterCount(), head + blocks + bodyOut + tail);
  const x4 = srResNet({ channels: C, blocks: B, scale: 4 }, 0);
  assert.equal(x4.module.parameterCount(), head + blocks + bodyOut + tail + 2 * up);
  x1.module.dispose();
  x4.module.dispose();
});

Deno.test("a tiny srResNet (×2, pixel shuffle) overfits a handful of images, and its weights round-trip", () => {
  const net = srResNet({ channels: 8, blocks: 1, scale: 2, outerKernel: 3 }, 1);
  const hi = tf.randomUniform([4, 8, 8, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const lo = tf.tidy(() => tf.image.resizeBilinear(hi, [4, 4]) as tf.Tensor4D);
  const opt = tf.train.adam(1e-2);
  const losses: number[] = [];
  for (let i = 0; i < 150; i++) {
    const updates = new Map<string, tf.Tensor>();
    const loss = opt.minimize(
      () =>
        tf.mean(tf.squaredDifference(net.apply(lo, { training: true, updates }), hi)) as tf.Scalar,
      true,
      net.module.trainable(),
    )!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    net.module.commitUpdates(updates);
  }
  assert.ok(losses.at(-1)! < losses[0] / 5, `loss ${losses[0]} → ${losses.at(-1)}`);
  const copy = srResNet({ channels: 8, blocks: 1, scale: 2, outerKernel: 3 }, 2);
  decodeWeightsInto(copy.module, encodeWeights(net.module));
  const [a, b] = [net.apply(lo, { training: false }), copy.apply(lo, { training: false })];
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  tf.dispose([a, b, hi, lo]);
  opt.dispose();
  net.module.dispose();
  copy.module.dispose();
});
