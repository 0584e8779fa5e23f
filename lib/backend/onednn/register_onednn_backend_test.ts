import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { Rng } from "../../util/rng.ts";
import { registerGradients } from "../register_gradients.ts";
import { _make, _randn, _relError, type _Spec, _spec } from "../_testing.ts";
import {
  type KernelCallCounts,
  nativeCallCounts,
  ONEDNN_BACKEND,
  registerOnednnBackend,
  resetNativeCallCounts,
} from "./register_onednn_backend.ts";
import {
  BROADCAST_KERNEL,
  NATIVE_MIN_SIZE,
  PRELU_GRAD_KERNEL,
  RELU_GRAD_KERNEL,
  TANH_GRAD_KERNEL,
} from "./_kernels.ts";
import { convImplementations } from "./_dnnl.ts";
import { narrowConvCalls } from "./_narrow_conv.ts";
import { ssimPerImage } from "../../metrics/ssim.ts";
import {
  BATCH_NORM_TRAIN_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  batchNormTrain,
} from "./batch_norm_train.ts";

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
/**
 * Relative error (`_relError`) allowed for oneDNN's tanh and its gradient against the cpu
 * kernels (Math.tanh; Square, Sub, Multiply). Measured on 65,536 values in [−6, 6]: the forward
 * within 1 ulp (6e-8 absolute), the gradient within 1.5e-7 of max |dx| (1 − y² loses the
 * relative precision of y near ±1, in both backends).
 */
const TANH_TOL = 1e-6;
type _B = "cpu" | "onednn";

async function on<T>(backend: _B, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  return fn();
}

type _Counts = Record<string, KernelCallCounts>;

/**
 * How every call of a kernel must have run: `native` (oneDNN), `js` (the backend's plain-JS
 * code) or `cpu` (the cpu kernel, a fallback by design); at least one call, none another way.
 */
type _Path = keyof KernelCallCounts;
type _Expect = Record<string, _Path>;

/** Asserts that each kernel of `expect` ran at least once in `counts`, and only its way. */
function assertRan(counts: _Counts, expect: _Expect, what: string): void {
  for (const [kernel, path] of Object.entries(expect)) {
    const c = counts[kernel];
    assert.ok(c, `${what}: ${kernel} is not a counted kernel`);
    const others = (Object.keys(c) as _Path[]).filter((p) => p !== path && c[p] > 0);
    assert.ok(
      c[path] > 0 && others.length === 0,
      `${what}: expected every ${kernel} call to run ${path} but found ${JSON.stringify(c)}`,
    );
  }
}

/** `after − before`, per kernel and path. */
function countsSince(before: _Counts, after: _Counts): _Counts {
  const out: _Counts = {};
  for (const [k, c] of Object.entries(after)) {
    const b = before[k] ?? { native: 0, js: 0, cpu: 0 };
    out[k] = { native: c.native - b.native, js: c.js - b.js, cpu: c.cpu - b.cpu };
  }
  return out;
}

/**
 * Forward output and the gradients of `Σ f(...inputs)·r` (a seeded `r`, passed as `dy` so
 * that no loss kernels run) for all inputs, as arrays, on one backend; with the replacement
 * kernels' calls in the forward and in the backward pass.
 */
async function gradsOn(
  backend: _B,
  inputs: _Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  seed = 9,
): Promise<{ arrays: Float32Array[]; forward: _Counts; backward: _Counts }> {
  return await on(backend, () => {
    let forward: _Counts = {}, total: _Counts = {};
    const out = tf.tidy(() => {
      const xs = inputs.map(_make);
      resetNativeCallCounts();
      const y = f(...xs);
      forward = nativeCallCounts();
      resetNativeCallCounts();
      const dy = tf.tensor(_randn(new Rng(seed), y.size), y.shape, "float32");
      const grads = tf.grads(f)(xs, dy);
      total = nativeCallCounts();
      return [y, ...grads];
    });
    const arrays = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose(out);
    // tf.grads runs the forward pass again before the backward one.
    return { arrays, forward, backward: countsSince(forward, total) };
  });
}

/** Asserts that `actual` and `expected` hold the same float32 bit patterns. */
function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const i = a.findIndex((bits, k) => bits !== e[k]);
  assert.ok(i < 0, `${what}: value ${i} is ${actual[i]}, expected ${expected[i]}`);
}

/**
 * Asserts that `f` (forward output and every input gradient) agrees on cpu and onednn (to a
 * relative error of `tol`, or bit for bit if `tol` is 0), and that on onednn the kernels of
 * `expect.forward` / `expect.backward` ran the stated way in the forward / backward pass.
 */
async function agree(
  what: string,
  inputs: _Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  expect: { forward?: _Expect; backward?: _Expect },
  tol = TOL,
): Promise<void> {
  const cpu = await gradsOn("cpu", inputs, f);
  const dnn = await gradsOn("onednn", inputs, f);
  assert.equal(dnn.arrays.length, cpu.arrays.length);
  cpu.arrays.forEach((expected, i) => {
    const which = `${what}: ${i === 0 ? "forward" : `gradient ${i}`}`;
    if (tol === 0) return assertSameBits(dnn.arrays[i], expected, which);
    const err = _relError(dnn.arrays[i], expected);
    assert.ok(err <= tol, `${which} error ${err}`);
  });
  assert.ok(expect.forward || expect.backward, `${what}: expects nothing`);
  assertRan(dnn.forward, expect.forward ?? {}, `${what} (forward)`);
  assertRan(dnn.backward, expect.backward ?? {}, `${what} (backward)`);
}

test("registerOnednnBackend() copies every cpu kernel and adds the native ones", () => {
  const info = registerOnednnBackend();
  assert.match(info.version, /^2\.\d+\.\d+$/);
  assert.equal(registerOnednnBackend(), info);
  const cpu = tf.getKernelsForBackend("cpu").map((k) => k.kernelName);
  const mine = tf.getKernelsForBackend(ONEDNN_BACKEND).map((k) => k.kernelName);
  for (const k of cpu) assert.ok(mine.includes(k), `kernel ${k} missing on onednn`);
  for (const k of [...info.nativeKernels, ...info.jsKernels]) {
    assert.ok(mine.includes(k), `replacement ${k} not registered`);
  }
  assert.deepEqual(info.nativeKernels.filter((k) => info.jsKernels.includes(k)), []);
  assert.deepEqual(
    Object.keys(nativeCallCounts()).sort(),
    [...info.nativeKernels, ...info.jsKernels].sort(),
  );
});

/** A seeded tensor, by default [4, 8, 8, 16]: 4096 values, NATIVE_MIN_SIZE. */
function _big(seed: number, shape = [4, 8, 8, 16]): tf.Tensor {
  return _make(_spec(new Rng(seed), shape));
}

const _conv = { strides: [1, 1], pad: "same", dataFormat: "NHWC", dilations: [1, 1] };

/** A small call per native kernel that must take its oneDNN path (run on onednn in a tidy). */
const _NATIVE_CASES: Record<string, () => unknown> = {
  Conv2D: () => tf.conv2d(_big(1) as tf.Tensor4D, _big(2, [3, 3, 16, 4]) as tf.Tensor4D, 1, "same"),
  FusedConv2D: () =>
    tf.fused.conv2d({
      x: _big(1) as tf.Tensor4D,
      filter: _big(2, [3, 3, 16, 4]) as tf.Tensor4D,
      strides: 1,
      pad: "same",
      bias: _big(3, [4]),
      activation: "relu",
    }),
  Conv2DBackpropInput: () =>
    tf.conv2dTranspose(
      _big(1) as tf.Tensor4D,
      _big(2, [3, 3, 4, 16]) as tf.Tensor4D,
      [
        4,
        8,
        8,
        4,
      ],
      1,
      "same",
    ),
  Conv2DBackpropFilter: () =>
    tf.engine().runKernel("Conv2DBackpropFilter", { x: _big(1), dy: _big(2, [4, 8, 8, 4]) }, {
      ..._conv,
      filterShape: [3, 3, 16, 4],
    }),
  Relu: () => tf.relu(_big(1)),
  Square: () => tf.square(_big(1)),
  Tanh: () => tf.tanh(_big(1)),
  Prelu: () => tf.prelu(_big(1), _big(2, [16])),
  FusedBatchNorm: () => {
    const variance = tf.add(tf.square(_big(3, [16])), 0.5);
    return tf.batchNorm(_big(1), _big(2, [16]), variance, _big(4, [16]), _big(5, [16]), 1e-3);
  },
  Add: () => tf.add(_big(1), _big(2, [16])),
  Sub: () => tf.sub(_big(1), _big(2, [1, 8, 1, 1])),
  Multiply: () => tf.mul(_big(1, []), _big(2)),
  RealDiv: () => tf.div(_big(1), tf.add(tf.abs(_big(2)), 1)),
  Sum: () => tf.sum(_big(1), [0, 1, 2]),
  Mean: () => tf.mean(_big(1), [-1]),
  [RELU_GRAD_KERNEL]: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: _big(1), x: _big(2) }),
  [TANH_GRAD_KERNEL]: () => tf.engine().runKernel(TANH_GRAD_KERNEL, { dy: _big(1), y: _big(2) }),
  [PRELU_GRAD_KERNEL]: () =>
    tf.engine().runKernel(PRELU_GRAD_KERNEL, { dy: _big(1), x: _big(2), alpha: _big(3, [16]) }),
  [BROADCAST_KERNEL]: () =>
    tf.engine().runKernel(BROADCAST_KERNEL, { x: _big(1, [4, 1, 8, 1]) }, {
      shape: [4, 8, 8, 16],
    } as unknown as tf.NamedAttrMap),
  [BATCH_NORM_TRAIN_KERNEL]: () =>
    batchNormTrain(
      _big(1) as tf.Tensor4D,
      _big(2, [16]) as tf.Tensor1D,
      _big(3, [16]) as tf.Tensor1D,
      1e-5,
    ),
  [BATCH_NORM_TRAIN_GRAD_KERNEL]: () => {
    const variance = tf.add(tf.square(_big(3, [16])), 0.5);
    return tf.engine().runKernel(
      BATCH_NORM_TRAIN_GRAD_KERNEL,
      { dy: _big(1), x: _big(2), mean: _big(4, [16]), variance, scale: _big(5, [16]) },
      { varianceEpsilon: 1e-5 } as unknown as tf.NamedAttrMap,
    );
  },
};

/** A small call per plain-JS kernel that must take its JS path. */
const _JS_CASES: Record<string, () => unknown> = {
  MaxPoolGrad: () => tf.grad((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid"))(_big(1)),
  SplitV: () => tf.split(_big(1), [5, 11], 3),
  Concat: () => tf.concat([_big(1), _big(2, [4, 8, 8, 3])], 3),
  SquaredDifference: () => tf.squaredDifference(_big(1), _big(2)),
  Softmax: () => tf.softmax(_big(1)),
  GatherV2: () => tf.gather(_big(1), tf.tensor1d([3, 0, 1], "int32")),
  ClipByValue: () => tf.clipByValue(_big(1), -0.5, 0.5),
  MaxPool: () => tf.maxPool(_big(1) as tf.Tensor4D, 2, 2, "valid"),
  Exp: () => tf.exp(_big(1)),
  DepthwiseConv2dNative: () =>
    tf.depthwiseConv2d(_big(1) as tf.Tensor4D, _big(2, [3, 3, 16, 1]) as tf.Tensor4D, 1, "same"),
};

test("every kernel in nativeKernels runs oneDNN, and every one in jsKernels its JS code", async () => {
  const info = registerOnednnBackend();
  assert.deepEqual(Object.keys(_NATIVE_CASES).sort(), [...info.nativeKernels].sort());
  assert.deepEqual(Object.keys(_JS_CASES).sort(), [...info.jsKernels].sort());
  await on("onednn", () => {
    const before = tf.memory().numTensors;
    for (const [cases, path] of [[_NATIVE_CASES, "native"], [_JS_CASES, "js"]] as const) {
      for (const [kernel, run] of Object.entries(cases)) {
        resetNativeCallCounts();
        tf.tidy(() => {
          run();
        });
        assertRan(nativeCallCounts(), { [kernel]: path }, kernel);
      }
    }
    assert.equal(tf.memory().numTensors, before);
  });
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

test("conv2d on onednn runs natively and matches cpu, forward and backward (random shapes, strides, pads)", async () => {
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
    await agree(
      what,
      [x, f],
      (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad),
      {
        forward: { Conv2D: "native" },
        backward: { Conv2DBackpropInput: "native", Conv2DBackpropFilter: "native" },
      },
    );
  }
  assert.ok(convImplementations().length >= 3, `${convImplementations()}`);
});

test("convolutions into 1–4 channels on onednn take the row-split path and match cpu (bias, relu, filter gradient; every padding, even and non-square filters)", async () => {
  const rng = new Rng(17);
  const before = { ...narrowConvCalls };
  for (let i = 0; i < 16; i++) {
    // Filters from 5×5 over 32 channels: where the row split pays (narrowOutputConv).
    const kh = 5 + rng.int(5), kw = 5 + rng.int(5);
    const n = 1 + rng.int(2), h = kh + rng.int(6), w = kw + rng.int(6);
    const cin = 32 + rng.int(9), cout = 1 + rng.int(4);
    // A numeric pad with a non-square filter has TF.js's own output size (below).
    const random = randomPad(rng);
    const pad = typeof random === "number" && kh !== kw ? "same" : random;
    const x = _spec(rng, [n, h, w, cin]);
    const f = _spec(rng, [kh, kw, cin, cout], 0.3);
    const b = _spec(rng, [cout]);
    const what = `x=[${x.shape}] f=[${f.shape}] pad=${JSON.stringify(pad)}`;
    const fused = i % 2 === 1;
    await agree(
      what,
      fused ? [x, f, b] : [x, f],
      (xt, ft, bt) =>
        fused
          ? tf.fused.conv2d({
            x: xt as tf.Tensor4D,
            filter: ft as tf.Tensor4D,
            bias: bt,
            strides: 1,
            pad,
            activation: i % 4 === 1 ? "relu" : "linear",
          })
          : tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, 1, pad),
      {
        forward: { [fused ? "FusedConv2D" : "Conv2D"]: "native" },
        backward: { Conv2DBackpropInput: "native", Conv2DBackpropFilter: "native" },
      },
    );
  }
  assert.ok(narrowConvCalls.forward >= before.forward + 16, JSON.stringify(narrowConvCalls));
  assert.ok(narrowConvCalls.filter >= before.filter + 16, JSON.stringify(narrowConvCalls));
  // TF.js sizes the output of a non-square filter with a numeric pad from the filter's height
  // in both directions (8×14 through 6×9 with pad 1: 5×11, not 5×8); oneDNN refuses that
  // geometry, so it runs on the cpu kernels, as on the cpu backend.
  await agree(
    "6×9 filter, pad 1",
    [_spec(rng, [2, 8, 14, 32]), _spec(rng, [6, 9, 32, 3], 0.3)],
    (xt, ft) => tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, 1, 1),
    { forward: { Conv2D: "cpu" }, backward: { Conv2DBackpropFilter: "cpu" } },
  );
});

test("filter gradients of convolutions into 1–4 channels on onednn swap the two images and match cpu (small filters, every padding)", async () => {
  const rng = new Rng(19);
  const before = narrowConvCalls.filter;
  let expected = 0;
  for (let i = 0; i < 16; i++) {
    const kh = 1 + rng.int(5), kw = 1 + rng.int(5);
    const n = 1 + rng.int(2), h = kh + rng.int(8), w = kw + rng.int(8);
    const cin = 5 + rng.int(16), cout = 1 + rng.int(4);
    const random = randomPad(rng);
    const pad = typeof random === "number" && kh !== kw ? "valid" : random;
    const x = _spec(rng, [n, h, w, cin]);
    const f = _spec(rng, [kh, kw, cin, cout], 0.3);
    // Paddings wider than the filter have no mirror image: the direct filter gradient runs.
    const pads = typeof pad === "number"
      ? [pad, pad, pad, pad]
      : Array.isArray(pad)
      ? [pad[1][0], pad[1][1], pad[2][0], pad[2][1]]
      : [0, 0, 0, 0];
    if (pads[0] < kh && pads[1] < kh && pads[2] < kw && pads[3] < kw) expected++;
    await agree(
      `x=[${x.shape}] f=[${f.shape}] pad=${JSON.stringify(pad)}`,
      [x, f],
      (xt, ft) => tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, 1, pad),
      {
        forward: { Conv2D: "native" },
        backward: { Conv2DBackpropInput: "native", Conv2DBackpropFilter: "native" },
      },
    );
  }
  assert.ok(expected >= 8, `${expected}`);
  assert.equal(narrowConvCalls.filter - before, expected);
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

test("conv2d on onednn runs natively and matches references with dilations (forward, filter gradient)", async () => {
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
    resetNativeCallCounts();
    const dnn = await run("onednn");
    const what = `x=[${x.shape}] f=[${f.shape}] d=${d} s=${strides} ${pad}`;
    assertRan(nativeCallCounts(), { Conv2D: "native", Conv2DBackpropFilter: "native" }, what);
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

test("fused conv2d (bias, relu) and conv2dTranspose on onednn run natively and match cpu", async () => {
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
      {
        forward: { FusedConv2D: "native" },
        backward: { Conv2DBackpropInput: "native", Conv2DBackpropFilter: "native" },
      },
    );
  }
  const x = _spec(rng, [2, 8, 8, 16]);
  const f = _spec(rng, [2, 2, 8, 16], 0.3);
  await agree(
    "conv2dTranspose",
    [x, f],
    (xt, ft) => tf.conv2dTranspose(xt as tf.Tensor4D, ft as tf.Tensor4D, [2, 16, 16, 8], 2, "same"),
    {
      forward: { Conv2DBackpropInput: "native" },
      backward: { Conv2D: "native", Conv2DBackpropFilter: "native" },
    },
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
  resetNativeCallCounts();
  const dnn = await run("onednn");
  assertRan(nativeCallCounts(), { Conv2D: "cpu" }, "NCHW conv2d");
  assert.ok(_relError(dnn, await run("cpu")) <= TOL);
});

test("relu, tanh, prelu and square on onednn run natively and match cpu, forward and backward", async () => {
  const rng = new Rng(15);
  const shape = [2, 16, 16, 16];
  assert.ok(shape.reduce((a, b) => a * b) >= NATIVE_MIN_SIZE);
  const x = _spec(rng, shape);
  await agree("relu", [x], (a) => tf.relu(a), {
    forward: { Relu: "native" },
    backward: { [RELU_GRAD_KERNEL]: "native" },
  });
  // oneDNN's tanh is its own float32 approximation, the cpu kernel's Math.tanh rounded.
  await agree("tanh", [x], (a) => tf.tanh(a), {
    forward: { Tanh: "native" },
    backward: { [TANH_GRAD_KERNEL]: "native" },
  }, TANH_TOL);
  await agree("prelu", [x, _spec(rng, [16], 0.3)], (a, al) => tf.prelu(a, al), {
    forward: { Prelu: "native" },
    backward: { [PRELU_GRAD_KERNEL]: "native" },
  });
  // Square's gradient is dy · (2·x): two full-size products.
  await agree("square", [x], (a) => tf.square(a), {
    forward: { Square: "native" },
    backward: { Multiply: "native" },
  });
});

/** Second operands of the broadcast tests (x is [2, 16, 16, 16]). */
const _BROADCASTS: number[][] = [[2, 16, 16, 16], [16], [1, 1, 1, 16], [1, 16, 1, 1], [
  2,
  1,
  16,
  1,
], []];

/** A seeded operand away from zero (a divisor). */
function _divisor(rng: Rng, shape: number[]): _Spec {
  return { shape, values: _spec(rng, shape).values.map((v) => 1.5 + Math.abs(v)) };
}

test("Add, Sub, Multiply, RealDiv on onednn run natively and match cpu (full first operand, broadcast second; either order for Add and Multiply)", async () => {
  const rng = new Rng(15);
  const x = _spec(rng, [2, 16, 16, 16]);
  for (const s of _BROADCASTS) {
    const b = _spec(rng, s);
    const d = _divisor(rng, s);
    const add = { forward: { Add: "native" } } as const;
    await agree(`add [${s}]`, [x, b], (p, q) => tf.add(p, q), add);
    await agree(`add reversed [${s}]`, [b, x], (p, q) => tf.add(p, q), add);
    await agree(`sub [${s}]`, [x, b], (p, q) => tf.sub(p, q), { forward: { Sub: "native" } });
    // Multiply's gradients are dy·b and dy·a: full-size products, native too.
    const mul = { forward: { Multiply: "native" }, backward: { Multiply: "native" } } as const;
    await agree(`mul [${s}]`, [x, b], (p, q) => tf.mul(p, q), mul);
    await agree(`mul reversed [${s}]`, [b, x], (p, q) => tf.mul(p, q), mul);
    await agree(`div [${s}]`, [x, d], (p, q) => tf.div(p, q), { forward: { RealDiv: "native" } });
  }
});

/**
 * `f(...inputs)` as an array on one backend, with the calls of the replacement kernels (no
 * gradient: the bitwise comparisons below are of the forward kernels alone).
 */
async function forwardOn(
  backend: _B,
  inputs: _Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<{ values: Float32Array; counts: _Counts }> {
  return await on(backend, () => {
    resetNativeCallCounts();
    const values = tf.tidy(() => f(...inputs.map(_make)).dataSync() as Float32Array);
    return { values, counts: nativeCallCounts() };
  });
}

/**
 * Asserts that `f` gives bit for bit the cpu backend's result on onednn, where the kernels of
 * `expect` ran the stated way.
 */
async function sameBits(
  what: string,
  inputs: _Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  expect: _Expect,
): Promise<void> {
  const cpu = await forwardOn("cpu", inputs, f);
  const dnn = await forwardOn("onednn", inputs, f);
  assertSameBits(dnn.values, cpu.values, what);
  assertRan(dnn.counts, expect, what);
}

const _BINARY_OPS = {
  Add: tf.add,
  Sub: tf.sub,
  Multiply: tf.mul,
  RealDiv: tf.div,
  SquaredDifference: tf.squaredDifference,
} as const;

/**
 * Operand shapes (each pair tried in both orders) that the binary JS loops cover: a scalar
 * ([] or [1]), one value per column ([C] or [1, ..., C] against [..., C]) or per row, or one
 * shape; under NATIVE_MIN_SIZE elements.
 */
const _JS_BINARY_SHAPES: [number[], number[]][] = [
  [[], [7]],
  [[1], [3, 5]],
  [[], [3, 3, 16, 16]],
  [[1], [1]],
  [[16], [2, 8, 8, 16]],
  [[1, 1, 1, 16], [2, 8, 8, 16]],
  [[4, 1], [4, 9]],
  [[3, 1, 1], [3, 5, 7]],
  [[5, 6], [5, 6]],
  [[6], [1, 6]],
];

test("Add, Sub, Multiply, RealDiv, SquaredDifference on onednn run the JS loops under NATIVE_MIN_SIZE, bit-identical to cpu (scalar, per-channel, per-row, same shape; both orders)", async () => {
  const rng = new Rng(21);
  for (const [p, q] of _JS_BINARY_SHAPES) {
    assert.ok(tf.util.sizeFromShape(tf.backend_util.assertAndGetBroadcastShape(p, q)) < 4096);
    for (const [s, t] of [[p, q], [q, p]]) {
      const inputs = [_spec(rng, s), _spec(rng, t)];
      for (const [kernel, op] of Object.entries(_BINARY_OPS)) {
        await sameBits(`${kernel} [${s}] [${t}]`, inputs, (a, b) => op(a, b), { [kernel]: "js" });
      }
    }
  }
});

test("Sub, RealDiv and SquaredDifference on onednn run the JS loops from NATIVE_MIN_SIZE where oneDNN does not apply, bit-identical to cpu", async () => {
  // oneDNN's binary primitive broadcasts only its second operand, and Sub and RealDiv do not
  // commute; SquaredDifference has no oneDNN path.
  const rng = new Rng(22);
  const x = _spec(rng, [2, 16, 16, 16]);
  for (const s of [[16], [1, 1, 1, 16], [], [1], [2, 1, 1, 1]]) {
    const b = _spec(rng, s);
    await sameBits(`sub reversed [${s}]`, [b, x], (p, q) => tf.sub(p, q), { Sub: "js" });
    await sameBits(`div reversed [${s}]`, [b, x], (p, q) => tf.div(p, q), { RealDiv: "js" });
    for (const [p, q] of [[x, b], [b, x]]) {
      const what = `squaredDifference [${p.shape}] [${q.shape}]`;
      await sameBits(what, [p, q], tf.squaredDifference, { SquaredDifference: "js" });
    }
  }
  await sameBits("squaredDifference", [x, x], tf.squaredDifference, { SquaredDifference: "js" });
  await agree("sub reversed, gradients", [_spec(rng, [16]), x], (p, q) => tf.sub(p, q), {
    forward: { Sub: "js" },
  });
});

test("binary kernels on onednn fall back to the cpu kernels for broadcasts in more than one block and for non-float32 inputs, and match cpu", async () => {
  const rng = new Rng(23);
  const x = _spec(rng, [2, 16, 16, 16]);
  for (const s of [[1, 16, 1, 1], [2, 1, 16, 1]]) {
    const b = _spec(rng, s);
    await agree(`sub reversed [${s}]`, [b, x], (p, q) => tf.sub(p, q), { forward: { Sub: "cpu" } });
    await agree(`div reversed [${s}]`, [b, _divisor(rng, x.shape)], (p, q) => tf.div(p, q), {
      forward: { RealDiv: "cpu" },
    });
  }
  // Both operands broadcast: [4, 1] against [1, 5].
  const [c, r] = [_spec(rng, [4, 1]), _spec(rng, [1, 5])];
  await sameBits("add [4, 1] [1, 5]", [c, r], (p, q) => tf.add(p, q), { Add: "cpu" });
  const ints = async (backend: _B) =>
    await on(backend, () => {
      resetNativeCallCounts();
      const values = tf.tidy(() =>
        Object.values(_BINARY_OPS).map((op) =>
          Array.from(op(tf.tensor([[1, -2, 3]], [1, 3], "int32"), tf.scalar(2, "int32")).dataSync())
        )
      );
      return { values, counts: nativeCallCounts() };
    });
  const dnn = await ints("onednn");
  assert.deepEqual(dnn.values, (await ints("cpu")).values);
  // tf.div of int32 tensors runs FloorDiv, not RealDiv.
  for (const kernel of Object.keys(_BINARY_OPS)) {
    if (kernel !== "RealDiv") assertRan(dnn.counts, { [kernel]: "cpu" }, `int32 ${kernel}`);
  }
});

test("replacement kernels on onednn run JS loops or the cpu kernels under NATIVE_MIN_SIZE elements by design, bit-identical to cpu", async () => {
  const rng = new Rng(20);
  const x = _spec(rng, [4, 8, 8, 3]); // 768 values
  assert.ok(x.values.length < NATIVE_MIN_SIZE);
  const b = _spec(rng, [3]);
  // Not bit for bit: the cpu gradient dy·step(x) is −0 where dy < 0 and x ≤ 0, the loop's 0.
  await agree("small relu", [x], (a) => tf.relu(a), {
    forward: { Relu: "cpu" },
    backward: { [RELU_GRAD_KERNEL]: "js" },
  });
  await agree("small tanh", [x], (a) => tf.tanh(a), {
    forward: { Tanh: "cpu" },
    backward: { [TANH_GRAD_KERNEL]: "js" },
  }, 0);
  await agree("small square", [x], (a) => tf.square(a), { forward: { Square: "cpu" } }, 0);
  // The gradient of a broadcast Add sums dy over the broadcast axes.
  await agree("small add", [x, b], (p, q) => tf.add(p, q), {
    forward: { Add: "js" },
    backward: { Sum: "js" },
  }, 0);
  await agree("small mul", [x, b], (p, q) => tf.mul(p, q), { forward: { Multiply: "js" } }, 0);
  await agree("small sum", [x], (a) => tf.sum(a, [0, 1, 2]), { forward: { Sum: "js" } }, 0);
  await agree("small mean", [x], (a) => tf.mean(a, [1, 2]), { forward: { Mean: "js" } }, 0);
  await agree("small concat", [x, x], (p, q) => tf.concat([p, q], 3), {
    forward: { Concat: "cpu" },
    backward: { SplitV: "cpu" },
  }, 0);
});

test("concat and split on onednn run their JS copies and match cpu, forward and backward, on every axis", async () => {
  const rng = new Rng(19);
  const a = _spec(rng, [4, 8, 8, 16]); // ≥ NATIVE_MIN_SIZE values: the native paths run
  const b = _spec(rng, [4, 8, 8, 24]);
  // The gradient of Concat is SplitV, and the other way round.
  const concat = { forward: { Concat: "js" }, backward: { SplitV: "js" } } as const;
  const split = { forward: { SplitV: "js" }, backward: { Concat: "js" } } as const;
  await agree("concat channels", [a, b], (p, q) => tf.concat([p, q], 3), concat);
  for (const axis of [0, 1, 2, 3]) {
    const c = _spec(rng, a.shape.map((d, i) => (i === axis ? 3 : d)));
    await agree(`concat axis ${axis}`, [a, c], (p, q) => tf.concat([p, q], axis), concat);
    await agree(`split axis ${axis}`, [a], (p) => {
      const parts = tf.split(p, [1, p.shape[axis] - 1], axis);
      return tf.add(tf.sum(tf.square(parts[0])), tf.sum(parts[1]));
    }, split);
  }
});

test("softmax on onednn runs its JS loop, bit-identical to cpu, and its gradient matches cpu", async () => {
  const rng = new Rng(24);
  for (const shape of [[8, 4, 4, 2], [3, 10], [5], [2, 3, 1]]) {
    const x = _spec(rng, shape, 4);
    await sameBits(`softmax [${shape}]`, [x], (a) => tf.softmax(a), { Softmax: "js" });
    await agree(`softmax [${shape}]`, [x], (a) => tf.softmax(a), { forward: { Softmax: "js" } });
  }
  // Ties, infinities and NaN take the cpu kernel's rules (its max lets NaN through).
  const odd: _Spec = {
    shape: [4, 3],
    values: new Float32Array([1, 1, 1, -Infinity, 0, 2, 3, NaN, 1, 1e30, -1e30, 0]),
  };
  await sameBits("softmax with ties, infinities, NaN", [odd], (a) => tf.softmax(a), {
    Softmax: "js",
  });
});

test("gather and clipByValue on onednn run their JS loops, bit-identical to cpu", async () => {
  const rng = new Rng(25);
  const x = _spec(rng, [6, 5, 4, 3]);
  for (const axis of [0, 1, 2, 3]) {
    const picks = [0, 2, 2, 1];
    await sameBits(
      `gather axis ${axis}`,
      [x],
      (a) => tf.gather(a, tf.tensor1d(picks, "int32"), axis),
      { GatherV2: "js" },
    );
  }
  // Indices of any shape (their shape replaces the axis), and int32 data.
  await sameBits("gather [2, 2] indices", [x], (a) => {
    const ints = tf.cast(tf.mul(a, 100), "int32");
    return tf.cast(tf.gather(ints, tf.tensor2d([[1, 0], [5, 5]], [2, 2], "int32")), "float32");
  }, { GatherV2: "js" });
  // Out of range: the cpu kernel runs and reports it.
  await on("onednn", () => {
    resetNativeCallCounts();
    assert.throws(
      () => tf.gather(_make(x), tf.tensor1d([6], "int32")),
      /GatherV2: the index value 6 is not in \[0, 5\]/,
    );
    assertRan(nativeCallCounts(), { GatherV2: "cpu" }, "gather out of range");
  });
  const odd: _Spec = {
    shape: [2, 4],
    values: new Float32Array([-2, -0.5, 0, 0.25, NaN, Infinity, -Infinity, 1e-30]),
  };
  await sameBits("clip", [x], (a) => tf.clipByValue(a, -0.3, 0.6), { ClipByValue: "js" });
  await sameBits("clip with NaN and infinities", [odd], (a) => tf.clipByValue(a, -1, 0.5), {
    ClipByValue: "js",
  });
});

test("depthwise conv2d on onednn runs its JS loop, bit-identical to cpu (windows, strides, dilations, padding), and so does SSIM", async () => {
  const rng = new Rng(26);
  const x = _spec(rng, [2, 13, 11, 5]);
  const cases: [number, number, number, number, "valid" | "same" | number][] = [
    [11, 1, 1, 1, "valid"], // SSIM's separable Gaussian window
    [1, 11, 1, 1, "valid"],
    [3, 3, 2, 1, "same"],
    [3, 2, 1, 2, "same"],
    [5, 4, 1, 1, 1],
    [2, 2, 3, 1, "valid"],
  ];
  for (const [fh, fw, stride, dilation, pad] of cases) {
    const w = _spec(rng, [fh, fw, 5, 1]);
    await sameBits(
      `depthwise ${fh}×${fw}, stride ${stride}, dilation ${dilation}, pad ${pad}`,
      [x, w],
      (a, b) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad, "NHWC", dilation),
      { DepthwiseConv2dNative: "js" },
    );
  }
  // A channel multiplier above 1 takes the cpu kernel.
  const w2 = _spec(rng, [3, 3, 5, 2]);
  await sameBits(
    "depthwise, channel multiplier 2",
    [x, w2],
    (a, b) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"),
    { DepthwiseConv2dNative: "cpu" },
  );
  // SSIM (11×11 Gaussian as two depthwise passes, concat and split over 15 channels).
  const p = _spec(rng, [3, 16, 16, 3]), q = _spec(rng, [3, 16, 16, 3]);
  await sameBits("ssimPerImage", [p, q], (a, b) => tf.tensor(ssimPerImage(a, b)), {
    DepthwiseConv2dNative: "js",
  });
});

test("max pooling gradient on onednn runs its JS loop, bit-identical to cpu (ties, negative maxima, padding, NaN, −∞)", async () => {
  const rng = new Rng(18);
  const x = _spec(rng, [2, 9, 9, 4]);
  x.values.forEach((v, i) => (x.values[i] = i % 7 === 0 ? -1 : Math.round(v * 2) / 2 - 3));
  for (const [k, s, pad] of [[2, 2, "valid"], [3, 2, "same"], [3, 1, "same"]] as const) {
    await agree(`maxPool ${k}/${s} ${pad}`, [x], (a) => tf.maxPool(a as tf.Tensor4D, k, s, pad), {
      backward: { MaxPoolGrad: "js" },
    }, 0);
  }
  const odd: _Spec = {
    shape: [1, 2, 8, 1],
    // Windows: [+0, −0, −1, −2], [NaN, 1, −∞, NaN] (1 wins), all NaN, [−∞, −∞, −∞, NaN] (none wins).
    values: new Float32Array([
      ...[0, -0, NaN, 1, NaN, NaN, -Infinity, -Infinity],
      ...[-1, -2, -Infinity, NaN, NaN, NaN, -Infinity, NaN],
    ]),
  };
  // Overlapping windows (3×3, stride 1) add their gradients up in the cpu kernel's order.
  for (const [k, s, pad] of [[2, 2, "valid"], [3, 1, "same"]] as const) {
    await agree(
      `maxPool ${k}/${s} ${pad} of ±0, NaN, −∞`,
      [odd],
      (a) => tf.maxPool(a as tf.Tensor4D, k, s, pad),
      {
        backward: { MaxPoolGrad: "js" },
      },
      0,
    );
  }
});

test("Sum and Mean on onednn run natively and match cpu over leading, trailing or all axes", async () => {
  const rng = new Rng(16);
  const x = _spec(rng, [4, 8, 16, 16]);
  const axesList: (number | number[] | undefined)[] = [
    [0, 1, 2],
    [0],
    [3],
    [2, 3],
    [1, 2, 3],
    [-1],
    undefined,
    [0, 1, 2, 3],
  ];
  for (const axes of axesList) {
    for (const keepDims of [false, true]) {
      // Sum's gradient is reshape(dy) · ones(x.shape); Mean's on onednn one broadcast.
      await agree(`sum ${axes} ${keepDims}`, [x], (a) => tf.sum(a, axes, keepDims), {
        forward: { Sum: "native" },
        backward: { Multiply: "native" },
      }, 1e-5);
      await agree(`mean ${axes} ${keepDims}`, [x], (a) => tf.mean(a, axes, keepDims), {
        forward: { Mean: "native" },
        backward: { [BROADCAST_KERNEL]: "native" },
      }, 1e-5);
    }
  }
  // Size-1 axes do not count: [1, 2] of [1, 8, 8, 64] is a leading block.
  await agree("mean 1,2 of [1, 8, 8, 64]", [_spec(rng, [1, 8, 8, 64])], (a) => tf.mean(a, [1, 2]), {
    forward: { Mean: "native" },
  }, 1e-5);
});

test("Sum and Mean on onednn over a middle block of axes run the JS loop, bit-identical to cpu, with gradients", async () => {
  const rng = new Rng(16);
  const x = _spec(rng, [4, 8, 16, 16]);
  const small = _spec(rng, [2, 3, 5, 4]);
  for (const axes of [[1, 2], [1], [2], [-3, -2]]) {
    for (const keepDims of [false, true]) {
      for (const input of [x, small]) {
        const what = `[${input.shape}] ${axes} ${keepDims}`;
        await sameBits(`sum ${what}`, [input], (a) => tf.sum(a, axes, keepDims), { Sum: "js" });
        await sameBits(`mean ${what}`, [input], (a) => tf.mean(a, axes, keepDims), { Mean: "js" });
      }
      await agree(`mean ${axes} ${keepDims}`, [x], (a) => tf.mean(a, axes, keepDims), {
        forward: { Mean: "js" },
        backward: { [BROADCAST_KERNEL]: "native" },
      }, 1e-5);
    }
  }
});

test("Sum on onednn over rows of a few classes, and int32 Sum, run the JS loop, bit-identical to cpu", async () => {
  const rng = new Rng(27);
  for (const c of [3, 7, 15]) {
    const x = _spec(rng, [8, 16, 16, c]); // ≥ NATIVE_MIN_SIZE values
    await sameBits(`sum [0, 1, 2] of [8, 16, 16, ${c}]`, [x], (a) => tf.sum(a, [0, 1, 2]), {
      Sum: "js",
    });
    await sameBits(`mean [0, 1, 2] of [8, 16, 16, ${c}]`, [x], (a) => tf.mean(a, [0, 1, 2]), {
      Mean: "js",
    });
  }
  // Class counts of one-hot labels (the cpu backend keeps oneHot's int32 data in a Float32Array),
  // and of an int32 tensor made by cast (an Int32Array).
  const labels = _spec(rng, [4, 16, 16]);
  await sameBits("sum of one-hot int32 labels", [labels], (a) => {
    const k = tf.cast(tf.mul(tf.abs(a), 3), "int32") as tf.Tensor3D;
    return tf.cast(tf.sum(tf.oneHot(k, 7), [0, 1, 2]), "float32");
  }, { Sum: "js" });
  await sameBits("sum of a cast int32 tensor, keepDims", [labels], (a) => {
    const k = tf.cast(tf.mul(a, 1000), "int32");
    return tf.cast(tf.sum(k, [0, 1], true), "float32");
  }, { Sum: "js" });
});

test("Exp and MaxPool on onednn run their JS loops, bit-identical to cpu (pads, strides, ties, NaN, ±0)", async () => {
  const rng = new Rng(28);
  const x = _spec(rng, [3, 9, 11, 5], 4);
  await sameBits("exp", [x], (a) => tf.exp(a), { Exp: "js" });
  for (const [k, stride, pad] of [[2, 2, "valid"], [3, 2, "same"], [3, 1, "same"], [2, 3, 1]]) {
    await sameBits(
      `max pool ${k}×${k}, stride ${stride}, pad ${pad}`,
      [x],
      (a) => tf.maxPool(a as tf.Tensor4D, k as number, stride as number, pad as "same"),
      { MaxPool: "js" },
    );
  }
  const odd: _Spec = {
    shape: [1, 2, 6, 1],
    // Windows: [+0, −0, −1, −2] (the first zero wins: +0), [NaN, 1, −∞, NaN], all NaN (−∞).
    values: new Float32Array([0, -0, NaN, 1, NaN, NaN, -1, -2, -Infinity, NaN, NaN, NaN]),
  };
  await sameBits("max pool with ±0, NaN, −∞", [odd], (a) => {
    // 1/y tells +0 from −0 (±∞); NaN stays NaN.
    return tf.div(1, tf.maxPool(a as tf.Tensor4D, 2, 2, "valid"));
  }, { MaxPool: "js" });
});

test("Sum and Mean on onednn over several blocks of axes fall back to the cpu kernels by design, and match cpu", async () => {
  const rng = new Rng(16);
  const x = _spec(rng, [4, 8, 16, 16]);
  for (const axes of [[0, 2], [1, 3], [0, 3]]) {
    for (const keepDims of [false, true]) {
      await agree(`sum ${axes} ${keepDims}`, [x], (a) => tf.sum(a, axes, keepDims), {
        forward: { Sum: "cpu" },
      }, 1e-5);
      // Mean's gradient (a broadcast back to x's shape) is native for every axis set.
      await agree(`mean ${axes} ${keepDims}`, [x], (a) => tf.mean(a, axes, keepDims), {
        forward: { Mean: "cpu" },
        backward: { [BROADCAST_KERNEL]: "native" },
      }, 1e-5);
    }
  }
});

test("batch norm on onednn runs natively and matches cpu, forward and backward", async () => {
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
  }, {
    // Moments: two means over N, H, W; the gradient's per-channel sums and Mean's broadcast.
    forward: { FusedBatchNorm: "native", Mean: "native", Square: "native" },
    backward: { Sum: "native", [BROADCAST_KERNEL]: "native" },
  }, 1e-4);
  const mean = _spec(rng, [16]);
  const variance: _Spec = { shape: [16], values: _spec(rng, [16]).values.map((v) => 0.5 + v * v) };
  await agree(
    "batch norm (given statistics)",
    [x, mean, variance, gamma, beta],
    (
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
      ),
    { forward: { FusedBatchNorm: "native" }, backward: { Sum: "native" } },
    1e-4,
  );
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
