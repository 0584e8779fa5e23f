import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { decodeWeightsInto, encodeWeights } from "./checkpoint.ts";
import { resNet } from "./resnet.ts";
import { srResNet } from "./sr_resnet.ts";

await setupBackend({ quiet: true });

Deno.test("srResNet() keeps the size for scale 1, multiplies it for 2 and 4, output in [0, 1]", () => {
  for (const scale of [1, 2, 4] as const) {
    const net = srResNet({ channels: 4, blocks: 1, scale, outerKernel: 3 }, 0);
    const y = net.apply(tf.randomUniform([2, 8, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D, {
      training: false,
    });
    assert.deepEqual(y.shape, [2, 8 * scale, 6 * scale, 3]);
    const [lo, hi] = [tf.min(y).dataSync()[0], tf.max(y).dataSync()[0]];
    assert.ok(lo >= 0 && hi <= 1, `range [${lo}, ${hi}]`);
    tf.dispose(y);
    net.module.dispose();
  }
  assert.throws(() => srResNet({ scale: 3 as 2 }), /Expected scale 1, 2 or 4 but found 3/);
});

Deno.test("resNet() gives [N, classes] logits and rejects mismatched widths", () => {
  const net = resNet({ blocks: [1, 2], widths: [4, 8], classes: 7 }, 0);
  const y = net.apply(tf.zeros([3, 16, 16, 3]), { training: true });
  assert.deepEqual(y.shape, [3, 7]);
  tf.dispose(y);
  net.module.dispose();
  assert.throws(() => resNet({ blocks: [1], widths: [4, 8] }), /same non-zero length/);
});

Deno.test("gradients reach every trainable variable of both models", () => {
  const ip = srResNet({ channels: 4, blocks: 2, scale: 2, outerKernel: 3 }, 0);
  const vr = resNet({ blocks: [1, 1], widths: [4, 8], classes: 3 }, 0);
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const vars = [...ip.module.trainable(), ...vr.module.trainable()];
  const { value, grads } = tf.variableGrads(
    () => tf.sum(vr.apply(ip.apply(x, { training: true }), { training: true })) as tf.Scalar,
    vars,
  );
  for (const v of vars) {
    assert.ok(v.name in grads, `no gradient for ${v.name}`);
    assert.ok(
      tf.sum(tf.abs(grads[v.name])).dataSync()[0] > 0 || v.name.endsWith("fc/bias"),
      `zero gradient for ${v.name}`,
    );
  }
  tf.dispose([value, x, ...Object.values(grads)]);
  ip.module.dispose();
  vr.module.dispose();
});

Deno.test("encodeWeights()/decodeWeightsInto() round-trip bit-exactly into a fresh model", () => {
  const a = resNet({ blocks: [1], widths: [4], classes: 2 }, 1);
  const b = resNet({ blocks: [1], widths: [4], classes: 2 }, 2);
  // Move a's batch-norm statistics away from their initial values.
  const updates = new Map<string, tf.Tensor>();
  tf.dispose(
    a.apply(tf.randomNormal([4, 8, 8, 3], 0, 1, "float32", 3), { training: true, updates }),
  );
  a.module.commitUpdates(updates);
  decodeWeightsInto(b.module, encodeWeights(a.module));
  const vals = (m: typeof a) =>
    [...m.module.params.values(), ...m.module.state.values()].map((v) => Array.from(v.dataSync()));
  assert.deepEqual(vals(b), vals(a));
  const c = resNet({ blocks: [1], widths: [8], classes: 2 }, 1);
  assert.throws(
    () => decodeWeightsInto(c.module, encodeWeights(a.module)),
    /expected shape \[3,3,3,8\].*found \[3,3,3,4\]/,
  );
  for (const m of [a, b, c]) m.module.dispose();
});

Deno.test("batch norm: training uses batch statistics, evaluation the running ones", () => {
  const net = resNet({ blocks: [1], widths: [4], classes: 2 }, 0);
  const x = tf.randomNormal([4, 8, 8, 3], 3, 2, "float32", 5) as tf.Tensor4D;
  const train = net.apply(x, { training: true });
  const evalBefore = net.apply(x, { training: false });
  assert.ok(tf.max(tf.abs(tf.sub(train, evalBefore))).dataSync()[0] > 1e-3);
  tf.dispose([x, train, evalBefore]);
  net.module.dispose();
});

Deno.test("building and disposing a model leaves no tensor behind", () => {
  const before = tf.memory().numTensors;
  for (const build of [() => srResNet({ channels: 4, blocks: 1 }).module, () => resNet().module]) {
    build().dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});
