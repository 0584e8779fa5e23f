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
import { crossEntropyLoss, mseLoss, segmentationLoss, softCrossEntropyLoss } from "./losses.ts";

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
