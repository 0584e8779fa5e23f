/**
 * Gradient kernels for the TF.js `wasm` backend (4.22), built from kernels it has.
 *
 * - `Conv2DBackpropFilter` (missing on wasm, so conv nets could not train): one forward
 *   `Conv2D` (XNNPACK) of the input transposed to `[C, H, W, N]` with `dy` transposed to
 *   `[Ho, Wo, N, O]` as its filter, strides and dilations swapped. Any strides, paddings
 *   ('same', 'valid', a number, explicit), dimRoundingMode, NHWC and NCHW; also dilations
 *   (an attribute TF.js never passes: its conv2d gradient rejects dilations > 1), including
 *   strides and dilations > 1 together, which XNNPACK handles although the `tf.conv2d` op
 *   forbids it.
 * - `Conv2DBackpropInput` (replaced; also the forward pass of `tf.conv2dTranspose`): one
 *   stride-1 forward `Conv2D` per polyphase component (s_h·s_w of them) of the flipped,
 *   channel-swapped filter, interleaved. Same multiply-adds as the forward convolution;
 *   the stock kernel is a naive loop.
 * - `MaxPoolGrad` (replaced): the stock kernel is wrong when a window's maximum is negative.
 *
 * The other kernels that the models' forward and backward passes use all exist on wasm and
 * agree with the cpu backend (`wasm_kernels_test.ts`), except the resize gradients, fixed for
 * both backends in `resize_grad_kernels.ts`. Still missing on wasm (not used by the models):
 * `DepthwiseConv2dNativeBackpropFilter/Input` (depthwise conv gradients) and
 * `UnsortedSegmentSum` (the gradient of `tf.gather`).
 *
 * Median ms on this machine (2 cores, wasm SIMD, 1 thread; `_bench_conv.ts`, least loaded
 * of three runs; the machine was shared, so ±20%), 64→64 channels, 3×3, 'same', batch 8:
 *
 * | 8×64×64×64 input           | stride 1 | stride 2 |
 * | -------------------------- | -------- | -------- |
 * | forward `Conv2D`           |       66 |     16.6 |
 * | backprop-input, composed   |       67 |     25.4 |
 * | backprop-input, stock wasm |      846 |      220 |
 * | backprop-filter, composed  |      134 |       39 |
 * | `tf.grads` of conv2d (all) |      298 |       83 |
 *
 * Backprop-filter costs about twice the forward convolution: XNNPACK must pack `dy` (as
 * large as the activations) as a filter on every call, and its GEMM has only kh·kw = 9
 * output rows per batch element. Slower alternatives tried: per-tap MatMuls (each packs its
 * operand anew), folding the width into the channels (3 convolutions), one convolution
 * with the three width taps stacked in the filter (packing a 3× larger filter).
 *
 * @module
 */

import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type DataId,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from "@tensorflow/tfjs-core";
// The wasm backend's own kernels, which the kernels here are built from.
import "@tensorflow/tfjs-backend-wasm";
import { maxPoolGradInfo, maxPoolGradInto } from "./_max_pool_grad.ts";

type _Pad = Conv2DBackpropFilterAttrs["pad"];
type _Rounding = Conv2DBackpropFilterAttrs["dimRoundingMode"];
type _Shape4 = [number, number, number, number];

/** The part of the wasm backend that composed kernels need. */
interface _Backend {
  disposeData(dataId: DataId, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * Runs wasm kernels directly (not through the engine) and frees every intermediate it made.
 * Every wasm kernel output owns one reference to its data (a `Reshape` output shares the data
 * of its input and increments its count), so freeing each intermediate once is exact.
 */
class _Scope {
  readonly #backend: _Backend;
  readonly #owned: TensorInfo[] = [];

  constructor(backend: _Backend) {
    this.#backend = backend;
  }

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, "wasm");
    if (kernel === undefined) {
      throw new Error(`Expected kernel '${kernelName}' on the wasm backend but found none`);
    }
    const out = kernel.kernelFunc({ inputs, backend: this.#backend, attrs }) as TensorInfo;
    this.#owned.push(out);
    return out;
  }

  /**
   * Removes `t` from the intermediates so that it survives `dispose()`. If `t` is not an
   * intermediate (it is a kernel input), returns a new reference to its data instead.
   */
  keep(t: TensorInfo): TensorInfo {
    const i = this.#owned.indexOf(t);
    if (i < 0) return this.keep(this.run("Identity", { x: t }));
    this.#owned.splice(i, 1);
    return t;
  }

  dispose(): void {
    for (const t of this.#owned) this.#backend.disposeData(t.dataId);
    this.#owned.length = 0;
  }
}

function _withScope(backend: unknown, body: (s: _Scope) => TensorInfo): TensorInfo {
  const s = new _Scope(backend as _Backend);
  try {
    return s.keep(body(s));
  } finally {
    s.dispose();
  }
}

function _pair(v: number | [number, number] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

function _zeros(s: _Scope, shape: number[]): TensorInfo {
  return s.run("Fill", {}, { shape, value: 0, dtype: "float32" });
}

/** NCHW → NHWC shape of a 4-D shape. */
function _toNhwcShape(shape: readonly number[]): _Shape4 {
  return [shape[0], shape[2], shape[3], shape[1]];
}

/**
 * Slices `keepH` rows from `beginH` along `axisH` and `keepW` columns from `beginW` along
 * `axisW` of a 4-D tensor; returns `t` itself if that is all of it.
 */
function _cropFront(
  s: _Scope,
  t: TensorInfo,
  axisH: number,
  keepH: number,
  axisW: number,
  keepW: number,
  beginH = 0,
  beginW = 0,
): TensorInfo {
  if (beginH === 0 && beginW === 0 && keepH === t.shape[axisH] && keepW === t.shape[axisW]) {
    return t;
  }
  const begin = t.shape.map(() => 0);
  const size = t.shape.slice();
  begin[axisH] = beginH;
  begin[axisW] = beginW;
  size[axisH] = keepH;
  size[axisW] = keepW;
  return s.run("Slice", { x: t }, { begin, size });
}

/**
 * dW of an NHWC convolution as one forward convolution:
 * `dW[i,j,c,o] = Σ_{n,y,x} xp[n, y·s + i·d, x·s + j·d, c] · dy[n,y,x,o]`
 * is a valid convolution of `xp` transposed to `[C, H, W, N]` (batch = input channel,
 * channels = batch) with `dy` transposed to `[Ho, Wo, N, O]` as the filter, stride `d`
 * and dilation `s` (the roles swap). The result `[C, kh, kw, O]` is transposed to
 * `[kh, kw, C, O]`.
 */
function _backpropFilterNhwc(
  s: _Scope,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: _Shape4,
  strides: [number, number],
  dilations: [number, number],
  pad: _Pad,
  rounding: _Rounding,
): TensorInfo {
  const info = backend_util.computeConv2DInfo(
    x.shape as _Shape4,
    filterShape,
    strides,
    dilations,
    pad,
    rounding,
    false,
    "channelsLast",
  );
  const [, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  if (outH !== info.outHeight || outW !== info.outWidth) {
    throw new Error(
      `Expected dy of spatial size ${info.outHeight}x${info.outWidth} but found ${outH}x${outW}`,
    );
  }
  const [kh, kw] = filterShape;
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const { top, left } = info.padInfo;
  // Input rows read by the convolution, counted in padded coordinates.
  const needH = (outH - 1) * sh + (kh - 1) * dh + 1;
  const needW = (outW - 1) * sw + (kw - 1) * dw + 1;
  const keepH = Math.min(inH, needH - top);
  const keepW = Math.min(inW, needW - left);
  if (keepH <= 0 || keepW <= 0 || outH === 0 || outW === 0) return _zeros(s, filterShape);
  const xt = s.run("Transpose", { x }, { perm: [3, 1, 2, 0] }); // [C, H, W, N]
  const xc = _cropFront(s, xt, 1, keepH, 2, keepW);
  const f = s.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, O]
  const conv = s.run("Conv2D", { x: xc, filter: f }, {
    strides: [dh, dw],
    dilations: [sh, sw],
    pad: [[0, 0], [top, needH - top - keepH], [left, needW - left - keepW], [0, 0]],
    dataFormat: "NHWC",
  }); // [C, kh, kw, O]
  return s.run("Transpose", { x: conv }, { perm: [1, 2, 0, 3] });
}

/**
 * A stride-1, dilation-1 convolution whose explicit paddings may be negative (a negative
 * padding crops the input instead).
 */
function _convSignedPad(
  s: _Scope,
  x: TensorInfo,
  filter: TensorInfo,
  padTop: number,
  padBottom: number,
  padLeft: number,
  padRight: number,
): TensorInfo {
  const [n, h, w] = x.shape;
  const [fh, fw, , outC] = filter.shape;
  const cropTop = Math.max(0, -padTop), cropLeft = Math.max(0, -padLeft);
  const keepH = h - cropTop - Math.max(0, -padBottom);
  const keepW = w - cropLeft - Math.max(0, -padRight);
  if (keepH <= 0 || keepW <= 0) {
    // Only padding is read: the result is zero.
    const outH = h + padTop + padBottom - fh + 1, outW = w + padLeft + padRight - fw + 1;
    return _zeros(s, [n, outH, outW, outC]);
  }
  const xc = _cropFront(s, x, 1, keepH, 2, keepW, cropTop, cropLeft);
  return s.run("Conv2D", { x: xc, filter }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [Math.max(0, padTop), Math.max(0, padBottom)],
      [Math.max(0, padLeft), Math.max(0, padRight)],
      [0, 0],
    ],
    dataFormat: "NHWC",
  });
}

/** Taps of one polyphase component along one axis: `i = phase + stride·t`, t < count. */
interface _Phase {
  /** Filter index of the first tap. */
  phase: number;
  /** Number of taps (0 if the component is empty). */
  count: number;
  /** dx row `stride·u + r` reads dy rows `u + offset − t`. */
  offset: number;
}

function _phase(r: number, stride: number, pad: number, k: number): _Phase {
  const phase = (((r + pad) % stride) + stride) % stride;
  const count = phase < k ? Math.ceil((k - phase) / stride) : 0;
  return { phase, count, offset: (r + pad - phase) / stride };
}

/**
 * dx of an NHWC convolution (dilation 1) as forward convolutions, one per polyphase
 * component. With `y + pad = s·m + p`, only filter taps `i = p + s·t` reach dx row `y`:
 * `dx[y] = Σ_t dy[m − t] · W[p + s·t]`, a stride-1 convolution of `dy` with the sub-filter
 * `W[p :: s]` flipped and with its in/out channels swapped. The s_h·s_w components (one for
 * stride 1) are interleaved into dx. Multiply-adds equal those of the forward convolution;
 * dilating dy with zeros instead would cost s_h·s_w times more.
 */
function _backpropInputNhwc(
  s: _Scope,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: _Shape4,
  strides: [number, number],
  pad: _Pad,
  rounding: _Rounding,
): TensorInfo {
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as _Shape4,
    strides,
    1,
    pad,
    rounding,
    false,
    "channelsLast",
  );
  const [n, inH, inW, inC] = inputShape;
  const [, outH, outW] = dy.shape;
  if (outH !== info.outHeight || outW !== info.outWidth) {
    throw new Error(
      `Expected dy of spatial size ${info.outHeight}x${info.outWidth} but found ${outH}x${outW}`,
    );
  }
  const [kh, kw] = filter.shape;
  const [sh, sw] = strides;
  const rowsU = Math.ceil(inH / sh), colsV = Math.ceil(inW / sw);
  // Flip the filter and swap its channels once: [kh, kw, C, O] -> [kh, kw, O, C].
  const flipped = s.run("Reverse", { x: filter }, { dims: [0, 1] });
  const wf = s.run("Transpose", { x: flipped }, { perm: [0, 1, 3, 2] });
  const component = (ry: number, rx: number): TensorInfo => {
    const py = _phase(ry, sh, info.padInfo.top, kh);
    const px = _phase(rx, sw, info.padInfo.left, kw);
    if (py.count === 0 || px.count === 0) return _zeros(s, [n, rowsU, colsV, inC]);
    // In the flipped filter, taps p + s·t (t = count−1 … 0) start at row k − 1 − p − s·(count−1).
    let sub = wf;
    if (sh > 1 || sw > 1) {
      const y0 = kh - 1 - py.phase - sh * (py.count - 1);
      const x0 = kw - 1 - px.phase - sw * (px.count - 1);
      sub = s.run("StridedSlice", { x: wf }, {
        begin: [y0, x0, 0, 0],
        end: [y0 + sh * (py.count - 1) + 1, x0 + sw * (px.count - 1) + 1, wf.shape[2], wf.shape[3]],
        strides: [sh, sw, 1, 1],
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      });
    }
    // Output row u must read dy rows u + offset − (count − 1) … u + offset.
    const top = py.count - 1 - py.offset, left = px.count - 1 - px.offset;
    return _convSignedPad(
      s,
      dy,
      sub,
      top,
      rowsU - 1 + py.offset - (outH - 1),
      left,
      colsV - 1 + px.offset - (outW - 1),
    );
  };
  if (sh === 1 && sw === 1) return component(0, 0);
  const rows: TensorInfo[] = [];
  for (let ry = 0; ry < sh; ry++) {
    const cols: TensorInfo[] = [];
    for (let rx = 0; rx < sw; rx++) {
      cols.push(
        s.run("Reshape", { x: component(ry, rx) }, { shape: [n, rowsU, 1, colsV, 1, inC] }),
      );
    }
    rows.push(
      sw > 1 ? s.run("Concat", cols as unknown as NamedTensorInfoMap, { axis: 4 }) : cols[0],
    );
  }
  const grid = sh > 1
    ? s.run("Concat", rows as unknown as NamedTensorInfoMap, { axis: 2 })
    : rows[0];
  const dx = s.run("Reshape", { x: grid }, { shape: [n, rowsU * sh, colsV * sw, inC] });
  return _cropFront(s, dx, 1, inH, 2, inW);
}

const _conv2dBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs & {
    dilations?: number | [number, number];
  };
  const strides = _pair(a.strides);
  const dilations = _pair(a.dilations);
  return _withScope(backend, (s) => {
    if (a.dataFormat === "NCHW") {
      const [kh, kw, c, o] = a.filterShape;
      const xn = s.run("Transpose", { x }, { perm: [0, 2, 3, 1] });
      const dyn = s.run("Transpose", { x: dy }, { perm: [0, 2, 3, 1] });
      const pad = _padToNhwc(a.pad);
      return _backpropFilterNhwc(
        s,
        xn,
        dyn,
        [kh, kw, c, o],
        strides,
        dilations,
        pad,
        a.dimRoundingMode,
      );
    }
    return _backpropFilterNhwc(
      s,
      x,
      dy,
      a.filterShape,
      strides,
      dilations,
      a.pad,
      a.dimRoundingMode,
    );
  });
};

function _padToNhwc(pad: _Pad): _Pad {
  if (!Array.isArray(pad)) return pad;
  return [pad[0], pad[2], pad[3], pad[1]];
}

let _stockBackpropInput: KernelConfig | undefined;

const _conv2dBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const strides = _pair(a.strides);
  return _withScope(backend, (s) => {
    if (a.dataFormat === "NCHW") {
      const dyn = s.run("Transpose", { x: dy }, { perm: [0, 2, 3, 1] });
      const dx = _backpropInputNhwc(
        s,
        dyn,
        filter,
        _toNhwcShape(a.inputShape),
        strides,
        _padToNhwc(a.pad),
        a.dimRoundingMode,
      );
      return s.run("Transpose", { x: dx }, { perm: [0, 3, 1, 2] });
    }
    return _backpropInputNhwc(s, dy, filter, a.inputShape, strides, a.pad, a.dimRoundingMode);
  });
};

/**
 * `MaxPoolGrad` in plain JS on the wasm heap. The stock wasm kernel is wrong whenever the
 * maximum of a window is negative (it routes the gradient to the window's first element, or
 * to nothing when the window touches padding), e.g. `[-3, -2, -1, -4]` in a 2×2 window gets
 * its gradient at -3. This one follows the cpu kernel exactly: the first maximum of the
 * window's valid (unpadded) pixels, in row-major order, receives the gradient; gradients of
 * overlapping windows add up in a double, as the cpu kernel's do, bit for bit (the loop of
 * `_max_pool_grad.ts`, shared with the onednn backend).
 */
const _maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const info = maxPoolGradInfo(input.shape, attrs as unknown as MaxPoolGradAttrs);
  if (input.dtype !== "float32" || dy.dtype !== "float32") {
    throw new TypeError(
      `Expected float32 MaxPoolGrad inputs but found ${input.dtype}, ${dy.dtype}`,
    );
  }
  const b = backend as _Backend;
  const out = b.makeOutput(input.shape, "float32");
  // Views last: allocating (makeOutput) may grow the wasm memory and detach older views.
  const x = b.typedArrayFromHeap(input);
  const g = b.typedArrayFromHeap(dy);
  maxPoolGradInto(info, x, g, b.typedArrayFromHeap(out));
  return out;
};

let _registered = false;

/**
 * Registers, for the `wasm` backend, the kernels of this module (see the module doc):
 * `Conv2DBackpropFilter` (missing), and `Conv2DBackpropInput` and `MaxPoolGrad` (replaced).
 * Safe to call more than once, before or after the wasm backend is initialised.
 *
 * @example
 * ```ts
 * import { registerWasmGradientKernels } from "./wasm_kernels.ts";
 * registerWasmGradientKernels();
 * registerWasmGradientKernels(); // a no-op
 * ```
 */
export function registerWasmGradientKernels(): void {
  if (_registered) return;
  const stock = getKernel("Conv2DBackpropInput", "wasm");
  if (stock === undefined) {
    throw new Error(
      "Expected the wasm backend's kernels to be registered (import " +
        '"@tensorflow/tfjs-backend-wasm") but found no Conv2DBackpropInput for wasm',
    );
  }
  _stockBackpropInput = stock;
  unregisterKernel("Conv2DBackpropInput", "wasm");
  registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: _conv2dBackpropInput,
    // The stock kernel binds its wasm function in setupFunc; keep it usable (benchmarks).
    setupFunc: stock.setupFunc,
  });
  const stockMaxPoolGrad = getKernel("MaxPoolGrad", "wasm");
  if (stockMaxPoolGrad !== undefined) unregisterKernel("MaxPoolGrad", "wasm");
  registerKernel({
    kernelName: "MaxPoolGrad",
    backendName: "wasm",
    kernelFunc: _maxPoolGrad,
  });
  if (getKernel("Conv2DBackpropFilter", "wasm") === undefined) {
    registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "wasm",
      kernelFunc: _conv2dBackpropFilter,
    });
  }
  _registered = true;
}

/** The stock wasm `Conv2DBackpropInput` (for benchmarks and tests). @internal */
export function _stockConv2dBackpropInput(): KernelConfig | undefined {
  return _stockBackpropInput;
}
