/**
 * End-to-end checks of the onednn backend on the library's real train step: the same losses
 * as the cpu backend over several steps (so every kernel the models use, native or not,
 * agrees), and no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { registerGradients } from "../register_gradients.ts";
import { registerResizeGradKernels } from "../resize_grad_kernels.ts";
import { resNet } from "../../models/resnet.ts";
import { srResNet } from "../../models/sr_resnet.ts";
import { unet } from "../../models/unet.ts";
import { gradProm } from "../../strategies/grad_prom.ts";
import { type Recognizer, trainStep } from "../../train/train_step.ts";
import { Rng } from "../../util/rng.ts";
import { registerBatchNormGradient } from "./batch_norm_gradient.ts";
import { registerOnednnBackend } from "./register_onednn_backend.ts";

registerGradients();
registerBatchNormGradient();
registerResizeGradKernels();

/** libdnnl 2.x loaded? Without it (not installed, or no FFI) these tests are skipped. */
const _available = (() => {
  try {
    registerOnednnBackend();
    return true;
  } catch (e) {
    console.warn(`onednn tests skipped: ${e instanceof Error ? e.message : e}`);
    return false;
  }
})();
const test = (name: string, fn: () => void | Promise<void>): void =>
  Deno.test({ name, ignore: !_available, fn });

/** Losses of `steps` GradProm steps on `backend`, and tensor counts after each step. */
async function run(backend: string, seg: boolean, steps: number) {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const rng = new Rng(5);
  const n = 2, s = 16; // activations of 2·16·16·16 = 8192 values take the native paths
  const rand = (count: number) => Float32Array.from({ length: count }, () => rng.uniform());
  const ip = srResNet({ channels: 16, blocks: 2, outerKernel: 3, batchNorm: true }, 1);
  const vr: Recognizer = seg
    ? unet({ depth: 2, baseWidth: 8, classes: 3 }, 2)
    : resNet({ blocks: [1, 1], widths: [16, 16], classes: 3 }, 2);
  const batch = {
    input: tf.tensor4d(rand(n * s * s * 3), [n, s, s, 3]),
    target: tf.tensor4d(rand(n * s * s * 3), [n, s, s, 3]),
    labels: seg
      ? tf.tensor4d(Int32Array.from({ length: n * s * s }, () => rng.int(3)), [n, s, s, 1])
      : tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(3)), "int32"),
  };
  const setup = {
    ip,
    vr,
    vrMode: "trained" as const,
    strategy: gradProm(),
    lambda: 0.1,
    ipOptimizer: tf.train.adam(1e-3),
    vrOptimizer: tf.train.adam(1e-3),
  };
  const losses: number[] = [];
  const tensors: number[] = [];
  for (let i = 0; i < steps; i++) {
    const log = trainStep(setup, batch);
    losses.push(log.lossIp, log.lossVr, log.cosine);
    tensors.push(tf.memory().numTensors);
  }
  tf.dispose(Object.values(batch));
  setup.ipOptimizer.dispose();
  setup.vrOptimizer.dispose();
  ip.module.dispose();
  vr.module.dispose();
  return { losses, tensors };
}

for (const seg of [false, true]) {
  const name = seg ? "SR-ResNet + U-Net" : "SR-ResNet + ResNet";
  test(`trainStep() on onednn follows cpu and leaks no tensors (${name})`, async () => {
    const before = tf.memory().numTensors;
    const cpu = await run("cpu", seg, 1);
    const dnn = await run("onednn", seg, 3);
    // The first step's L_IP, L_VR and cosine (later steps drift apart by float rounding that
    // Adam's normalised first update amplifies in near-zero gradients).
    for (let i = 0; i < cpu.losses.length; i++) {
      const [a, b] = [dnn.losses[i], cpu.losses[i]];
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `value ${i}: ${a} vs ${b}`);
    }
    // Optimizer slots appear in the first step; from then on the count must stay flat.
    assert.deepEqual(dnn.tensors.slice(1), dnn.tensors.slice(1).map(() => dnn.tensors[1]));
    assert.equal(tf.memory().numTensors, before);
  });
}
