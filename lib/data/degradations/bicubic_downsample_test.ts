import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../backend/setup_backend.ts";
import { _imresizeWeights, downsampleBicubic } from "./bicubic_downsample.ts";

await setupBackend({ quiet: true });

const ref = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/bicubic_reference.json", import.meta.url)),
) as Record<string, number[]> & { shape: [number, number, number, number] };

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>, keep?: (i: number) => boolean) {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!keep || keep(i)) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const factor of [2, 4] as const) {
  Deno.test(`downsampleBicubic() ×${factor} matches MATLAB imresize (NumPy port) to 1e-5`, () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(ref.input, ref.shape);
    const y = downsampleBicubic(x, factor);
    const [, h, w, c] = ref.shape;
    assert.deepEqual(y.shape, [1, h / factor, w / factor, c]);
    // float32 arithmetic against a float64 reference of values in [0.1, 0.9].
    assert.ok(maxAbs(y.dataSync(), ref[`matlab_x${factor}`]) < 1e-5);
    tf.dispose([x, y]);
    assert.equal(tf.memory().numTensors, before);
  });

  Deno.test(`downsampleBicubic() ×${factor} matches Pillow BICUBIC away from borders`, () => {
    const x = tf.tensor4d(ref.input, ref.shape);
    const y = downsampleBicubic(x, factor);
    const [, oh, ow, c] = y.shape;
    // Pillow clips the kernel at the border instead of mirroring: compare pixels whose
    // support (2 output pixels either side) lies inside the image.
    const inside = (i: number) => {
      const r = Math.floor(i / (ow * c)), col = Math.floor(i / c) % ow;
      return r >= 2 && r < oh - 2 && col >= 2 && col < ow - 2;
    };
    assert.ok(maxAbs(y.dataSync(), ref[`pil_x${factor}`], inside) < 1e-5);
    tf.dispose([x, y]);
  });
}

Deno.test("downsampleBicubic() keeps a constant and a linear ramp (hand-computed)", () => {
  const c = tf.fill([1, 8, 12, 2], 0.7) as tf.Tensor4D;
  const yc = downsampleBicubic(c, 4);
  assert.ok(yc.dataSync().every((v) => Math.abs(v - 0.7) < 1e-6));
  // Ramp along the width, x[j] = 0.05·j (j = 0..15). The kernel is symmetric and
  // reproduces linear functions, so away from the mirrored border the output at output
  // column i (input centre u = 2i + 0.5, 0-based) is 0.05·(2i + 0.5).
  const w = 16;
  const ramp = tf.tensor4d(Array.from({ length: 4 * w }, (_, k) => 0.05 * (k % w)), [1, 4, w, 1]);
  const yr = downsampleBicubic(ramp, 2);
  const v = yr.dataSync();
  for (let i = 2; i < w / 2 - 2; i++) {
    assert.ok(Math.abs(v[i] - 0.05 * (2 * i + 0.5)) < 1e-6, `column ${i}: ${v[i]}`);
  }
  tf.dispose([c, yc, ramp, yr]);
});

Deno.test("_imresizeWeights() rows sum to 1 and use 4·factor taps", () => {
  const n = 32, f = 4;
  const m = _imresizeWeights(n, f);
  for (let i = 0; i < n / f; i++) {
    const row = m.slice(i * n, (i + 1) * n);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  }
  // Row 2 (centre 4·2 + 1.5 = 9.5, 0-based) takes inputs 2..17: 16 taps, none mirrored.
  const row2 = Array.from(m.slice(2 * n, 3 * n));
  assert.deepEqual(
    row2.flatMap((v, j) => (v !== 0 ? [j] : [])),
    [...Array(16).keys()].map((j) => j + 2),
  );
  // Row 0 (centre 1.5) reaches inputs −6..9: the mirrored −6..−1 fold onto 0..5.
  const row0 = Array.from(m.slice(0, n));
  assert.deepEqual(row0.flatMap((v, j) => (v !== 0 ? [j] : [])), [...Array(10).keys()]);
});

Deno.test("downsampleBicubic() rejects bad factors and sizes", () => {
  const x = tf.zeros([1, 6, 8, 1]) as tf.Tensor4D;
  assert.throws(() => downsampleBicubic(x, 3 as 2), /Expected factor 2 or 4 but found 3/);
  assert.throws(() => downsampleBicubic(x, 4), /divisible by 4 but found 6x8/);
  x.dispose();
});
