/**
 * The training losses against PyTorch: values and gradients of `mseLoss`, `crossEntropyLoss`,
 * `softCrossEntropyLoss` and `segmentationLoss` (cross-entropy + soft Dice) on the fixtures of
 * `tools/fixtures/make_loss_fixtures.py` (PyTorch in float64 on float32 inputs), on every
 * backend this process can start.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import assert from "node:assert/strict";
import { registerBatchNormGradient } from "../backend/onednn/batch_norm_gradient.ts";
import { _onednnUnavailable } from "../backend/_testing.ts";
import { registerGradients } from "../backend/register_gradients.ts";
import {
  _segmentationLossOps,
  crossEntropyLoss,
  mseLoss,
  segmentationLoss,
  softCrossEntropyLoss,
} from "./losses.ts";
import { SEGMENTATION_LOSS_GRAD_KERNEL, SEGMENTATION_LOSS_KERNEL } from "./_loss_kernels.ts";

registerGradients();
registerBatchNormGradient();
const ONEDNN_MISSING = _onednnUnavailable();

interface LossCase {
  loss: "mse" | "crossEntropy" | "softCrossEntropy" | "segmentation";
  name: string;
  shape: number[];
  pred?: number[];
  target?: number[];
  logits?: number[];
  labels?: number[];
  probs?: number[];
  masks?: number[];
  value: number;
  grad: number[];
}

const FIXTURE = new URL("../../tests/fixtures/losses/losses.json", import.meta.url);
const CASES: LossCase[] = JSON.parse(Deno.readTextFileSync(FIXTURE)).cases;

/** The value and the gradient with respect to the prediction / logits, on the active backend. */
function evaluate(c: LossCase): { value: number; grad: Float32Array } {
  const x = tf.tensor(c.pred ?? c.logits!, c.shape, "float32");
  const f = (z: tf.Tensor): tf.Scalar => {
    switch (c.loss) {
      case "mse":
        return mseLoss(z, tf.tensor(c.target!, c.shape, "float32"));
      case "crossEntropy":
        return crossEntropyLoss(z as tf.Tensor2D, tf.tensor1d(c.labels!, "int32"));
      case "softCrossEntropy":
        return softCrossEntropyLoss(z, tf.tensor(c.probs!, c.shape, "float32"));
      case "segmentation":
        return segmentationLoss(
          z as tf.Tensor4D,
          tf.tensor4d(
            c.masks!,
            [...c.shape.slice(0, 3), 1] as [number, number, number, number],
            "int32",
          ),
        );
    }
  };
  const { value, grad } = tf.tidy(() => tf.valueAndGrad(f)(x));
  const out = { value: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  tf.dispose([x, value, grad]);
  return out;
}

Deno.test("the fixtures cover every loss, each case with a positive value and a non-zero gradient", () => {
  const kinds = new Set(CASES.map((c) => c.loss));
  assert.deepEqual([...kinds].sort(), ["crossEntropy", "mse", "segmentation", "softCrossEntropy"]);
  for (const c of CASES) {
    assert.ok(Number.isFinite(c.value) && c.value > 0, c.name);
    assert.ok(c.grad.some((g) => Math.abs(g) > 1e-6), `${c.name}: a zero gradient checks nothing`);
  }
});

for (const backend of ["cpu", "wasm", "onednn"]) {
  const missing = backend === "onednn" ? ONEDNN_MISSING : undefined;
  Deno.test({
    name: `losses equal PyTorch's values and gradients on ${backend}` +
      (missing ? ` (skipped: ${missing})` : ""),
    ignore: missing !== undefined,
    fn: async (t) => {
      await tf.setBackend(backend);
      assert.equal(tf.getBackend(), backend);
      const before = tf.memory().numTensors;
      for (const c of CASES) {
        await t.step(c.name, () => {
          const { value, grad } = evaluate(c);
          // float32 arithmetic against float64 references: a few ulps of the value, relative.
          assert.ok(
            Math.abs(value - c.value) <= 2e-6 * Math.max(1, Math.abs(c.value)),
            `${c.loss}: ${value} vs PyTorch ${c.value}`,
          );
          let diff = 0, scale = 0;
          grad.forEach((g, i) => {
            diff = Math.max(diff, Math.abs(g - c.grad[i]));
            scale = Math.max(scale, Math.abs(c.grad[i]));
          });
          assert.ok(diff <= 1e-5 * scale, `${c.loss} gradient off by ${diff} (max |g| ${scale})`);
        });
      }
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    },
  });
}

/** Value, gradient and the kernels that ran, of `f` at `z` on the active backend. */
async function profiled(f: (z: tf.Tensor) => tf.Scalar, z: tf.Tensor) {
  let value = NaN, grad: Float32Array = new Float32Array();
  const p = await tf.profile(() => {
    const r = tf.tidy(() => tf.valueAndGrad(f)(z));
    value = r.value.dataSync()[0];
    grad = r.grad.dataSync() as Float32Array;
    tf.dispose([r.value, r.grad]);
  });
  return { value, grad, kernels: p.kernels.map((k) => k.name) };
}

for (const backend of ["cpu", "wasm", "onednn"]) {
  const missing = backend === "onednn" ? ONEDNN_MISSING : undefined;
  Deno.test({
    name:
      `segmentationLoss on ${backend} ${
        backend === "wasm" ? "runs the plain ops" : "is one fused kernel each way"
      }, equal to the plain ops (labels outside the classes, float and [N, H, W] masks)` +
      (missing ? ` (skipped: ${missing})` : ""),
    ignore: missing !== undefined,
    fn: async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const [n, h, w, k] = [2, 12, 10, 5];
      const z = tf.tidy(() => tf.mul(tf.randomNormal([n, h, w, k], 0, 1, "float32", 7), 3));
      // Classes 0..4, and some pixels with none (−1 and 5, as tf.oneHot leaves them all zero).
      const raw = Array.from({ length: n * h * w }, (_, i) => (i * 7) % 7 - 1);
      const masks = [
        tf.tensor4d(raw, [n, h, w, 1], "int32"),
        tf.tensor3d(raw.map((v) => v + 0.75), [n, h, w], "float32"),
      ];
      for (const m of masks) {
        const fused = await profiled((x) => segmentationLoss(x as tf.Tensor4D, m), z);
        const ops = await profiled((x) => _segmentationLossOps(x as tf.Tensor4D, m), z);
        const count = (name: string) => fused.kernels.filter((x) => x === name).length;
        if (backend === "wasm") {
          assert.equal(count(SEGMENTATION_LOSS_KERNEL), 0);
          assert.deepEqual(fused.grad, ops.grad);
        } else {
          assert.equal(count(SEGMENTATION_LOSS_KERNEL), 1);
          assert.equal(count(SEGMENTATION_LOSS_GRAD_KERNEL), 1);
          assert.ok(!fused.kernels.includes("Softmax") && !fused.kernels.includes("Exp"));
          assert.ok(
            fused.kernels.length <= 10,
            `${fused.kernels.length} kernels: ${fused.kernels}`,
          );
          assert.ok(ops.kernels.length > 40, "the plain ops take many kernels");
        }
        assert.ok(Math.abs(fused.value - ops.value) <= 1e-6 * Math.abs(ops.value));
        let diff = 0, scale = 0;
        fused.grad.forEach((g, i) => {
          diff = Math.max(diff, Math.abs(g - ops.grad[i]));
          scale = Math.max(scale, Math.abs(ops.grad[i]));
        });
        assert.ok(scale > 0 && diff <= 1e-5 * scale, `gradient off by ${diff} (max |g| ${scale})`);
      }
      tf.dispose([z, ...masks]);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    },
  });
}
