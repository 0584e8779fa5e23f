import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { Rng } from "../../util/rng.ts";
import { registerGradients } from "../register_gradients.ts";
import { _make, _relError, type _Spec, _spec, _weightedSum } from "../_testing.ts";
import { ONEDNN_BACKEND, registerOnednnBackend } from "./register_onednn_backend.ts";
import { NATIVE_MIN_SIZE } from "./_kernels.ts";
import { convImplementations } from "./_dnnl.ts";

registerGradients();

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
await tf.setBackend("cpu");

const TOL = 2e-5;
type _B = "cpu" | "onednn";

async function on<T>(backend: _B, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  return fn();
}

/** Value and gradients of `loss` for all inputs, as arrays, on one backend. */
async function gradsOn(
  backend: _B,
  inputs: _Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  seed = 9,
): Promise<Float32Array[]> {
  return await on(backend, () => {
    const out = tf.tidy(() => {
      const xs = inputs.map(_make);
      const y = f(...xs);
      const { grads } = tf.valueAndGrads((...a: tf.Tensor[]) => _weightedSum(f(...a), seed))(xs);
      return [y, ...grads];
    });
    const arrays = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose(out);
    return arrays;
  });
}

/** Asserts that `f` (forward output and every input gradient) agrees on cpu and onednn. */
async function agree(
  what: string,
  inputs: _Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  tol = TOL,
): Promise<void> {
  const cpu = await gradsOn("cpu", inputs, f);
  const dnn = await gradsOn("onednn", inputs, f);
  assert.equal(dnn.length, cpu.length);
  cpu.forEach((expected, i) => {
    const err = _relError(dnn[i], expected);
    assert.ok(err <= tol, `${what}: ${i === 0 ? "forward" : `gradient ${i}`} error ${err}`);
  });
}

test("registerOnednnBackend() copies every cpu kernel and adds the native ones", () => {
  const info = registerOnednnBackend();
  assert.match(info.version, /^2\.\d+\.\d+$/);
  assert.equal(registerOnednnBackend(), info);
  const cpu = tf.getKernelsForBackend("cpu").map((k) => k.kernelName);
  const mine = tf.getKernelsForBackend(ONEDNN_BACKEND).map((k) => k.kernelName);
  for (const k of cpu) assert.ok(mine.includes(k), `kernel ${k} missing on onednn`);
  for (const k of info.nativeKernels) assert.ok(mine.includes(k), `native ${k} not registered`);
});

type Pad = "same" | "valid" | number | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

function randomPad(rng: Rng): Pad {
  const r = rng.int(4);
  if (r === 0) return "same";
  if (r === 1) return "valid";
  if (r === 2) return rng.int(3);
  return [[0, 0], [rng.int(3), rng.int(3)], [rng.int(3), rng.int(3)], [0, 0]];
}

test("conv2d on onednn matches cpu, forward and backward (random shapes, strides, pads)", async () => {
  const rng = new Rng(11);
  for (let i = 0; i < 24; i++) {
    const k = [1, 2, 3, 5][rng.int(4)];
    const stride = 1 + rng.int(3);
    const n = 1 + rng.int(2), h = k + rng.int(9), w = k + rng.int(9);
    const cin = 1 + rng.int(9), cout = 1 + rng.int(9);
    const pad = randomPad(rng);
    const x = _spec(rng, [n, h, w, cin]);
    const f = _spec(rng, [k, k, cin, cout], 0.5);
    const what = `x=[${x.shape}] k=${k} s=${stride} pad=${JSON.stringify(pad)} cout=${cout}`;
    await agree(what, [x, f], (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad));
  }
  assert.ok(convImplementations().length >= 3, `${convImplementations()}`);
});

/**
 * dW of a dilated, strided NHWC convolution in float64 (the cpu backend's
 * Conv2DBackpropFilter ignores dilations, so it cannot be the reference here).
 */
function naiveFilterGrad(
  x: _Spec,
  dy: Float32Array,
  dyShape: number[],
  filterShape: number[],
  strides: [number, number],
  dilations: [number, number],
  padTop: number,
  padLeft: number,
): Float64Array {
  const [n, h, w, c] = x.shape;
  const [, oh, ow, o] = dyShape;
  const [kh, kw] = filterShape;
  const dw = new Float64Array(kh * kw * c * o);
  for (let b = 0; b < n; b++) {
    for (let yy = 0; yy < oh; yy++) {
      for (let xx = 0; xx < ow; xx++) {
        for (let i = 0; i < kh; i++) {
          const r = yy * strides[0] + i * dilations[0] - padTop;
          if (r < 0 || r >= h) continue;
          for (let j = 0; j < kw; j++) {
            const q = xx * strides[1] + j * dilations[1] - padLeft;
            if (q < 0 || q >= w) continue;
            for (let ci = 0; ci < c; ci++) {
              const xv = x.values[((b * h + r) * w + q) * c + ci];
              for (let oi = 0; oi < o; oi++) {
                dw[((i * kw + j) * c + ci) * o + oi] += xv * dy[((b * oh + yy) * ow + xx) * o + oi];
              }
            }
          }
        }
      }
    }
  }
  return dw;
}

test("conv2d on onednn matches references with dilations (forward, filter gradient)", async () => {
  const rng = new Rng(12);
  for (let i = 0; i < 10; i++) {
    const k = 2 + rng.int(2), d = 2 + rng.int(2), stride = 1 + rng.int(2);
    const x = _spec(rng, [2, 7 + rng.int(6), 7 + rng.int(6), 1 + rng.int(5)]);
    const f = _spec(rng, [k, k, x.shape[3], 1 + rng.int(5)]);
    const pad = i % 2 === 0 ? "same" as const : "valid" as const;
    // tf.conv2d forbids strides and dilations > 1 together; the kernels do not.
    const strides: [number, number] = i % 3 !== 0 ? [1, 1] : [stride, stride];
    const convInfo = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      f.shape as [number, number, number, number],
      strides,
      d,
      pad,
    );
    const dy = _spec(rng, convInfo.outShape);
    const run = (backend: _B) =>
      on(backend, () => {
        const [xt, ft, dyt] = [_make(x), _make(f), _make(dy)];
        const attrs = { strides, pad, dataFormat: "NHWC", dilations: [d, d] };
        const y = tf.engine().runKernel("Conv2D", { x: xt, filter: ft }, attrs) as tf.Tensor;
        // The cpu Conv2DBackpropFilter ignores dilations (and fails): only onednn runs it.
        const dw = backend === "cpu" ? tf.zeros([1]) : tf.engine().runKernel(
          "Conv2DBackpropFilter",
          { x: xt, dy: dyt },
          { ...attrs, filterShape: f.shape },
        ) as tf.Tensor;
        const out = [y.dataSync(), dw.dataSync()] as Float32Array[];
        tf.dispose([xt, ft, dyt, y, dw]);
        return out;
      });
    const dnn = await run("onednn");
    const what = `x=[${x.shape}] f=[${f.shape}] d=${d} s=${strides} ${pad}`;
    if (strides[0] === 1) {
      // The cpu Conv2D supports dilations, but not together with strides > 1.
      const cpu = await run("cpu");
      assert.ok(_relError(dnn[0], cpu[0]) <= TOL, `${what}: forward`);
    }
    const ref = naiveFilterGrad(
      x,
      dy.values,
      convInfo.outShape,
      f.shape,
      strides,
      [d, d],
      convInfo.padInfo.top,
      convInfo.padInfo.left,
    );
    assert.ok(_relError(dnn[1], ref) <= TOL, `${what}: filter gradient`);
  }
});

test("fused conv2d (bias, relu) and conv2dTranspose on onednn match cpu", async () => {
  const rng = new Rng(13);
  for (
    const [stride, pad, act] of [[1, "same", "relu"], [2, "same", "linear"], [
      2,
      "valid",
      "relu",
    ]] as const
  ) {
    const x = _spec(rng, [2, 16, 16, 8]);
    const f = _spec(rng, [3, 3, 8, 16], 0.3);
    const b = _spec(rng, [16]);
    await agree(
      `fused s=${stride} ${pad} ${act}`,
      [x, f, b],
      (xt, ft, bt) =>
        tf.fused.conv2d({
          x: xt as tf.Tensor4D,
          filter: ft as tf.Tensor4D,
          bias: bt,
          strides: stride,
          pad,
          activation: act,
        }),
    );
  }
  const x = _spec(rng, [2, 8, 8, 16]);
  const f = _spec(rng, [2, 2, 8, 16], 0.3);
  await agree(
    "conv2dTranspose",
    [x, f],
    (xt, ft) => tf.conv2dTranspose(xt as tf.Tensor4D, ft as tf.Tensor4D, [2, 16, 16, 8], 2, "same"),
  );
});

test("NCHW convolutions on onednn fall back to the cpu kernels", async () => {
  const rng = new Rng(14);
  const x = _spec(rng, [1, 3, 6, 6]);
  const f = _spec(rng, [3, 3, 3, 4]);
  const run = (backend: _B) =>
    on(
      backend,
      () =>
        tf.tidy(() =>
          tf.conv2d(_make(x) as tf.Tensor4D, _make(f) as tf.Tensor4D, 1, "same", "NCHW")
            .dataSync()
        ),
    );
  assert.ok(_relError(await run("onednn"), await run("cpu")) <= TOL);
});

test("element-wise kernels on onednn match cpu (relu, prelu, square, broadcasts)", async () => {
  const rng = new Rng(15);
  const shape = [2, 16, 16, 16];
  assert.ok(shape.reduce((a, b) => a * b) >= NATIVE_MIN_SIZE);
  const x = _spec(rng, shape);
  const y = _spec(rng, shape);
  await agree("relu", [x], (a) => tf.relu(a));
  await agree("prelu", [x, _spec(rng, [16], 0.3)], (a, al) => tf.prelu(a, al));
  await agree("square", [x], (a) => tf.square(a));
  const others: number[][] = [shape, [16], [1, 1, 1, 16], [1, 16, 1, 1], [2, 1, 16, 1], []];
  for (const s of others) {
    const b = _spec(rng, s);
    // Divisors away from zero.
    const d: _Spec = { shape: s, values: b.values.map((v) => 1.5 + Math.abs(v)) };
    await agree(`add [${s}]`, [x, b], (p, q) => tf.add(p, q));
    await agree(`add reversed [${s}]`, [b, x], (p, q) => tf.add(p, q));
    await agree(`sub [${s}]`, [x, b], (p, q) => tf.sub(p, q));
    await agree(`sub reversed [${s}]`, [b, x], (p, q) => tf.sub(p, q));
    await agree(`mul [${s}]`, [x, b], (p, q) => tf.mul(p, q));
    await agree(`mul reversed [${s}]`, [b, x], (p, q) => tf.mul(p, q));
    await agree(`div [${s}]`, [x, d], (p, q) => tf.div(p, q));
  }
  await agree("add same shape", [x, y], (p, q) => tf.add(p, q));
});

test("concat and split on onednn match cpu, forward and backward, on every axis", async () => {
  const rng = new Rng(19);
  const a = _spec(rng, [4, 8, 8, 16]); // ≥ NATIVE_MIN_SIZE values: the native paths run
  const b = _spec(rng, [4, 8, 8, 24]);
  await agree("concat channels", [a, b], (p, q) => tf.concat([p, q], 3));
  for (const axis of [0, 1, 2, 3]) {
    const c = _spec(rng, a.shape.map((d, i) => (i === axis ? 3 : d)));
    await agree(`concat axis ${axis}`, [a, c], (p, q) => tf.concat([p, q], axis));
    await agree(`split axis ${axis}`, [a], (p) => {
      const parts = tf.split(p, [1, p.shape[axis] - 1], axis);
      return tf.add(tf.sum(tf.square(parts[0])), tf.sum(parts[1]));
    });
  }
});

test("max pooling gradient on onednn matches cpu (ties, negative maxima, padding)", async () => {
  const rng = new Rng(18);
  const x = _spec(rng, [2, 9, 9, 4]);
  x.values.forEach((v, i) => (x.values[i] = i % 7 === 0 ? -1 : Math.round(v * 2) / 2 - 3));
  for (const [k, s, pad] of [[2, 2, "valid"], [3, 2, "same"], [3, 1, "same"]] as const) {
    await agree(`maxPool ${k}/${s} ${pad}`, [x], (a) => tf.maxPool(a as tf.Tensor4D, k, s, pad));
  }
});

test("Sum and Mean on onednn match cpu over leading, trailing and other axes", async () => {
  const rng = new Rng(16);
  const x = _spec(rng, [4, 8, 16, 16]);
  const axesList: (number | number[])[] = [[0, 1, 2], [0], [3], [2, 3], [1, 2], [-1], [0, 2]];
  for (const axes of axesList) {
    for (const keepDims of [false, true]) {
      await agree(`sum ${axes} ${keepDims}`, [x], (a) => tf.sum(a, axes, keepDims), 1e-5);
      await agree(`mean ${axes} ${keepDims}`, [x], (a) => tf.mean(a, axes, keepDims), 1e-5);
    }
  }
});

test("batch norm with batch statistics on onednn matches cpu, forward and backward", async () => {
  const rng = new Rng(17);
  const x = _spec(rng, [4, 8, 8, 16], 2);
  const gamma = _spec(rng, [16]);
  const beta = _spec(rng, [16]);
  await agree("batch norm (train)", [x, gamma, beta], (xt, g, b) => {
    const { mean, variance } = tf.moments(xt, [0, 1, 2]);
    return tf.batchNorm4d(
      xt as tf.Tensor4D,
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
      b as tf.Tensor1D,
      g as tf.Tensor1D,
      1e-5,
    );
  }, 1e-4);
  const mean = _spec(rng, [16]);
  const variance: _Spec = { shape: [16], values: _spec(rng, [16]).values.map((v) => 0.5 + v * v) };
  await agree("batch norm (given statistics)", [x, mean, variance, gamma, beta], (
    xt,
    m,
    v,
    g,
    b,
  ) =>
    tf.batchNorm4d(
      xt as tf.Tensor4D,
      m as tf.Tensor1D,
      v as tf.Tensor1D,
      b as tf.Tensor1D,
      g as tf.Tensor1D,
      1e-3,
    ), 1e-4);
});

test("the onednn backend recycles kernel outputs, never arrays a caller can hold", async () => {
  await on("onednn", () => {
    const backend = tf.findBackend(ONEDNN_BACKEND) as unknown as { pooledBytes: number };
    const mine = new Float32Array(4096).fill(2);
    const t = tf.tensor(mine, [4096]);
    const y = tf.relu(t);
    const read = y.dataSync();
    const before = backend.pooledBytes;
    tf.dispose([t, y]);
    // y's buffer (a kernel output) is pooled; t's (the caller's array) is not.
    assert.equal(backend.pooledBytes, before + 4096 * 4);
    const z = tf.relu(tf.neg(tf.tensor(mine, [4096])));
    assert.equal(read[0], 2, "a dataSync() result must survive the reuse of its buffer");
    assert.equal(mine[0], 2);
    assert.equal(z.dataSync()[0], 0);
    tf.dispose(z);
  });
});
