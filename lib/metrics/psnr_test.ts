import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { psnr, psnrPerImage } from "./psnr.ts";
import { _BACKENDS, _loadMetricCases, _useBackend } from "./_testing.ts";

const CASES = _loadMetricCases();

function close(actual: number, expected: number, tol: number, what: string): void {
  if (expected === Infinity) {
    assert.equal(actual, Infinity, what);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: |${actual} − ${expected}| > ${tol}`);
}

Deno.test("psnr() equals 10·log10(MAX²/MSE) for a known MSE", async (t) => {
  for (const backend of _BACKENDS) {
    await t.step(backend, async () => {
      await _useBackend(backend);
      const target = tf.zeros([8, 8, 3]);
      const pred = tf.fill([8, 8, 3], 0.1); // MSE 0.01 → 20 dB
      close(psnr(pred, target), 20, 1e-4, "MAX 1");
      const t255 = tf.zeros([2, 4, 5, 1], "int32");
      const p255 = tf.fill([2, 4, 5, 1], 5, "int32"); // MSE 25
      close(psnr(p255, t255, { maxValue: 255 }), 10 * Math.log10(255 ** 2 / 25), 1e-4, "MAX 255");
      // Half the pixels off by 0.2: MSE 0.02.
      const half = tf.concat([tf.fill([1, 4, 8, 1], 0.2), tf.zeros([1, 4, 8, 1])], 1);
      close(psnr(half, tf.zeros([1, 8, 8, 1])), 10 * Math.log10(1 / 0.02), 1e-4, "half");
      tf.dispose([target, pred, t255, p255, half]);
    });
  }
});

Deno.test("psnr() of identical images is Infinity", async () => {
  await _useBackend("cpu");
  const x = tf.randomUniform([2, 5, 5, 3], 0, 1, "float32", 3);
  assert.equal(psnr(x, x), Infinity);
  assert.deepEqual(psnrPerImage(x, x), [Infinity, Infinity]);
  x.dispose();
});

Deno.test("psnrPerImage() matches scikit-image on every fixture, on cpu and wasm", async (t) => {
  const byBackend: Record<string, number[]> = {};
  for (const backend of _BACKENDS) {
    await t.step(backend, async () => {
      await _useBackend(backend);
      const before = tf.memory().numTensors;
      byBackend[backend] = CASES.map((c) => {
        const pred = tf.tensor3d(c.pred, c.shape);
        const target = tf.tensor3d(c.target, c.shape);
        const [value] = psnrPerImage(pred, target);
        tf.dispose([pred, target]);
        close(value, c.psnr, 1e-4, `${c.name} on ${backend}`);
        return value;
      });
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    });
  }
  CASES.forEach((c, i) =>
    close(byBackend.wasm[i], byBackend.cpu[i], 1e-5, `${c.name}: wasm vs cpu`)
  );
});

Deno.test("psnr() averages the per-image PSNR over the batch", async () => {
  await _useBackend("cpu");
  const same = CASES.filter((c) => c.shape.join() === "16,16,3" && c.psnr !== Infinity);
  assert.ok(same.length >= 2);
  const stack = (key: "pred" | "target") =>
    tf.stack(same.map((c) => tf.tensor3d(c[key], c.shape))) as tf.Tensor4D;
  const pred = stack("pred"), target = stack("target");
  const expected = same.map((c) => c.psnr);
  psnrPerImage(pred, target).forEach((v, i) => close(v, expected[i], 1e-4, same[i].name));
  close(psnr(pred, target), expected.reduce((a, b) => a + b) / expected.length, 1e-4, "mean");
  tf.dispose([pred, target]);
});

Deno.test("psnr() rejects mismatched shapes, bad ranks and bad maxValue", async () => {
  await _useBackend("cpu");
  const a = tf.zeros([1, 16, 16, 3]), b = tf.zeros([1, 16, 16, 1]), v = tf.zeros([16]);
  assert.throws(() => psnr(a, b), {
    name: "RangeError",
    message: "Expected psnr pred and target to have the same shape but found " +
      "[1,16,16,3] and [1,16,16,1]",
  });
  assert.throws(() => psnr(v, v), {
    name: "RangeError",
    message: /rank 3 \(HWC\) or 4 \(NHWC\) but found pred of shape \[16\]/,
  });
  assert.throws(() => psnr(a, a, { maxValue: 0 }), {
    name: "RangeError",
    message: "Expected maxValue to be a positive finite number but found 0",
  });
  tf.dispose([a, b, v]);
});
