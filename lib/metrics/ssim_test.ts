import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { ssim, ssimPerImage } from "./ssim.ts";
import { psnrPerImage } from "./psnr.ts";
import { Rng } from "../util/rng.ts";
import { _BACKENDS, _loadMetricCases, _useBackend } from "./_testing.ts";
import { PYTHON_FOR_TESTS, pythonTestOptions } from "../_testing_python.ts";

const CASES = _loadMetricCases();
const TOL = 1e-4; // agreement with scikit-image asked of this implementation

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: |${actual} − ${expected}| > ${tol}`);
}

Deno.test("ssimPerImage() matches scikit-image on every fixture, on cpu and wasm", async (t) => {
  const byBackend: Record<string, number[]> = {};
  for (const backend of _BACKENDS) {
    await t.step(backend, async () => {
      await _useBackend(backend);
      const before = tf.memory().numTensors;
      byBackend[backend] = CASES.map((c) => {
        const pred = tf.tensor3d(c.pred, c.shape);
        const target = tf.tensor3d(c.target, c.shape);
        const [value] = ssimPerImage(pred, target);
        close(value, c.ssim, TOL, `${c.name} on ${backend}`);
        // Each channel alone is skimage's greyscale SSIM of that channel.
        c.ssimChannels.forEach((expected, k) => {
          const p = tf.slice(pred, [0, 0, k], [-1, -1, 1]);
          const q = tf.slice(target, [0, 0, k], [-1, -1, 1]);
          const [v] = ssimPerImage(p, q);
          tf.dispose([p, q]);
          close(v, expected, TOL, `${c.name} channel ${k} on ${backend}`);
        });
        tf.dispose([pred, target]);
        return value;
      });
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    });
  }
  CASES.forEach((c, i) =>
    close(byBackend.wasm[i], byBackend.cpu[i], 1e-5, `${c.name}: wasm vs cpu`)
  );
});

Deno.test("ssimPerImage() leaks no tensors", async (t) => {
  for (const backend of _BACKENDS) {
    await t.step(backend, async () => {
      await _useBackend(backend);
      const a = tf.randomUniform([2, 20, 24, 3], 0, 1, "float32", 1);
      const b = tf.randomUniform([2, 20, 24, 3], 0, 1, "float32", 2);
      const before = tf.memory().numTensors;
      ssimPerImage(a, b);
      ssim(tf.squeeze(tf.slice(a, 0, 1), [0]), tf.squeeze(tf.slice(b, 0, 1), [0]));
      assert.equal(tf.memory().numTensors, before + 4, "only the caller's 4 slices remain");
      tf.dispose([a, b]);
    });
  }
});

Deno.test("ssim() of identical images is 1 and of constant images is the luminance term", async () => {
  await _useBackend("cpu");
  const x = tf.randomUniform([3, 16, 13, 2], 0, 1, "float32", 5);
  for (const v of ssimPerImage(x, x)) close(v, 1, 1e-6, "identical");
  const a = tf.fill([1, 12, 12, 1], 0.3), b = tf.fill([1, 12, 12, 1], 0.6);
  const c1 = 0.01 ** 2;
  close(ssim(a, b), (2 * 0.3 * 0.6 + c1) / (0.3 ** 2 + 0.6 ** 2 + c1), 1e-6, "constants");
  tf.dispose([x, a, b]);
});

Deno.test("ssim() averages the per-image SSIM over the batch and is symmetric", async () => {
  await _useBackend("cpu");
  const same = CASES.filter((c) => c.shape.join() === "16,16,3");
  assert.ok(same.length >= 3);
  const stack = (key: "pred" | "target") =>
    tf.stack(same.map((c) => tf.tensor3d(c[key], c.shape))) as tf.Tensor4D;
  const pred = stack("pred"), target = stack("target");
  const expected = same.map((c) => c.ssim);
  ssimPerImage(pred, target).forEach((v, i) => close(v, expected[i], TOL, same[i].name));
  close(ssim(pred, target), expected.reduce((a, b) => a + b) / expected.length, TOL, "mean");
  close(ssim(target, pred), ssim(pred, target), 1e-6, "symmetry");
  tf.dispose([pred, target]);
});

Deno.test("ssim() with dataRange 255 on 0..255 images equals ssim() on 0..1 images", async () => {
  await _useBackend("cpu");
  const c = CASES.find((c) => c.name === "rgb23x31_smooth_noisy")!;
  const pred = tf.tensor3d(c.pred, c.shape), target = tf.tensor3d(c.target, c.shape);
  const pred255 = tf.mul(pred, 255), target255 = tf.mul(target, 255);
  close(ssim(pred255, target255, { dataRange: 255 }), c.ssim, TOL, "scaled");
  tf.dispose([pred, target, pred255, target255]);
});

Deno.test("ssim() rejects small images, mismatched shapes and bad dataRange", async () => {
  await _useBackend("cpu");
  const small = tf.zeros([1, 10, 16, 1]), a = tf.zeros([16, 16, 3]), b = tf.zeros([16, 16, 1]);
  assert.throws(() => ssim(small, small), {
    name: "RangeError",
    message: "Expected ssim images of at least 11×11 (the window size) but found 10×16",
  });
  assert.throws(() => ssim(a, b), {
    name: "RangeError",
    message:
      "Expected ssim pred and target to have the same shape but found [16,16,3] and [16,16,1]",
  });
  assert.throws(() => ssim(a, a, { dataRange: -1 }), {
    name: "RangeError",
    message: "Expected dataRange to be a positive finite number but found -1",
  });
  tf.dispose([small, a, b]);
});

// Live comparison against scikit-image on fresh random images, when Debian's Python has it.
// Debian's interpreter has numpy + skimage; METRICS_PYTHON overrides it (e.g. to test the skip).
const PYTHON = Deno.env.get("METRICS_PYTHON") ?? PYTHON_FOR_TESTS;
const LIVE_SCRIPT = `
import base64, json, sys
import numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
job = json.load(sys.stdin)
h, w, c = job["shape"]
out = []
for p, t in zip(job["pred"], job["target"]):
    p = np.frombuffer(base64.b64decode(p), "<f4").reshape(h, w, c).astype(np.float64)
    t = np.frombuffer(base64.b64decode(t), "<f4").reshape(h, w, c).astype(np.float64)
    out.append([
        structural_similarity(t, p, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=1, channel_axis=-1),
        peak_signal_noise_ratio(t, p, data_range=1),
    ])
print(json.dumps(out))
`;

Deno.test({
  ...(await pythonTestOptions(
    "ssimPerImage() and psnrPerImage() match a live scikit-image run",
    ["skimage.metrics", "numpy"],
    PYTHON,
  )),
  fn: async () => {
    await _useBackend("cpu");
    const rng = new Rng(1234).fork("ssim-live");
    const [n, h, w, c] = [3, 19, 26, 3];
    const target = Float32Array.from({ length: n * h * w * c }, () => rng.uniform());
    const sigmas = [0.02, 0.1, 0.3];
    const pred = target.map((v, i) => {
      const s = sigmas[Math.floor(i / (h * w * c))];
      return Math.min(1, Math.max(0, v + s * rng.normal()));
    });
    const b64 = (x: Float32Array) => {
      const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
      return btoa(Array.from(bytes, (ch) => String.fromCharCode(ch)).join(""));
    };
    const size = h * w * c;
    const split = (x: Float32Array) =>
      Array.from({ length: n }, (_, i) => b64(x.slice(i * size, (i + 1) * size)));
    const child = new Deno.Command(PYTHON, {
      args: ["-c", LIVE_SCRIPT],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(
        JSON.stringify({ shape: [h, w, c], pred: split(pred), target: split(target) }),
      ),
    );
    await writer.close();
    const result = await child.output();
    assert.ok(result.success, new TextDecoder().decode(result.stderr));
    const reference: [number, number][] = JSON.parse(new TextDecoder().decode(result.stdout));

    const p = tf.tensor4d(pred, [n, h, w, c]), t = tf.tensor4d(target, [n, h, w, c]);
    const ours = ssimPerImage(p, t), oursPsnr = psnrPerImage(p, t);
    tf.dispose([p, t]);
    reference.forEach(([s, q], i) => {
      close(ours[i], s, TOL, `live ssim ${i}`);
      close(oursPsnr[i], q, 1e-4, `live psnr ${i}`);
    });
  },
});
