import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import {
  _gradsOn,
  _initBackends,
  _make,
  _onBackend,
  _relError,
  type _Spec,
  _spec,
  type _TestBackend,
  _weightedSum,
} from "./_testing.ts";
import { registerWasmGradientKernels } from "./wasm_kernels.ts";

await _initBackends();

const TOL = 1e-4;

type Pad = "same" | "valid" | number | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

interface ConvCase {
  x: number[];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  format: "NHWC" | "NCHW";
  rounding?: "floor" | "ceil" | "round";
  dilations?: [number, number];
}

function label(c: ConvCase): string {
  return `x=[${c.x}] f=[${c.filter}] s=[${c.strides}] pad=${JSON.stringify(c.pad)} ` +
    `${c.format}${c.rounding ? " " + c.rounding : ""}${c.dilations ? ` d=[${c.dilations}]` : ""}`;
}

function convInfo(c: ConvCase) {
  return backend_util.computeConv2DInfo(
    c.x as [number, number, number, number],
    c.filter,
    c.strides,
    c.dilations ?? 1,
    c.pad,
    c.rounding,
    false,
    c.format === "NHWC" ? "channelsLast" : "channelsFirst",
  );
}

/** Both conv gradient kernels on one backend, called directly (any data format). */
async function runKernels(backend: _TestBackend, c: ConvCase, x: _Spec, dy: _Spec, w: _Spec) {
  return await _onBackend(backend, () => {
    const [xt, dyt, wt] = [_make(x), _make(dy), _make(w)];
    const common = {
      strides: c.strides,
      pad: c.pad,
      dataFormat: c.format,
      ...(c.rounding ? { dimRoundingMode: c.rounding } : {}),
    };
    const e = tf.engine();
    const dw = e.runKernel("Conv2DBackpropFilter", { x: xt, dy: dyt }, {
      ...common,
      filterShape: c.filter,
    }) as tf.Tensor;
    const dx = e.runKernel("Conv2DBackpropInput", { dy: dyt, filter: wt }, {
      ...common,
      inputShape: c.x,
    }) as tf.Tensor;
    const out = { dw: dw.dataSync(), dx: dx.dataSync(), dwShape: dw.shape, dxShape: dx.shape };
    tf.dispose([xt, dyt, wt, dw, dx]);
    return out;
  });
}

function randomConvCase(rng: Rng): ConvCase {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const kh = pick([1, 2, 3, 5]), kw = pick([1, 2, 3]);
  const strides = pick([[1, 1], [2, 2], [1, 2], [2, 1], [3, 3]] as [number, number][]);
  const h = kh + rng.int(8), w = kw + rng.int(8);
  const n = 1 + rng.int(3), cin = 1 + rng.int(5), cout = 1 + rng.int(6);
  const format = pick(["NHWC", "NHWC", "NCHW"] as const);
  const padKind = pick(["same", "valid", "number", "explicit"] as const);
  let pad: Pad = padKind === "number" ? rng.int(3) : padKind === "same" ? "same" : "valid";
  if (padKind === "explicit") {
    const [t, b, l, r] = [rng.int(3), rng.int(3), rng.int(3), rng.int(3)];
    pad = format === "NHWC" ? [[0, 0], [t, b], [l, r], [0, 0]] : [[0, 0], [0, 0], [t, b], [l, r]];
  }
  const rounding = padKind === "number" ? pick(["floor", "ceil", "round"] as const) : undefined;
  const x = format === "NHWC" ? [n, h, w, cin] : [n, cin, h, w];
  return { x, filter: [kh, kw, cin, cout], strides, pad, format, rounding };
}

Deno.test("registerWasmGradientKernels() registers its kernels and is idempotent", () => {
  registerWasmGradientKernels();
  registerWasmGradientKernels();
  for (const name of ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad"]) {
    assert.ok(tf.getKernel(name, "wasm"), name);
  }
});

Deno.test("MaxPoolGrad on wasm routes the gradient to negative maxima", async () => {
  // The stock wasm kernel sends it to -3 (the window's first element) and, with 'same'
  // padding, drops it when the window touches the padding.
  for (const backend of ["cpu", "wasm"] as _TestBackend[]) {
    await _onBackend(backend, () => {
      const x = tf.tensor4d([-3, -2, -1, -4], [1, 2, 2, 1]);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid")))(x);
      assert.deepEqual(Array.from(g.dataSync()), [0, 0, 1, 0], backend);
      const y = tf.tensor4d([-1, -2, -3, -4, -5, -6, -7, -8, -9], [1, 3, 3, 1]);
      const h = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "same")))(y);
      assert.deepEqual(Array.from(h.dataSync()), [1, 0, 1, 0, 0, 0, 1, 0, 1], backend);
      tf.dispose([x, g, y, h]);
    });
  }
});

Deno.test("Conv2DBackpropFilter/Input on wasm match cpu (random shapes, strides, pads)", async () => {
  const rng = new Rng(20240601);
  const fixed: ConvCase[] = [
    { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: "same", format: "NHWC" },
    { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: "same", format: "NHWC" },
    { x: [3, 9, 9, 2], filter: [3, 3, 2, 5], strides: [2, 2], pad: "valid", format: "NHWC" },
    { x: [1, 5, 6, 4], filter: [1, 1, 4, 3], strides: [2, 2], pad: "valid", format: "NHWC" },
    {
      x: [2, 7, 9, 3],
      filter: [3, 3, 3, 4],
      strides: [1, 1],
      pad: [[0, 0], [4, 2], [0, 3], [0, 0]], // padding larger than the filter
      format: "NHWC",
    },
    {
      x: [2, 8, 7, 3],
      filter: [3, 3, 3, 2],
      strides: [2, 2],
      pad: 1,
      format: "NHWC",
      rounding: "ceil",
    },
    { x: [2, 3, 7, 6], filter: [3, 2, 3, 4], strides: [2, 1], pad: "same", format: "NCHW" },
    {
      x: [2, 3, 3, 2],
      filter: [3, 3, 2, 3],
      strides: [2, 2],
      pad: [[0, 0], [5, 4], [4, 0], [0, 0]], // some outputs read only padding
      format: "NHWC",
    },
    { x: [1, 2, 9, 2], filter: [2, 5, 2, 2], strides: [3, 4], pad: "valid", format: "NHWC" },
  ];
  const cases = [...fixed, ...Array.from({ length: 40 }, () => randomConvCase(rng))];
  for (const c of cases) {
    const info = convInfo(c);
    if (info.outHeight <= 0 || info.outWidth <= 0) continue;
    const x = _spec(rng, c.x), w = _spec(rng, c.filter), dy = _spec(rng, info.outShape);
    const cpu = await runKernels("cpu", c, x, dy, w);
    const wasm = await runKernels("wasm", c, x, dy, w);
    assert.deepEqual(wasm.dwShape, cpu.dwShape, label(c));
    assert.deepEqual(wasm.dxShape, cpu.dxShape, label(c));
    const errW = _relError(wasm.dw, cpu.dw), errX = _relError(wasm.dx, cpu.dx);
    assert.ok(errW < TOL, `dW ${label(c)}: relative error ${errW}`);
    assert.ok(errX < TOL, `dx ${label(c)}: relative error ${errX}`);
  }
});

/** dW by the definition, in float64 (NHWC), for any strides and dilations. */
function naiveBackpropFilter(c: ConvCase, x: _Spec, dy: _Spec): Float64Array {
  const info = convInfo(c);
  const [n, h, w, cin] = c.x;
  const [kh, kw, , cout] = c.filter;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const out = new Float64Array(kh * kw * cin * cout);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let b = 0; b < n; b++) {
        for (let y = 0; y < oh; y++) {
          const r = y * sh + i * dh - top;
          if (r < 0 || r >= h) continue;
          for (let z = 0; z < ow; z++) {
            const s = z * sw + j * dw - left;
            if (s < 0 || s >= w) continue;
            for (let ci = 0; ci < cin; ci++) {
              const xv = x.values[((b * h + r) * w + s) * cin + ci];
              for (let co = 0; co < cout; co++) {
                out[((i * kw + j) * cin + ci) * cout + co] += xv *
                  dy.values[((b * oh + y) * ow + z) * cout + co];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

Deno.test("Conv2DBackpropFilter on wasm supports dilations, also with strides > 1", async () => {
  // TF.js's conv2d gradient rejects dilations > 1 before any kernel runs, so this kernel
  // option is reachable only through runKernel; checked against the definition.
  const rng = new Rng(7);
  const cases: ConvCase[] = [
    { x: [2, 9, 10, 3], filter: [3, 3, 3, 2], strides: [1, 1], pad: "same", format: "NHWC" },
    { x: [2, 11, 9, 2], filter: [3, 2, 2, 3], strides: [2, 2], pad: "valid", format: "NHWC" },
    { x: [1, 12, 11, 2], filter: [2, 3, 2, 2], strides: [2, 1], pad: "same", format: "NHWC" },
    {
      x: [2, 10, 10, 2],
      filter: [3, 3, 2, 2],
      strides: [3, 2],
      pad: [[0, 0], [1, 2], [2, 0], [0, 0]],
      format: "NHWC",
    },
  ];
  const dilations: [number, number][] = [[2, 2], [2, 2], [1, 3], [2, 3]];
  for (const [k, c0] of cases.entries()) {
    const c = { ...c0, dilations: dilations[k] };
    const info = convInfo(c);
    const x = _spec(rng, c.x), dy = _spec(rng, info.outShape);
    const expected = naiveBackpropFilter(c, x, dy);
    const actual = await _onBackend("wasm", () => {
      const [xt, dyt] = [_make(x), _make(dy)];
      const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x: xt, dy: dyt }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: "NHWC",
        dilations: c.dilations,
        filterShape: c.filter,
      }) as tf.Tensor;
      const v = dw.dataSync();
      tf.dispose([xt, dyt, dw]);
      return v;
    });
    const err = _relError(actual, expected);
    assert.ok(err < TOL, `${label(c)}: relative error ${err}`);
  }
});

Deno.test("composed wasm conv kernels free all their intermediates", async () => {
  const rng = new Rng(3);
  const c: ConvCase = {
    x: [2, 9, 8, 3],
    filter: [3, 3, 3, 4],
    strides: [2, 2],
    pad: "same",
    format: "NHWC",
  };
  const cf: ConvCase = { ...c, format: "NCHW", x: [2, 3, 9, 8] };
  const x = _spec(rng, c.x), w = _spec(rng, c.filter), dy = _spec(rng, convInfo(c).outShape);
  const xf = _spec(rng, cf.x), dyf = _spec(rng, convInfo(cf).outShape);
  await runKernels("wasm", c, x, dy, w); // warm-up
  await tf.setBackend("wasm");
  const before = tf.engine().backend.numDataIds();
  const tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    await runKernels("wasm", c, x, dy, w);
    await runKernels("wasm", cf, xf, dyf, w);
  }
  await tf.setBackend("wasm");
  assert.equal(tf.engine().backend.numDataIds(), before);
  assert.equal(tf.memory().numTensors, tensorsBefore);
});

interface OpCase {
  name: string;
  inputs: number[][];
  /** Returns the op's output; the test loss is a seeded weighted sum of it. */
  f: (...xs: tf.Tensor[]) => tf.Tensor;
}

const t4 = (t: tf.Tensor) => t as tf.Tensor4D;
const positive = (t: tf.Tensor) => tf.add(tf.square(t), 0.5);

const OPS: OpCase[] = [
  {
    name: "conv2d stride 1 same",
    inputs: [[2, 9, 7, 3], [3, 3, 3, 4]],
    f: (x, w) => tf.conv2d(t4(x), t4(w), 1, "same"),
  },
  {
    name: "conv2d stride 2 same",
    inputs: [[3, 9, 8, 3], [3, 3, 3, 5]],
    f: (x, w) => tf.conv2d(t4(x), t4(w), 2, "same"),
  },
  {
    name: "conv2d stride 2 valid",
    inputs: [[2, 9, 9, 2], [3, 3, 2, 4]],
    f: (x, w) => tf.conv2d(t4(x), t4(w), 2, "valid"),
  },
  {
    name: "conv2d 1x1 valid",
    inputs: [[2, 5, 5, 4], [1, 1, 4, 3]],
    f: (x, w) => tf.conv2d(t4(x), t4(w), 1, "valid"),
  },
  {
    name: "conv2d stride 2 explicit pad",
    inputs: [[2, 8, 7, 3], [3, 3, 3, 2]],
    f: (x, w) => tf.conv2d(t4(x), t4(w), 2, [[0, 0], [1, 0], [0, 2], [0, 0]]),
  },
  {
    name: "fused conv2d + bias + relu",
    inputs: [[2, 6, 6, 3], [3, 3, 3, 4], [4]],
    f: (x, w, b) =>
      tf.fused.conv2d({
        x: t4(x),
        filter: t4(w),
        strides: 1,
        pad: "same",
        bias: b,
        activation: "relu",
      }),
  },
  {
    name: "conv2dTranspose stride 2 same",
    inputs: [[2, 4, 5, 3], [3, 3, 4, 3]],
    f: (x, w) => tf.conv2dTranspose(t4(x), t4(w), [2, 8, 10, 4], 2, "same"),
  },
  {
    name: "conv2dTranspose stride 2 valid",
    inputs: [[2, 4, 5, 3], [3, 3, 4, 3]],
    f: (x, w) => tf.conv2dTranspose(t4(x), t4(w), [2, 9, 11, 4], 2, "valid"),
  },
  {
    name: "conv2dTranspose 2x2 stride 2",
    inputs: [[1, 3, 4, 4], [2, 2, 2, 4]],
    f: (x, w) => tf.conv2dTranspose(t4(x), t4(w), [1, 6, 8, 2], 2, "same"),
  },
  {
    name: "batchNorm training (moments)",
    inputs: [[4, 5, 5, 3], [3], [3]],
    f: (x, g, b) => {
      const m = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, m.mean, m.variance, b, g, 1e-3);
    },
  },
  {
    name: "batchNorm inference (running stats)",
    inputs: [[3, 4, 4, 3], [3], [3], [3], [3]],
    f: (x, mean, v, g, b) => tf.batchNorm(x, mean, positive(v), b, g, 1e-3),
  },
  { name: "prelu", inputs: [[2, 4, 4, 3], [3]], f: (x, a) => tf.prelu(x, a) },
  { name: "relu", inputs: [[2, 3, 4, 5]], f: (x) => tf.relu(x) },
  { name: "tanh", inputs: [[2, 3, 4, 5]], f: (x) => tf.tanh(x) },
  { name: "sigmoid", inputs: [[2, 3, 4, 5]], f: (x) => tf.sigmoid(x) },
  { name: "abs", inputs: [[2, 3, 4, 5]], f: (x) => tf.abs(x) },
  { name: "square", inputs: [[2, 3, 4, 5]], f: (x) => tf.square(x) },
  { name: "add (broadcast)", inputs: [[2, 3, 4, 5], [5]], f: (a, b) => tf.add(a, b) },
  { name: "sub (broadcast)", inputs: [[2, 3, 4, 5], [4, 1]], f: (a, b) => tf.sub(a, b) },
  { name: "mul (broadcast)", inputs: [[2, 3, 4, 5], [3, 1, 5]], f: (a, b) => tf.mul(a, b) },
  {
    name: "div (broadcast)",
    inputs: [[2, 3, 4, 5], [1, 4, 5]],
    f: (a, b) => tf.div(a, positive(b)),
  },
  { name: "mean over [1, 2]", inputs: [[3, 4, 5, 6]], f: (x) => tf.mean(x, [1, 2]) },
  { name: "sum over axis 1", inputs: [[3, 4, 5]], f: (x) => tf.sum(x, 1) },
  { name: "matMul", inputs: [[4, 6], [6, 3]], f: (a, b) => tf.matMul(a, b) },
  {
    name: "matMul transposed",
    inputs: [[6, 4], [3, 6]],
    f: (a, b) => tf.matMul(a, b, true, true),
  },
  { name: "logSoftmax", inputs: [[4, 7]], f: (x) => tf.logSoftmax(x) },
  { name: "softmax", inputs: [[4, 7]], f: (x) => tf.softmax(x) },
  {
    name: "softmaxCrossEntropy with oneHot labels",
    inputs: [[4, 5]],
    f: (x) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 3, 4, 1], "int32"), 5), x),
  },
  {
    name: "pad",
    inputs: [[2, 3, 4, 2]],
    f: (x) => tf.pad(x, [[0, 0], [1, 2], [2, 0], [0, 0]]),
  },
  {
    name: "transpose + reshape",
    inputs: [[2, 3, 4, 5]],
    f: (x) => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [8, 15]),
  },
  {
    name: "slice",
    inputs: [[3, 6, 7, 2]],
    f: (x) => tf.slice(x, [1, 1, 2, 0], [2, 4, 3, 2]),
  },
  {
    name: "concat axis 3",
    inputs: [[2, 3, 4, 2], [2, 3, 4, 3]],
    f: (a, b) => tf.concat([a, b], 3),
  },
  {
    name: "concat axis 1",
    inputs: [[2, 3, 4, 2], [2, 1, 4, 2]],
    f: (a, b) => tf.concat([a, b], 1),
  },
  { name: "clipByValue", inputs: [[2, 3, 4, 5]], f: (x) => tf.clipByValue(x, -0.5, 0.7) },
  { name: "avgPool 2x2/2", inputs: [[2, 8, 6, 3]], f: (x) => tf.avgPool(t4(x), 2, 2, "valid") },
  { name: "avgPool 3x3/1 same", inputs: [[2, 5, 6, 3]], f: (x) => tf.avgPool(t4(x), 3, 1, "same") },
  { name: "avgPool 2x2/2 same", inputs: [[2, 7, 5, 3]], f: (x) => tf.avgPool(t4(x), 2, 2, "same") },
  { name: "maxPool 2x2/2", inputs: [[2, 8, 6, 3]], f: (x) => tf.maxPool(t4(x), 2, 2, "valid") },
  { name: "maxPool 2x2/2 same", inputs: [[2, 7, 5, 3]], f: (x) => tf.maxPool(t4(x), 2, 2, "same") },
  { name: "maxPool 3x3/2 same", inputs: [[2, 9, 8, 4]], f: (x) => tf.maxPool(t4(x), 3, 2, "same") },
  {
    name: "maxPool 3x3/1 valid after relu (ties at 0)",
    inputs: [[1, 6, 6, 2]],
    f: (x) => tf.maxPool(t4(tf.relu(x)), 3, 1, "valid"),
  },
  {
    name: "resizeBilinear",
    inputs: [[2, 4, 5, 3]],
    f: (x) => tf.image.resizeBilinear(t4(x), [8, 10]),
  },
  {
    name: "resizeBilinear half-pixel centers",
    inputs: [[2, 4, 5, 3]],
    f: (x) => tf.image.resizeBilinear(t4(x), [8, 10], false, true),
  },
  {
    name: "resizeBilinear align corners",
    inputs: [[2, 4, 5, 3]],
    f: (x) => tf.image.resizeBilinear(t4(x), [7, 9], true),
  },
  {
    name: "resizeNearestNeighbor",
    inputs: [[2, 4, 5, 3]],
    f: (x) => tf.image.resizeNearestNeighbor(t4(x), [8, 10]),
  },
  {
    name: "where + greater",
    inputs: [[2, 3, 4], [2, 3, 4]],
    f: (a, b) => tf.where(tf.greater(a, b), tf.mul(a, 2), tf.square(b)),
  },
  {
    name: "sqrt, exp, log, maximum, squaredDifference",
    inputs: [[3, 5], [3, 5]],
    f: (a, b) =>
      tf.add(
        tf.sqrt(positive(a)),
        tf.add(tf.log(positive(b)), tf.maximum(tf.exp(a), tf.squaredDifference(a, b))),
      ),
  },
];

Deno.test("gradients of the models' ops on wasm match cpu", async () => {
  const rng = new Rng(11);
  for (const [k, op] of OPS.entries()) {
    const inputs = op.inputs.map((s) => _spec(rng, s));
    const loss = (...xs: tf.Tensor[]) => _weightedSum(op.f(...xs), 1000 + k);
    const cpu = await _gradsOn("cpu", inputs, loss);
    const wasm = await _gradsOn("wasm", inputs, loss);
    assert.ok(
      _relError([wasm.value], [cpu.value]) < TOL,
      `${op.name}: loss ${wasm.value} vs ${cpu.value}`,
    );
    for (const [i, g] of cpu.grads.entries()) {
      const err = _relError(wasm.grads[i], g);
      assert.ok(err < TOL, `${op.name}: gradient of input ${i}, relative error ${err}`);
    }
  }
});

/** conv(3×3) → batchNorm (batch stats) → relu → conv(3×3, stride 2) + bias → mean. */
function smallNet(x: tf.Tensor4D, v: tf.Variable[]): tf.Scalar {
  const [w1, gamma, beta, w2, b2] = v;
  let h: tf.Tensor = tf.conv2d(x, w1 as tf.Tensor4D, 1, "same");
  const m = tf.moments(h, [0, 1, 2]);
  h = tf.relu(tf.batchNorm(h, m.mean, m.variance, beta, gamma, 1e-3));
  h = tf.add(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 2, "same"), b2);
  return _weightedSum(tf.mean(h, [1, 2]), 99);
}

Deno.test("a small conv net has the same variable gradients on wasm and cpu, without leaks", async () => {
  const rng = new Rng(5);
  const x = _spec(rng, [3, 9, 9, 3]);
  const params = [
    _spec(rng, [3, 3, 3, 8], 0.3),
    _spec(rng, [8]),
    _spec(rng, [8]),
    _spec(rng, [3, 3, 8, 4], 0.3),
    _spec(rng, [4]),
  ];
  const run = (backend: _TestBackend, repeats: number) =>
    _onBackend(backend, () => {
      const xt = _make(x) as tf.Tensor4D;
      const vars = params.map((p) => tf.variable(_make(p)));
      const counts: number[] = [];
      const ids: number[] = [];
      let grads: Float32Array[] = [];
      for (let r = 0; r < repeats; r++) {
        const { value, grads: named } = tf.variableGrads(() => smallNet(xt, vars), vars);
        grads = vars.map((v) => named[v.name].dataSync() as Float32Array);
        tf.dispose([value, ...Object.values(named)]);
        counts.push(tf.memory().numTensors);
        ids.push(tf.engine().backend.numDataIds());
      }
      tf.dispose([xt, ...vars]);
      return { grads, counts, ids };
    });
  const cpu = await run("cpu", 1);
  const wasm = await run("wasm", 4);
  for (const [i, g] of cpu.grads.entries()) {
    const err = _relError(wasm.grads[i], g);
    assert.ok(err < TOL, `variable ${i}: relative error ${err}`);
  }
  assert.ok(wasm.counts.every((c) => c === wasm.counts[0]), `tensor counts ${wasm.counts}`);
  assert.ok(wasm.ids.every((c) => c === wasm.ids[0]), `wasm data ids ${wasm.ids}`);
});
