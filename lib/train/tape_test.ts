/**
 * `recordTape` against `tf.variableGrads`: the paper's networks (SR-ResNet into a ResNet and into
 * a U-Net, batch norm in training mode, PReLU, pixel shuffle, the custom-gradient kernels of the
 * onednn backend) recorded once and differentiated for two losses, bit-identical to one
 * `tf.variableGrads` call per loss, on every backend this process can start; backward passes
 * repeated over one recording; saved tensors freed by `dispose`; recordings that cannot nest.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import assert from "node:assert/strict";
import { _initBackends, _onednnUnavailable, _randn } from "../backend/_testing.ts";
import { resNet } from "../models/resnet.ts";
import { srResNet } from "../models/sr_resnet.ts";
import { unet } from "../models/unet.ts";
import { Rng } from "../util/rng.ts";
import { mseLoss, recognitionLoss } from "./losses.ts";
import { recordTape } from "./tape.ts";
import type { Recognizer } from "./train_step.ts";

await _initBackends();
const ONEDNN_MISSING = _onednnUnavailable();

function _assertSameBits(a: tf.Tensor, e: tf.Tensor, what: string): void {
  assert.deepEqual(a.shape, e.shape, `${what}: shape`);
  const [x, y] = [new Uint32Array(a.dataSync().buffer), new Uint32Array(e.dataSync().buffer)];
  const i = x.findIndex((v, k) => v !== y[k]);
  assert.equal(i, -1, `${what}: differs at ${i} (${a.dataSync()[i]} vs ${e.dataSync()[i]})`);
}

/** SR-ResNet (IP) and a ResNet or U-Net (VR) with seeded weights, and a seeded batch. */
function _problem(kind: "resnet" | "unet") {
  const ip = srResNet({ channels: 8, blocks: 2, outerKernel: 3, globalResidual: true }, 3);
  const vr: Recognizer = kind === "resnet"
    ? resNet({ blocks: [1, 1], widths: [4, 8], classes: 3 }, 4)
    : unet({ depth: 2, baseWidth: 4, classes: 3 }, 4);
  const rng = new Rng(5);
  const [n, h] = [2, 16];
  const input = tf.tensor4d(_randn(rng, n * h * h * 3, 0.5), [n, h, h, 3]);
  const target = tf.tensor4d(_randn(rng, n * h * h * 3, 0.5), [n, h, h, 3]);
  const labels = kind === "resnet" ? tf.tensor1d([0, 2], "int32") : tf.tensor4d(
    Int32Array.from({ length: n * h * h }, (_, i) => (i * 7) % 3),
    [n, h, h, 1],
    "int32",
  );
  return { ip, vr, input, target, labels };
}

for (const backend of ["cpu", "onednn", "wasm"]) {
  const missing = backend === "onednn" ? ONEDNN_MISSING : undefined;
  for (const kind of ["resnet", "unet"] as const) {
    Deno.test({
      name: `recordTape() on ${backend}: L_IP and L_VR through one forward equal one ` +
        `tf.variableGrads each, bit for bit (SR-ResNet + ${kind})` +
        (missing ? ` (ignored: ${missing})` : ""),
      ignore: missing !== undefined,
      async fn() {
        await tf.setBackend(backend);
        const p = _problem(kind);
        const ipVars = p.ip.module.trainable(), vrVars = p.vr.module.trainable();
        const before = tf.memory().numTensors;
        const forward = (ctx: { training: true }) => {
          const enhanced = p.ip.apply(p.input, ctx);
          return {
            lossIp: mseLoss(enhanced, p.target),
            lossVr: recognitionLoss(p.vr.apply(enhanced, ctx), p.labels),
          };
        };
        const refIp = tf.variableGrads(() => forward({ training: true }).lossIp, ipVars);
        const refVr = tf.variableGrads(
          () => forward({ training: true }).lossVr,
          [...ipVars, ...vrVars],
        );
        const rec = recordTape(() => forward({ training: true }));
        _assertSameBits(rec.value.lossIp, refIp.value, "L_IP");
        _assertSameBits(rec.value.lossVr, refVr.value, "L_VR");
        // L_VR first, then L_IP, then L_VR again: the tape survives every backward pass.
        const gVr = rec.variableGrads(rec.value.lossVr, [...ipVars, ...vrVars]);
        const gIp = rec.variableGrads(rec.value.lossIp, ipVars);
        const gVr2 = rec.variableGrads(rec.value.lossVr, [...ipVars, ...vrVars]);
        rec.dispose();
        assert.deepEqual(Object.keys(gIp).sort(), Object.keys(refIp.grads).sort());
        assert.deepEqual(Object.keys(gVr).sort(), Object.keys(refVr.grads).sort());
        for (const v of ipVars) _assertSameBits(gIp[v.name], refIp.grads[v.name], `G_IP ${v.name}`);
        for (const v of [...ipVars, ...vrVars]) {
          _assertSameBits(gVr[v.name], refVr.grads[v.name], `G_VR ${v.name}`);
          _assertSameBits(gVr2[v.name], refVr.grads[v.name], `G_VR again ${v.name}`);
        }
        tf.dispose([refIp.value, refVr.value, rec.value.lossIp, rec.value.lossVr]);
        tf.dispose([refIp.grads, refVr.grads, gIp, gVr, gVr2].flatMap((g) => Object.values(g)));
        assert.equal(tf.memory().numTensors, before, "tensors left behind");
        p.ip.module.dispose();
        p.vr.module.dispose();
        tf.dispose([p.input, p.target, p.labels]);
      },
    });
  }
}

Deno.test("recordTape(): dispose frees what the tape saved; a disposed recording says so", async () => {
  await tf.setBackend("cpu");
  const w = tf.variable(tf.tensor1d([1, -2, 3]), true, "tape_test_w");
  const before = tf.memory().numTensors;
  const rec = recordTape(() => tf.sum(tf.mul(tf.relu(tf.mul(w, w)), w)));
  assert.ok(tf.memory().numTensors > before + 1, "the tape saves tensors for backward");
  const g = rec.variableGrads(rec.value, [w]);
  assert.deepEqual(Array.from(g.tape_test_w.dataSync()), [3, 12, 27]);
  rec.dispose();
  rec.dispose(); // twice is harmless
  assert.throws(() => rec.gradients(rec.value, [w]), /disposed; record the forward again/);
  tf.dispose([rec.value, g.tape_test_w]);
  assert.equal(tf.memory().numTensors, before);
  w.dispose();
});

Deno.test("recordTape(): a loss that does not depend on the variables, nesting and a failing forward", async () => {
  await tf.setBackend("cpu");
  const w = tf.variable(tf.scalar(2), true, "tape_test_v");
  const u = tf.variable(tf.scalar(5), true, "tape_test_u");
  const before = tf.memory().numTensors;
  const rec = recordTape(() => ({ a: tf.square(w), b: tf.square(u) }));
  assert.throws(
    () => rec.variableGrads(rec.value.b, [w]),
    /does not depend on any of the 1 variables/,
  );
  assert.deepEqual(rec.gradients(rec.value.b, [w]), [null]);
  rec.dispose();
  tf.dispose([rec.value.a, rec.value.b]);
  assert.throws(
    () => tf.grads((x: tf.Tensor) => recordTape(() => tf.square(x)).value)([tf.scalar(1)]),
    /cannot start inside tf.grads/,
  );
  assert.throws(() =>
    recordTape(() => {
      tf.square(w);
      throw new Error("forward failed");
    }), /forward failed/);
  // The failed recording's saved tensors are freed, and the engine records again.
  assert.equal(tf.memory().numTensors, before + 1, "only the scalar made for tf.grads is left");
  const again = recordTape(() => tf.square(w));
  const g = again.variableGrads(again.value, [w]);
  assert.equal(g.tape_test_v.dataSync()[0], 4);
  again.dispose();
  tf.dispose([again.value, g.tape_test_v]);
  w.dispose();
  u.dispose();
});
