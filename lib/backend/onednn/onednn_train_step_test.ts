/**
 * End-to-end checks of the onednn backend on the library's real train step: over several
 * GradProm steps the same losses, cosines and gates as the cpu backend and the same
 * parameters and batch-norm statistics afterwards (so every kernel the models use, native or
 * not, agrees), the heavy kernels on their native paths, and no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { registerGradients } from "../register_gradients.ts";
import { registerResizeGradKernels } from "../resize_grad_kernels.ts";
import { _relError } from "../_testing.ts";
import type { Module } from "../../models/module.ts";
import { resNet } from "../../models/resnet.ts";
import { srResNet } from "../../models/sr_resnet.ts";
import { unet } from "../../models/unet.ts";
import { gradProm } from "../../strategies/grad_prom.ts";
import { type Recognizer, trainStep } from "../../train/train_step.ts";
import { Rng } from "../../util/rng.ts";
import { registerBatchNormGradient } from "./batch_norm_gradient.ts";
import {
  type KernelCallCounts,
  nativeCallCounts,
  registerOnednnBackend,
  resetNativeCallCounts,
} from "./register_onednn_backend.ts";
import { PRELU_GRAD_KERNEL } from "./_kernels.ts";
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL } from "./batch_norm_train.ts";

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
// `_testing.ts` registers the wasm backend too (with a higher priority): start on cpu.
await tf.setBackend("cpu");

const STEPS = 3;

/** Variable values by path within the model (`ip/…`, `vr/…`), parameters and statistics. */
type _Values = Map<string, Float32Array>;

function _values(models: Record<string, { module: Module }>): _Values {
  const out: _Values = new Map();
  for (const [which, { module: m }] of Object.entries(models)) {
    for (const [name, v] of [...m.params, ...m.state]) {
      out.set(`${which}/${name.slice(m.scope.length + 1)}`, v.dataSync() as Float32Array);
    }
  }
  return out;
}

/**
 * `STEPS` GradProm steps on `backend` with tiny models: per step L_IP, L_VR, cosine and gate,
 * the tensor count after it, the variables before and after, and the kernel calls.
 */
async function run(backend: string, seg: boolean, optimizer: "sgd" | "adam") {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const rng = new Rng(5);
  // Activations of 4·16·16·4 = 4096 values take the native element-wise paths; 4 channels
  // keep the cpu backend's Conv2DBackpropFilter (a TensorBuffer loop) to ~1–2 s a step.
  const n = 4, s = 16;
  const rand = (count: number) => Float32Array.from({ length: count }, () => rng.uniform());
  const ip = srResNet({ channels: 4, blocks: 2, outerKernel: 3, batchNorm: true }, 1);
  // Both VRs max-pool (MaxPoolGrad; the ResNet through its ImageNet stem); U-Net concatenates.
  const vr: Recognizer = seg
    ? unet({ depth: 2, baseWidth: 4, classes: 3 }, 2)
    : resNet({ blocks: [1, 1], widths: [8, 8], classes: 3, stem: "imagenet" }, 2);
  const batch = {
    input: tf.tensor4d(rand(n * s * s * 3), [n, s, s, 3]),
    target: tf.tensor4d(rand(n * s * s * 3), [n, s, s, 3]),
    labels: seg
      ? tf.tensor4d(Int32Array.from({ length: n * s * s }, () => rng.int(3)), [n, s, s, 1])
      : tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(3)), "int32"),
  };
  const opt = () => optimizer === "sgd" ? tf.train.sgd(0.01) : tf.train.adam(1e-3);
  const setup = {
    ip,
    vr,
    vrMode: "trained" as const,
    strategy: gradProm(),
    lambda: 0.1,
    ipOptimizer: opt(),
    vrOptimizer: opt(),
  };
  const before = _values({ ip, vr });
  const logs: number[][] = [];
  const tensors: number[] = [];
  resetNativeCallCounts();
  for (let i = 0; i < STEPS; i++) {
    const log = trainStep(setup, batch);
    logs.push([log.lossIp, log.lossVr, log.cosine, log.auxWeight]);
    tensors.push(tf.memory().numTensors);
  }
  const calls = nativeCallCounts();
  const after = _values({ ip, vr });
  tf.dispose(Object.values(batch));
  setup.ipOptimizer.dispose();
  setup.vrOptimizer.dispose();
  ip.module.dispose();
  vr.module.dispose();
  return { logs, tensors, before, after, calls };
}

/**
 * Asserts that every call of each kernel in `kernels` ran `path`, or (`some`) at least one
 * did.
 */
function assertCalls(
  calls: Record<string, KernelCallCounts>,
  kernels: string[],
  path: keyof KernelCallCounts,
  some = false,
): void {
  for (const k of kernels) {
    const c = calls[k];
    const only = Object.entries(c).every(([p, v]) => p === path || v === 0);
    assert.ok(
      c[path] > 0 && (some || only),
      `${k}: expected ${path} calls, found ${JSON.stringify(c)}`,
    );
  }
}

for (const seg of [false, true]) {
  const name = seg ? "SR-ResNet + U-Net" : "SR-ResNet + ResNet";
  test(`trainStep() on onednn follows cpu for ${STEPS} steps, parameters included (${name})`, async () => {
    const start = tf.memory().numTensors;
    // SGD, not Adam: its update is linear in the gradient, so backend differences stay at
    // float-rounding level. Adam's first update lr·g/(|g| + ε) turns a rounding-level
    // difference of a gradient near ε = 1e-7 into a sizeable fraction of lr.
    const cpu = await run("cpu", seg, "sgd");
    const dnn = await run("onednn", seg, "sgd");
    // Every step's L_IP, L_VR (relative) and cosine (absolute), measured ≤ 3e-7 apart: the
    // kernels sum in other orders (oneDNN's blocked loops vs JS), nothing else. The gates
    // (which open and shut over these steps) must be equal.
    for (let i = 0; i < STEPS; i++) {
      const [[ipA, vrA, cosA, gateA], [ipB, vrB, cosB, gateB]] = [dnn.logs[i], cpu.logs[i]];
      const what = `step ${i}: onednn ${dnn.logs[i]} vs cpu ${cpu.logs[i]}`;
      assert.ok(Math.abs(ipA - ipB) <= 1e-5 * Math.abs(ipB), `L_IP, ${what}`);
      assert.ok(Math.abs(vrA - vrB) <= 1e-5 * Math.abs(vrB), `L_VR, ${what}`);
      assert.ok(Math.abs(cosA - cosB) <= 1e-5, `cosine, ${what}`);
      assert.equal(gateA, gateB, `gate, ${what}`);
    }
    // Every variable of IP and VR (parameters and batch-norm statistics): the same start, and
    // the same change over the steps to 1e-3 of its largest entry. Measured ≤ 1.5e-4: rounding
    // differences of ~1e-7 grow where a gradient is a small sum of large terms of both signs
    // (PReLU slopes, batch-norm scales); a kernel computing something else is off by O(1).
    assert.deepEqual([...dnn.before.keys()], [...cpu.before.keys()]);
    for (const [path, init] of cpu.before) {
      assert.deepEqual(dnn.before.get(path), init, `${path}: initial values`);
      const change = (r: typeof cpu) => r.after.get(path)!.map((v, j) => v - init[j]);
      const err = _relError(change(dnn), change(cpu));
      assert.ok(err <= 1e-3, `${path}: change after ${STEPS} steps off by ${err}`);
    }
    // The onednn run used its native kernels: convolutions, PReLU and training-mode batch
    // norm (one kernel each way) always; the bias add on the larger tensors (the smaller ones
    // fall back by design; since batch norm is one kernel, these tiny models have no other
    // element-wise work of NATIVE_MIN_SIZE: the other kernels' native paths are checked in
    // register_onednn_backend_test.ts); plain JS for the max pool and its gradient, the
    // bias gradients' sums (rows of 3 or 4 channels, too short for oneDNN's product), and
    // concat/split in U-Net.
    const convs = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"];
    const bn = [BATCH_NORM_TRAIN_KERNEL, BATCH_NORM_TRAIN_GRAD_KERNEL];
    assertCalls(dnn.calls, [...convs, ...bn, "Prelu", PRELU_GRAD_KERNEL], "native");
    assertCalls(dnn.calls, ["Add"], "native", true);
    const js = ["MaxPool", "MaxPoolGrad", "Sum"];
    assertCalls(dnn.calls, seg ? [...js, "SplitV", "Concat"] : js, "js", true);
    // No optimizer slots (SGD): the tensor count is flat from the first step.
    assert.deepEqual(dnn.tensors, dnn.tensors.map(() => dnn.tensors[0]));
    assert.equal(tf.memory().numTensors, start);
  });
}

test("trainStep() with Adam on onednn leaks no tensors", async () => {
  const start = tf.memory().numTensors;
  for (const seg of [false, true]) {
    const { tensors } = await run("onednn", seg, "adam");
    // Adam's slots appear in the first step; from then on the count must stay flat.
    assert.deepEqual(tensors.slice(1), tensors.slice(1).map(() => tensors[1]));
  }
  assert.equal(tf.memory().numTensors, start);
});
