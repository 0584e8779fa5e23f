/**
 * The replacement kernels of the onednn backend: TF.js kernel functions over the cpu
 * backend's typed arrays. The native ones call oneDNN (`_dnnl.ts`), some with a plain-JS loop
 * for the cases where an FFI call costs more than the work or oneDNN does not apply (binary
 * ops, reductions, the ReLU and tanh gradients); five (`MaxPoolGrad`, `SplitV`, `Concat`,
 * `SquaredDifference`, `Softmax`) are plain-JS loops that beat the cpu kernels without oneDNN.
 * Each falls back to the cpu kernel for the cases it does not cover (other dtypes, NCHW, small
 * tensors for the unary kernels, broadcasts in more than one block, reductions over several
 * blocks of axes).
 *
 * Every call is counted by how it ran (`nativeCallCounts`): an integer increment per call,
 * so that tests can assert that a kernel they call native ran oneDNN and did not fall back.
 *
 * Internal to the onednn backend.
 *
 * @module
 */

import {
  backend_util,
  type ClipByValueAttrs,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type DepthwiseConv2dNativeAttrs,
  type FusedConv2DAttrs,
  type GatherV2Attrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolAttrs,
  type MaxPoolGradAttrs,
  type SoftmaxAttrs,
  type SumAttrs,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { maxPoolGradInfo, maxPoolGradInto, maxPoolPositions } from "../_max_pool_grad.ts";
import { _OnednnBackend } from "./_backend.ts";
import {
  narrowConvBackwardWeights,
  narrowConvForward,
  narrowOutputConv,
  type NarrowScratch,
  swappedFilterGradient,
} from "./_narrow_conv.ts";
import {
  batchNormForward,
  batchNormTrainBackward,
  batchNormTrainForward,
  binary,
  type BinaryAlg,
  convBackwardData,
  convBackwardWeights,
  convForward,
  type ConvGeometry,
  eltwise,
  type EltwiseAlg,
  type F32,
  preluBackward,
  preluForward,
  reluBackward,
  reluForward,
  sumMatrix,
  tanhBackward,
} from "./_dnnl.ts";
import {
  BATCH_NORM_TRAIN_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  RUNNING_STATISTICS_KERNEL,
} from "./batch_norm_train.ts";

/** Below this many elements, element-wise work stays in JS (an FFI call costs ~5 µs). */
export const NATIVE_MIN_SIZE = 4096;

/** The name of the fused ReLU-gradient kernel (onednn backend only). */
export const RELU_GRAD_KERNEL = "GradpromOnednnReluGrad";
/** The name of the broadcast kernel (onednn backend only): `x` broadcast to `attrs.shape`. */
export const BROADCAST_KERNEL = "GradpromOnednnBroadcast";
/** The name of the PReLU-gradient kernel (onednn backend only): outputs `[dx, dalpha]`. */
export const PRELU_GRAD_KERNEL = "GradpromOnednnPreluGrad";
/** The name of the tanh-gradient kernel (onednn backend only): `dy · (1 − y²)`. */
export const TANH_GRAD_KERNEL = "GradpromOnednnTanhGrad";

type _Backend = MathBackendCPU;

function _values(backend: _Backend, t: TensorInfo): F32 | undefined {
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : undefined;
}

function _alloc(backend: unknown, n: number): F32 {
  return backend instanceof _OnednnBackend ? backend.alloc(n) : new Float32Array(n);
}

/** Scratch buffers from the backend's pool (plain arrays on another backend). */
function _scratch(backend: unknown): NarrowScratch {
  return backend instanceof _OnednnBackend
    ? { alloc: (n) => backend.alloc(n), release: (a) => backend.release(a) }
    : { alloc: (n) => new Float32Array(n), release: () => {} };
}

function _out(backend: _Backend, shape: number[], values: F32): TensorInfo {
  return backend.makeTensorInfo(shape, "float32", values);
}

type _Shape4 = [number, number, number, number];

function _geometry(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    n: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: [info.padInfo.top, info.padInfo.bottom, info.padInfo.left, info.padInfo.right],
  };
}

/**
 * True if oneDNN can run this convolution: not empty, no negative padding, and an output size
 * that follows from the input, filter, strides and padding. (TF.js sizes the output of a
 * non-square filter with a numeric `pad` from the filter's height in both directions; the cpu
 * kernel runs that geometry, oneDNN refuses it.)
 */
function _convable(g: ConvGeometry): boolean {
  const out = (size: number, k: number, s: number, d: number, lo: number, hi: number) =>
    Math.floor((size + lo + hi - ((k - 1) * d + 1)) / s) + 1;
  return g.n > 0 && g.outH > 0 && g.outW > 0 && g.inC > 0 && g.outC > 0 &&
    g.pad.every((p) => p >= 0) &&
    g.outH === out(g.inH, g.kh, g.strides[0], g.dilations[0], g.pad[0], g.pad[1]) &&
    g.outW === out(g.inW, g.kw, g.strides[1], g.dilations[1], g.pad[2], g.pad[3]);
}

/** How the calls of one replacement kernel ran (see `nativeCallCounts`). */
export interface KernelCallCounts {
  /** Calls that ran oneDNN. */
  native: number;
  /** Calls that ran this backend's plain-JS code (no oneDNN, no cpu kernel). */
  js: number;
  /** Calls that fell back to the cpu backend's kernel. */
  cpu: number;
}

/** Counts per kernel name; each kernel's closure holds its own entry (one increment a call). */
const _counts = new Map<string, KernelCallCounts>();

function _counter(kernelName: string): KernelCallCounts {
  let c = _counts.get(kernelName);
  if (!c) {
    c = { native: 0, js: 0, cpu: 0 };
    _counts.set(kernelName, c);
  }
  return c;
}

/**
 * How the onednn backend's replacement kernels ran since the process started or since the
 * last `resetNativeCallCounts()`: calls that ran oneDNN (`native`), plain JS (`js`), or fell
 * back to the cpu kernel (`cpu`). Kernels without a replacement are not counted.
 *
 * @returns A copy of the counts by kernel name (every replacement kernel, zeros included).
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import {
 *   nativeCallCounts,
 *   registerOnednnBackend,
 *   resetNativeCallCounts,
 * } from "./register_onednn_backend.ts";
 * registerOnednnBackend();
 * await tf.setBackend("onednn");
 * resetNativeCallCounts();
 * tf.tidy(() => tf.relu(tf.ones([64, 64])));
 * console.log(nativeCallCounts().Relu); // { native: 1, js: 0, cpu: 0 }
 * ```
 */
export function nativeCallCounts(): Record<string, KernelCallCounts> {
  const out: Record<string, KernelCallCounts> = {};
  for (const [name, c] of _counts) out[name] = { ...c };
  return out;
}

/** Sets every count of `nativeCallCounts()` to zero. */
export function resetNativeCallCounts(): void {
  for (const c of _counts.values()) c.native = c.js = c.cpu = 0;
}

/** Outputs that a replacement kernel with a oneDNN path computed in plain JS instead. */
class _Js {
  constructor(readonly out: TensorInfo) {}
}

/**
 * A replacement kernel body: its outputs (wrapped in `_Js` where a native kernel ran its JS
 * loop), or undefined to fall back to the cpu kernel.
 */
type _Body = (args: Parameters<KernelFunc>[0]) => TensorInfo | TensorInfo[] | _Js | undefined;

/**
 * A kernel that runs `body` (counted as `how`, or as `js` for a `_Js` result), or the cpu
 * kernel (counted as `cpu`) when `body` returns undefined.
 */
function _withFallback(
  cpu: KernelConfig,
  body: _Body,
  how: "native" | "js",
): KernelFunc {
  const counts = _counter(cpu.kernelName);
  return (args) => {
    const out = body(args);
    if (out === undefined) {
      counts.cpu++;
      return cpu.kernelFunc(args);
    }
    if (out instanceof _Js) {
      counts.js++;
      return out.out;
    }
    counts[how]++;
    return out;
  };
}

/**
 * A forward NHWC convolution through oneDNN (with a per-output-channel `bias` and a ReLU
 * fused in when given), or undefined where oneDNN cannot run it: the body of `Conv2D` and
 * `FusedConv2D` once their attributes are checked.
 */
function _convForward(
  backend: _Backend,
  x: TensorInfo,
  filter: TensorInfo,
  a: Conv2DAttrs,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo | undefined {
  const xv = _values(backend, x), wv = _values(backend, filter);
  if (!xv || !wv) return undefined;
  const info = backend_util.computeConv2DInfo(
    x.shape as _Shape4,
    filter.shape as _Shape4,
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
  );
  const g = _geometry(info);
  if (!_convable(g)) return undefined;
  let bv: F32 | null = null;
  if (bias !== undefined) {
    // Only a per-output-channel bias ([C], or [1, ..., 1, C]) fuses into the convolution.
    if (util.sizeFromShape(bias.shape) !== g.outC || bias.shape.at(-1) !== g.outC) {
      return undefined;
    }
    bv = _values(backend, bias) ?? null;
    if (bv === null) return undefined;
  }
  const y = _alloc(backend, util.sizeFromShape(info.outShape));
  if (narrowOutputConv(g)) narrowConvForward(g, xv, wv, bv, y, _scratch(backend));
  else convForward(g, xv, wv, bv, y);
  if (relu) reluForward(y, y);
  return _out(backend, info.outShape, y);
}

function _conv2d(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as Conv2DAttrs;
  if (a.dataFormat === "NCHW") return undefined;
  return _convForward(args.backend as _Backend, x, filter, a, undefined, false);
}

function _fusedConv2d(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const { x, filter, bias, preluActivationWeights } = args.inputs as {
    x: TensorInfo;
    filter: TensorInfo;
    bias?: TensorInfo;
    preluActivationWeights?: TensorInfo;
  };
  const a = args.attrs as unknown as FusedConv2DAttrs;
  if (a.dataFormat === "NCHW" || preluActivationWeights !== undefined) return undefined;
  if (a.activation !== "linear" && a.activation !== "relu") return undefined;
  return _convForward(args.backend as _Backend, x, filter, a, bias, a.activation === "relu");
}

function _pair(v: number | [number, number]): [number, number] {
  return typeof v === "number" ? [v, v] : v;
}

/**
 * The geometry of the forward convolution behind a backward one (`inShape` through a
 * `filterShape` filter to `dy`), or undefined where oneDNN cannot run it or `dy` does not fit.
 */
function _backwardGeometry(
  inShape: _Shape4,
  filterShape: _Shape4,
  a: Conv2DBackpropInputAttrs | Conv2DBackpropFilterAttrs,
  dilations: number | [number, number],
  dy: TensorInfo,
): ConvGeometry | undefined {
  const info = backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    _pair(a.strides),
    dilations,
    a.pad,
    a.dimRoundingMode,
  );
  const g = _geometry(info);
  if (!_convable(g) || dy.shape[1] !== g.outH || dy.shape[2] !== g.outW) return undefined;
  return g;
}

function _conv2dBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as Conv2DBackpropInputAttrs;
  if (a.dataFormat === "NCHW") return undefined;
  const dyv = _values(backend, dy), wv = _values(backend, filter);
  if (!dyv || !wv) return undefined;
  const g = _backwardGeometry(a.inputShape as _Shape4, filter.shape as _Shape4, a, 1, dy);
  if (!g) return undefined;
  const dx = _alloc(backend, util.sizeFromShape(a.inputShape));
  convBackwardData(g, dyv, wv, dx);
  return _out(backend, [...a.inputShape], dx);
}

function _conv2dBackpropFilter(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const a = args.attrs as unknown as Conv2DBackpropFilterAttrs & {
    dilations?: number | [number, number];
  };
  if (a.dataFormat === "NCHW") return undefined;
  const xv = _values(backend, x), dyv = _values(backend, dy);
  if (!xv || !dyv) return undefined;
  const g = _backwardGeometry(x.shape as _Shape4, a.filterShape, a, a.dilations ?? 1, dy);
  if (!g) return undefined;
  const dw = _alloc(backend, util.sizeFromShape(a.filterShape));
  const narrow = swappedFilterGradient(g) &&
    narrowConvBackwardWeights(g, xv, dyv, dw, _scratch(backend));
  if (!narrow) convBackwardWeights(g, xv, dyv, dw);
  return _out(backend, [...a.filterShape], dw);
}

/**
 * An element-wise kernel (`Relu`, `Square`, `Tanh`) through oneDNN for tensors from
 * `NATIVE_MIN_SIZE`.
 */
function _eltwiseKernel(alg: EltwiseAlg): _Body {
  return (args) => {
    const backend = args.backend as _Backend;
    const { x } = args.inputs as { x: TensorInfo };
    const xv = _values(backend, x);
    if (!xv || xv.length < NATIVE_MIN_SIZE) return undefined;
    const y = _alloc(backend, xv.length);
    eltwise(alg, xv, y);
    return _out(backend, [...x.shape], y);
  };
}

/**
 * An element-wise gradient kernel `dx = f(dy, saved)` (inputs `dy` and `saved`, one shape,
 * float32): oneDNN's backward primitive (`native`) from `NATIVE_MIN_SIZE` elements, else the
 * JS loop `small`; counted under `name`.
 */
function _eltwiseGradKernel(
  name: string,
  saved: string,
  native: (dy: F32, s: F32, dx: F32) => void,
  small: (dy: F32, s: F32, dx: F32) => void,
): KernelFunc {
  const counts = _counter(name);
  return ({ inputs, backend }) => {
    const b = backend as _Backend;
    const dy = inputs.dy as TensorInfo, s = inputs[saved] as TensorInfo;
    const dyv = _values(b, dy), sv = _values(b, s);
    if (!dyv || !sv || dyv.length !== sv.length) {
      throw new TypeError(
        `Expected float32 dy and ${saved} of one shape but found ${dy.dtype} [${dy.shape}], ` +
          `${s.dtype} [${s.shape}]`,
      );
    }
    const dx = _alloc(backend, sv.length);
    if (sv.length >= NATIVE_MIN_SIZE) {
      native(dyv, sv, dx);
      counts.native++;
    } else {
      small(dyv, sv, dx);
      counts.js++;
    }
    return _out(b, [...s.shape], dx);
  };
}

/** `dy · (x > 0)`: the cpu backend's Relu gradient is three kernels (Step, Cast, Multiply). */
const _reluGrad = _eltwiseGradKernel(RELU_GRAD_KERNEL, "x", reluBackward, (dy, x, dx) => {
  for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
});

/**
 * `dy · (1 − y²)` from tanh's output `y`: TF.js's gradient is Square, Sub (of a scalar, the
 * cpu kernel's slow broadcast) and Multiply. Under `NATIVE_MIN_SIZE` a JS loop with the same
 * float32 roundings as those three kernels (bit-identical); from it oneDNN.
 */
const _tanhGrad = _eltwiseGradKernel(TANH_GRAD_KERNEL, "y", tanhBackward, (dy, y, dx) => {
  for (let i = 0; i < y.length; i++) dx[i] = Math.fround(1 - Math.fround(y[i] * y[i])) * dy[i];
});

/** `[rows, channels]` if `alpha` has one value per channel (last axis) of `x`. */
function _perChannel(x: TensorInfo, alpha: TensorInfo): [number, number] | undefined {
  const c = x.shape.at(-1);
  if (c === undefined || alpha.shape.at(-1) !== c || util.sizeFromShape(alpha.shape) !== c) {
    return undefined;
  }
  return [util.sizeFromShape(x.shape) / c, c];
}

function _prelu(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x, alpha } = args.inputs as { x: TensorInfo; alpha: TensorInfo };
  const xv = _values(backend, x), av = _values(backend, alpha);
  const rc = _perChannel(x, alpha);
  if (!xv || !av || !rc || xv.length < NATIVE_MIN_SIZE) return undefined;
  const y = _alloc(backend, xv.length);
  preluForward(rc[0], rc[1], xv, av, y);
  return _out(backend, [...x.shape], y);
}

/**
 * `[dx, dalpha]` of PReLU; the cpu backend's gradient is Greater, Select (twice), Multiply
 * (twice), ZerosLike and Sum.
 */
const _preluGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as _Backend;
  const { dy, x, alpha } = inputs as { dy: TensorInfo; x: TensorInfo; alpha: TensorInfo };
  const dyv = _values(b, dy), xv = _values(b, x), av = _values(b, alpha);
  const rc = _perChannel(x, alpha);
  if (!dyv || !xv || !av || !rc || dyv.length !== xv.length) {
    throw new TypeError(
      `Expected float32 dy and x of one shape and one alpha per channel but found dy ` +
        `[${dy.shape}], x [${x.shape}], alpha [${alpha.shape}]`,
    );
  }
  const dx = _alloc(backend, xv.length);
  const da = _alloc(backend, av.length);
  preluBackward(rc[0], rc[1], xv, av, dyv, dx, da);
  _preluGradCounts.native++;
  return [_out(b, [...x.shape], dx), _out(b, [...alpha.shape], da)];
};
const _preluGradCounts = _counter(PRELU_GRAD_KERNEL);

function _fusedBatchNorm(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x, mean, variance, offset, scale } = args.inputs as {
    x: TensorInfo;
    mean: TensorInfo;
    variance: TensorInfo;
    offset?: TensorInfo;
    scale?: TensorInfo;
  };
  const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
  const xv = _values(backend, x);
  if (!xv || xv.length < NATIVE_MIN_SIZE) return undefined;
  const per = [mean, variance, offset, scale].map((t) =>
    t === undefined ? null : _perChannel(x, t) ? _values(backend, t) : undefined
  );
  if (per.some((v) => v === undefined) || per[0] === null || per[1] === null) return undefined;
  const [mv, vv, ov, sv] = per as (F32 | null)[];
  const c = x.shape.at(-1)!;
  const y = _alloc(backend, xv.length);
  batchNormForward(xv.length / c, c, varianceEpsilon, xv, mv!, vv!, sv, ov, y);
  return _out(backend, [...x.shape], y);
}

/**
 * `[rows, channels]` of a channels-last `x` (at least 2-D, non-empty) whose per-channel
 * inputs `perChannel` are all float32 vectors of its channel count, else undefined.
 */
function _channelsLast(
  backend: _Backend,
  x: TensorInfo,
  perChannel: TensorInfo[],
): [number, number] | undefined {
  const c = x.shape.at(-1);
  const size = util.sizeFromShape(x.shape);
  if (x.shape.length < 2 || c === undefined || c === 0 || size === 0) return undefined;
  const ok = perChannel.every((t) =>
    t.shape.length === 1 && t.shape[0] === c && _values(backend, t)
  );
  return ok ? [size / c, c] : undefined;
}

/**
 * Batch norm in training mode (`batch_norm_train.ts`): `[y, mean, variance]` of a float32
 * channels-last `x` from one oneDNN forward-training primitive, statistics over all axes but
 * the last (the variance biased, as `tf.moments`). No cpu kernel to fall back to: the op
 * checks its inputs first.
 */
const _batchNormTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as _Backend;
  const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const xv = _values(b, x);
  const rc = _channelsLast(b, x, [scale, offset]);
  if (!xv || !rc) {
    throw new TypeError(
      `Expected a float32 channels-last x and float32 [C] scale and offset but found ` +
        `${x.dtype} [${x.shape}], ${scale.dtype} [${scale.shape}], ${offset.dtype} [${offset.shape}]`,
    );
  }
  const [rows, c] = rc;
  const y = _alloc(backend, xv.length);
  const mean = _alloc(backend, c), variance = _alloc(backend, c);
  batchNormTrainForward(
    rows,
    c,
    varianceEpsilon,
    xv,
    _values(b, scale)!,
    _values(b, offset)!,
    y,
    mean,
    variance,
  );
  _batchNormTrainCounts.native++;
  return [_out(b, [...x.shape], y), _out(b, [c], mean), _out(b, [c], variance)];
};
const _batchNormTrainCounts = _counter(BATCH_NORM_TRAIN_KERNEL);

/**
 * The gradient of `_batchNormTrain`: `[dx, dscale, doffset]` from one oneDNN backward
 * primitive (given `dy`, the forward's `x`, batch `mean` and `variance`, and `scale`).
 */
const _batchNormTrainGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as _Backend;
  const { dy, x, mean, variance, scale } = inputs as {
    dy: TensorInfo;
    x: TensorInfo;
    mean: TensorInfo;
    variance: TensorInfo;
    scale: TensorInfo;
  };
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const dyv = _values(b, dy), xv = _values(b, x);
  const rc = _channelsLast(b, x, [mean, variance, scale]);
  if (!dyv || !xv || !rc || dyv.length !== xv.length) {
    throw new TypeError(
      `Expected float32 dy and x of one channels-last shape and float32 [C] mean, variance ` +
        `and scale but found dy [${dy.shape}], x [${x.shape}], mean [${mean.shape}], ` +
        `variance [${variance.shape}], scale [${scale.shape}]`,
    );
  }
  const [rows, c] = rc;
  const dx = _alloc(backend, xv.length);
  const dscale = _alloc(backend, c), doffset = _alloc(backend, c);
  batchNormTrainBackward(
    rows,
    c,
    varianceEpsilon,
    xv,
    _values(b, mean)!,
    _values(b, variance)!,
    _values(b, scale)!,
    dyv,
    dx,
    dscale,
    doffset,
  );
  _batchNormTrainGradCounts.native++;
  return [_out(b, [...x.shape], dx), _out(b, [c], dscale), _out(b, [c], doffset)];
};
const _batchNormTrainGradCounts = _counter(BATCH_NORM_TRAIN_GRAD_KERNEL);

const _zeros = new Map<number, F32>();

/**
 * `x` broadcast to `attrs.shape` (the gradient of Mean; the cpu backend's is Fill, Multiply
 * and RealDiv at full size): oneDNN's binary add of a cached zero tensor and `x`.
 */
const _broadcast: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as _Backend;
  const { x } = inputs as { x: TensorInfo };
  const shape = (attrs as unknown as { shape: number[] }).shape;
  const xv = _values(b, x);
  const shapes = _collapseBroadcast(shape, x.shape);
  const size = util.sizeFromShape(shape);
  if (!xv || !shapes) {
    throw new TypeError(
      `Expected a float32 x that broadcasts to [${shape}] but found [${x.shape}]`,
    );
  }
  let zeros = _zeros.get(size);
  if (!zeros) {
    zeros = new Float32Array(Math.max(size, 32)).subarray(0, size);
    _zeros.set(size, zeros);
  }
  const y = _alloc(backend, size);
  binary("add", shapes.a, shapes.b, zeros, xv, y);
  _broadcastCounts.native++;
  return _out(b, [...shape], y);
};
const _broadcastCounts = _counter(BROADCAST_KERNEL);

/**
 * Shapes of `a` (full) and `b` (broadcast) collapsed to the fewest dimensions: size-1
 * dimensions of `a` dropped, and neighbours merged where `b` is either full in both or
 * broadcast in both. `undefined` if `b` does not broadcast to `a`.
 */
export function _collapseBroadcast(
  aShape: readonly number[],
  bShape: readonly number[],
): { a: number[]; b: number[] } | undefined {
  if (bShape.length > aShape.length) return undefined;
  const b = [...new Array(aShape.length - bShape.length).fill(1), ...bShape];
  const outA: number[] = [], outB: number[] = [];
  let last: boolean | undefined;
  for (let i = 0; i < aShape.length; i++) {
    if (aShape[i] === 1) {
      if (b[i] !== 1) return undefined;
      continue;
    }
    if (b[i] !== aShape[i] && b[i] !== 1) return undefined;
    const full = b[i] === aShape[i];
    if (last === full) {
      outA[outA.length - 1] *= aShape[i];
      outB[outB.length - 1] *= full ? aShape[i] : 1;
    } else {
      outA.push(aShape[i]);
      outB.push(full ? aShape[i] : 1);
    }
    last = full;
  }
  if (outA.length === 0) return { a: [1], b: [1] };
  return { a: outA, b: outB };
}

/**
 * An element-wise binary operation as a loop over a row-major `[rows, cols]` output: element
 * (r, c) reads `a[r·aR + c·aC]` and `b[r·bR + c·bC]` (strides 0 where an operand broadcasts).
 */
interface _Grid {
  rows: number;
  cols: number;
  aR: number;
  aC: number;
  bR: number;
  bC: number;
}

/**
 * The `_Grid` of `a ∘ b` (non-empty, broadcast to `outShape`) where one operand is full and
 * the other one value, or one value per row or per column of the output once collapsed
 * (`_collapseBroadcast`): a scalar, `[C]` against `[..., C]`, `[N, 1]` against `[N, M]`. Else
 * undefined (both broadcast, or a broadcast in more than one block).
 */
function _grid(outShape: number[], aShape: number[], bShape: number[]): _Grid | undefined {
  const size = util.sizeFromShape(outShape);
  const aFull = util.sizeFromShape(aShape) === size;
  const bFull = util.sizeFromShape(bShape) === size;
  if (aFull && bFull) return { rows: 1, cols: size, aR: 0, aC: 1, bR: 0, bC: 1 };
  if (!aFull && !bFull) return undefined;
  const shapes = _collapseBroadcast(outShape, aFull ? bShape : aShape);
  if (!shapes || shapes.a.length > 2) return undefined;
  // Collapsed, the broadcast operand is [1] (one value), [1, C] (per column) or [R, 1] (per row).
  const [rows, cols] = shapes.a.length === 2 ? shapes.a : [1, size];
  const [r, c] = shapes.a.length === 1 ? [0, 0] : shapes.b[0] === 1 ? [0, 1] : [1, 0];
  return aFull
    ? { rows, cols, aR: cols, aC: 1, bR: r, bC: c }
    : { rows, cols, aR: r, aC: c, bR: cols, bC: 1 };
}

/** Binary operations with a plain-JS loop. */
type _JsBinaryOp = "add" | "sub" | "mul" | "div" | "squaredDifference";

/**
 * The plain-JS loops of the binary kernels (`y = a ∘ b` over a `_Grid`). Each computes the
 * cpu kernel's own expression per element (in float64, rounded once when stored into the
 * Float32Array), so results are bit-identical to it. One function literal per operation:
 * the cpu kernels share one loop that calls the operation through a closure, a megamorphic
 * call per element, and their broadcast path computes indices with `indexToLoc`.
 */
const _JS_BINARY: Record<_JsBinaryOp, (g: _Grid, a: F32, b: F32, y: F32) => void> = {
  add: ({ rows, cols, aR, aC, bR, bC }, a, b, y) => {
    for (let r = 0, o = 0; r < rows; r++) {
      for (let c = 0, i = r * aR, j = r * bR; c < cols; c++, i += aC, j += bC) y[o++] = a[i] + b[j];
    }
  },
  sub: ({ rows, cols, aR, aC, bR, bC }, a, b, y) => {
    for (let r = 0, o = 0; r < rows; r++) {
      for (let c = 0, i = r * aR, j = r * bR; c < cols; c++, i += aC, j += bC) y[o++] = a[i] - b[j];
    }
  },
  mul: ({ rows, cols, aR, aC, bR, bC }, a, b, y) => {
    for (let r = 0, o = 0; r < rows; r++) {
      for (let c = 0, i = r * aR, j = r * bR; c < cols; c++, i += aC, j += bC) y[o++] = a[i] * b[j];
    }
  },
  div: ({ rows, cols, aR, aC, bR, bC }, a, b, y) => {
    for (let r = 0, o = 0; r < rows; r++) {
      for (let c = 0, i = r * aR, j = r * bR; c < cols; c++, i += aC, j += bC) y[o++] = a[i] / b[j];
    }
  },
  squaredDifference: ({ rows, cols, aR, aC, bR, bC }, a, b, y) => {
    for (let r = 0, o = 0; r < rows; r++) {
      for (let c = 0, i = r * aR, j = r * bR; c < cols; c++, i += aC, j += bC) {
        const d = a[i] - b[j];
        y[o++] = d * d;
      }
    }
  },
};

/**
 * A binary kernel of float32 tensors: from `NATIVE_MIN_SIZE` elements oneDNN's binary
 * primitive (`alg`) where it applies (a full first operand and a second that broadcasts, or
 * either order if `commutative`); otherwise the plain-JS loop of `op` where `_grid` covers the
 * shapes, else the cpu kernel.
 */
function _binaryKernel(op: _JsBinaryOp, alg?: BinaryAlg, commutative = false): _Body {
  const loop = _JS_BINARY[op];
  return (args) => {
    const backend = args.backend as _Backend;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const av = _values(backend, a), bv = _values(backend, b);
    if (!av || !bv || a.dtype !== "float32" || b.dtype !== "float32") return undefined;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = util.sizeFromShape(outShape);
    if (size === 0) return undefined;
    if (alg !== undefined && size >= NATIVE_MIN_SIZE) {
      let fv = av, other = bv, otherShape = b.shape;
      if (av.length !== size && commutative && bv.length === size) {
        fv = bv, other = av, otherShape = a.shape;
      }
      const shapes = fv.length === size ? _collapseBroadcast(outShape, otherShape) : undefined;
      if (shapes) {
        const y = _alloc(backend, size);
        binary(alg, shapes.a, shapes.b, fv, other, y);
        return _out(backend, outShape, y);
      }
    }
    const g = _grid(outShape, a.shape, b.shape);
    if (!g) return undefined;
    const y = _alloc(backend, size);
    loop(g, av, bv, y);
    return new _Js(_out(backend, outShape, y));
  };
}

/**
 * A reduction as `y[o, i] = Σ_r x[o, r, i]` over row-major `[outer, reduced, inner]` (size-1
 * axes dropped, neighbours merged): undefined where the reduced axes (of size > 1) are not
 * one block once size-1 axes are dropped, as `[0, 2]` of `[4, 8, 16, 16]`.
 */
function _reducePlan(
  shape: readonly number[],
  axes: readonly number[],
): { outer: number; reduced: number; inner: number } | undefined {
  let outer = 1, reduced = 1, inner = 1;
  let blocks = 0, inBlock = false;
  shape.forEach((d, i) => {
    if (d === 1) return;
    const r = axes.includes(i);
    if (r && !inBlock) blocks++;
    inBlock = r;
    if (r) reduced *= d;
    else if (blocks === 0) outer *= d;
    else inner *= d;
  });
  return blocks > 1 ? undefined : { outer, reduced, inner };
}

/**
 * `Sum` (or `Mean`) of a `_reducePlan` in plain JS, bit-identical to the cpu kernel: it sums
 * each output in float64 in the same order (the reduced index ascending), after dividing each
 * element by the count and rounding to float32 for `Mean` (its Mean is RealDiv, then Sum).
 * (`_reduceKernel` repeats the loop for int32, which keeps this one monomorphic.)
 */
function _reduceJs(
  { outer, reduced, inner }: { outer: number; reduced: number; inner: number },
  mean: boolean,
  x: F32,
  y: F32,
): void {
  const acc = new Float64Array(inner);
  for (let o = 0, k = 0; o < outer; o++) {
    acc.fill(0);
    for (let r = 0; r < reduced; r++) {
      for (let i = 0; i < inner; i++, k++) acc[i] += mean ? Math.fround(x[k] / reduced) : x[k];
    }
    y.set(acc, o * inner);
  }
}

/**
 * `Sum` or `Mean` of a float32 tensor over any axes that form one block once size-1 axes are
 * dropped (`_reducePlan`): from `NATIVE_MIN_SIZE` elements over a trailing block, or a leading
 * block that leaves rows of at least `_SHORT_ROW` values, a oneDNN matrix product with a vector
 * of ones (`sumMatrix`, float32 accumulation), else a JS loop (`_reduceJs`; a middle block such
 * as the global average pool `mean(x, [1, 2])` of NHWC, for which the cpu kernel first
 * transposes x, or per-class sums over a few classes). An int32 `Sum` runs the JS loop too.
 */
function _reduceKernel(mean: boolean): _Body {
  return (args) => {
    const backend = args.backend as _Backend;
    const { x } = args.inputs as { x: TensorInfo };
    const a = args.attrs as unknown as SumAttrs;
    const axes = util.parseAxisParam(a.axis, x.shape);
    const plan = _reducePlan(x.shape, axes);
    if (!plan) return undefined;
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = a.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const { outer, reduced, inner } = plan;
    if (x.dtype === "int32" && !mean) {
      // Class counts of one-hot labels: the cpu kernel transposes first (4 ms for [8, 32, 32,
      // 7]); the same float64 sums, stored as int32, here. (The cpu backend's int32 data may sit
      // in a Float32Array, as its oneHot leaves it.)
      const iv = backend.data.get(x.dataId)?.values;
      if (!(iv instanceof Int32Array || iv instanceof Float32Array) || iv.length === 0) {
        return undefined;
      }
      const y = new Int32Array(outer * inner);
      const acc = new Float64Array(inner);
      for (let o = 0, k = 0; o < outer; o++) {
        acc.fill(0);
        for (let r = 0; r < reduced; r++) for (let i = 0; i < inner; i++, k++) acc[i] += iv[k];
        y.set(acc, o * inner);
      }
      return new _Js(backend.makeTensorInfo(shape, "int32", y));
    }
    const xv = _values(backend, x);
    if (!xv || x.dtype !== "float32" || xv.length === 0) return undefined;
    const y = _alloc(backend, outer * inner);
    // oneDNN's product with a vector of ones, except over rows of fewer than _SHORT_ROW values
    // (per-class sums of [N, H, W, classes] logits), where it runs far below the JS loop.
    if (xv.length >= NATIVE_MIN_SIZE && (inner === 1 || (outer === 1 && inner >= _SHORT_ROW))) {
      const overRows = outer === 1;
      const [rows, cols] = overRows ? [reduced, inner] : [outer, reduced];
      sumMatrix(rows, cols, overRows, mean ? 1 / reduced : 1, xv, y);
      return _out(backend, shape, y);
    }
    _reduceJs(plan, mean, xv, y);
    return new _Js(_out(backend, shape, y));
  };
}

/** Rows shorter than this are summed by `_reduceJs` (see `_reduceKernel`). */
const _SHORT_ROW = 16;

let _positionScratch = new Int32Array(0);

/** A scratch of `n` indices for the max-pooling kernels, kept between calls (one JS thread). */
function _positions(n: number): Int32Array {
  if (_positionScratch.length < n) _positionScratch = new Int32Array(n);
  return _positionScratch.subarray(0, n);
}

/**
 * `MaxPool` of float32 data as one JS pass, bit-identical to the cpu kernel (`pool` of
 * tfjs-backend-cpu): each window's valid pixels in row-major order, the first strictly larger
 * value kept (so NaN never wins and, of +0 and −0, the first seen), −∞ for an empty window; the
 * window maxima come from `maxPoolPositions` (`../_max_pool_grad.ts`, branch-free). The cpu kernel
 * walks channel by channel through the strided input and allocates a fresh output.
 */
function _maxPool(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x } = args.inputs as { x: TensorInfo };
  const a = args.attrs as unknown as MaxPoolAttrs;
  const xv = _values(backend, x);
  if (!xv || x.dtype !== "float32" || x.shape.length !== 4) return undefined;
  if (!backend_util.eitherStridesOrDilationsAreOne(a.strides, 1)) return undefined;
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const y = _alloc(backend, util.sizeFromShape(info.outShape));
  const pos = _positions(y.length);
  maxPoolPositions(info, xv, pos);
  for (let o = 0; o < y.length; o++) {
    const p = pos[o];
    y[o] = p >= 0 ? xv[p] : Number.NEGATIVE_INFINITY;
  }
  return _out(backend, info.outShape, y);
}

/**
 * `Exp` of float32 data as one loop of `Math.exp` into a pooled buffer, bit-identical to the cpu
 * kernel (which calls it through a closure per element into a fresh array): 2.3 ms for the two
 * of a U-Net step's cross-entropy.
 */
function _exp(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x } = args.inputs as { x: TensorInfo };
  const xv = _values(backend, x);
  if (!xv || x.dtype !== "float32") return undefined;
  const y = _alloc(backend, xv.length);
  for (let i = 0; i < xv.length; i++) y[i] = Math.exp(xv[i]);
  return _out(backend, [...x.shape], y);
}

/**
 * `MaxPoolGrad` as one pass in plain JS (the same rule as the cpu kernel: the first maximum
 * of each window's valid pixels, in row-major order, receives the gradient, and gradients of
 * overlapping windows add up in a double, bit for bit). The cpu kernel reads through `TensorBuffer.get` and took
 * ~0.7 s for one 8×32×32×16 input; this loop (`../_max_pool_grad.ts`, shared with the wasm
 * backend) takes milliseconds.
 * Not oneDNN: its max-pooling backward needs the forward pass's workspace, which TF.js does
 * not keep, and its tie rule is not documented.
 */
function _maxPoolGrad(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const x = _values(backend, input), g = _values(backend, dy);
  if (!x || !g || input.shape.length !== 4) return undefined;
  const info = maxPoolGradInfo(input.shape, args.attrs as unknown as MaxPoolGradAttrs);
  const dx = _alloc(backend, x.length);
  maxPoolGradInto(info, x, g, dx, _positions(g.length));
  return _out(backend, [...input.shape], dx);
}

/**
 * `SplitV` (the gradient of Concat) of float32 data as block copies. The cpu kernel slices
 * element by element when the split axis is not the first: 1 s for one 8×64×64×32 tensor
 * split along channels, the largest kernel of a U-Net step. Plain JS: a strided copy, nothing
 * for oneDNN to compute.
 */
function _splitV(args: Parameters<KernelFunc>[0]): TensorInfo[] | undefined {
  const backend = args.backend as _Backend;
  const { x } = args.inputs as { x: TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as {
    numOrSizeSplits: number | number[];
    axis: number;
  };
  const xv = _values(backend, x);
  if (!xv || xv.length < NATIVE_MIN_SIZE) return undefined;
  const $axis = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const outer = util.sizeFromShape(x.shape.slice(0, $axis));
  const inner = util.sizeFromShape(x.shape.slice($axis + 1));
  const rowLen = x.shape[$axis] * inner;
  let offset = 0;
  return sizes.map((size) => {
    const block = size * inner;
    const out = _alloc(backend, outer * block);
    if (block < _SHORT_BLOCK) {
      // Short blocks (a few channels): element copies beat a subarray per block.
      for (let o = 0, j = 0; o < outer; o++) {
        for (let from = o * rowLen + offset, end = from + block; from < end; from++) {
          out[j++] = xv[from];
        }
      }
    } else {
      for (let o = 0; o < outer; o++) {
        const from = o * rowLen + offset;
        out.set(xv.subarray(from, from + block), o * block);
      }
    }
    offset += block;
    const shape = [...x.shape];
    shape[$axis] = size;
    return _out(backend, shape, out);
  });
}

/** `Concat` of float32 data as block copies (the inverse of `_splitV`, same reason). */
function _concat(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const inputs = Object.values(args.inputs) as TensorInfo[];
  const { axis } = args.attrs as unknown as { axis: number };
  if (inputs.length === 0) return undefined;
  const values = inputs.map((t) => _values(backend, t));
  if (values.some((v) => v === undefined)) return undefined;
  const rank = inputs[0].shape.length;
  if (rank === 0 || inputs.some((t) => t.shape.length !== rank)) return undefined;
  const $axis = util.parseAxisParam(axis, inputs[0].shape)[0];
  const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), $axis);
  const size = util.sizeFromShape(outShape);
  if (size < NATIVE_MIN_SIZE) return undefined;
  const outer = util.sizeFromShape(outShape.slice(0, $axis));
  const inner = util.sizeFromShape(outShape.slice($axis + 1));
  const rowLen = outShape[$axis] * inner;
  const out = _alloc(backend, size);
  let offset = 0;
  inputs.forEach((t, i) => {
    const v = values[i]!;
    const block = t.shape[$axis] * inner;
    if (block < _SHORT_BLOCK) {
      for (let o = 0, j = 0; o < outer; o++) {
        for (let to = o * rowLen + offset, end = to + block; to < end; to++) out[to] = v[j++];
      }
    } else {
      for (let o = 0; o < outer; o++) {
        out.set(v.subarray(o * block, (o + 1) * block), o * rowLen + offset);
      }
    }
    offset += block;
  });
  return _out(backend, outShape, out);
}

/** Below this many floats, `_splitV` and `_concat` copy element by element. */
const _SHORT_BLOCK = 64;

/**
 * `DepthwiseConv2dNative` with a channel multiplier of 1 (SSIM's Gaussian windows) as a JS loop
 * that keeps the cpu kernel's arithmetic: each output starts at 0 and adds `x·w` tap by tap,
 * filter rows outer and columns inner, rounded to float32 after every addition (bit-identical).
 * The cpu kernel walks the same sums with its loops nested around the output row; this one
 * finishes one output pixel's channels at a time (about 5× faster for SSIM's 11-tap windows).
 */
function _depthwiseConv2d(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as DepthwiseConv2dNativeAttrs;
  const xv = _values(backend, x), wv = _values(backend, filter);
  if (!xv || !wv || x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  const dilations = a.dilations ?? [1, 1];
  // Invalid strides and dilations together: the cpu kernel gives the error.
  if (!backend_util.eitherStridesOrDilationsAreOne(a.strides, dilations)) return undefined;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  if (info.outChannels !== info.inChannels) return undefined;
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const y = _alloc(backend, util.sizeFromShape(info.outShape));
  for (let b = 0, o = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++, o += c) {
        y.fill(0, o, o + c);
        for (let wR = 0; wR < fh; wR++) {
          const xR = yR * sh - top + wR * dh;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < fw; wC++) {
            const xC = yC * sw - left + wC * dw;
            if (xC < 0 || xC >= inWidth) continue;
            const xo = ((b * inHeight + xR) * inWidth + xC) * c, wo = (wR * fw + wC) * c;
            for (let d = 0; d < c; d++) y[o + d] += xv[xo + d] * wv[wo + d];
          }
        }
      }
    }
  }
  return _out(backend, info.outShape, y);
}

/**
 * `Softmax` over the last axis of float32 data in one pass per row, bit-identical to the cpu
 * kernel: the same steps with the same float32 roundings (the row's maximum, fround(x − max),
 * fround(exp(·)), their sum in float64 rounded once, the division). The cpu kernel runs them
 * as Max, Sub, Exp, Sum and RealDiv kernels, whose Sub and RealDiv broadcast `[..., 1]` with
 * `indexToLoc` per element: 4.6 ms for the U-Net's [8, 32, 32, 2] logits.
 */
function _softmax(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { logits } = args.inputs as { logits: TensorInfo };
  const { dim } = args.attrs as unknown as SoftmaxAttrs;
  const xv = _values(backend, logits);
  const rank = logits.shape.length;
  const c = logits.shape.at(-1);
  if (!xv || logits.dtype !== "float32" || (dim !== -1 && dim !== rank - 1)) return undefined;
  if (c === undefined || c === 0 || xv.length === 0) return undefined;
  const y = _alloc(backend, xv.length);
  for (let o = 0; o < xv.length; o += c) {
    let max = xv[o];
    for (let j = o; j < o + c; j++) if (Number.isNaN(xv[j]) || xv[j] > max) max = xv[j];
    let sum = 0;
    for (let j = o; j < o + c; j++) {
      y[j] = Math.exp(Math.fround(xv[j] - max));
      sum += y[j];
    }
    const total = Math.fround(sum);
    for (let j = o; j < o + c; j++) y[j] /= total;
  }
  return _out(backend, [...logits.shape], y);
}

/**
 * `GatherV2` without batch dimensions (a training batch from its split is one): the cpu kernel
 * computes every output element's source through `indexToLoc` (about 2.4 ms for eight 32×32 RGB
 * images); here each gathered slice is one typed-array copy. Same values, any numeric dtype;
 * an index out of range, or string and complex tensors, take the cpu kernel (and its error).
 */
function _gather(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as GatherV2Attrs;
  if (batchDims || x.dtype === "string" || x.dtype === "complex64") return undefined;
  const xv = backend.data.get(x.dataId)?.values, iv = backend.data.get(indices.dataId)?.values;
  if (!ArrayBuffer.isView(xv) || !ArrayBuffer.isView(iv)) return undefined;
  const ax = util.parseAxisParam(axis, x.shape)[0];
  const dim = x.shape[ax];
  const idx = iv as Int32Array;
  for (let k = 0; k < idx.length; k++) {
    if (!(Number.isInteger(idx[k]) && idx[k] >= 0 && idx[k] < dim)) return undefined;
  }
  const outer = util.sizeFromShape(x.shape.slice(0, ax));
  const slice = util.sizeFromShape(x.shape.slice(ax + 1));
  const n = idx.length;
  const src = xv as Float32Array;
  const size = outer * n * slice;
  // Float32 outputs come from the backend's pool: a fresh array costs page faults and, in a
  // process that allocates many, garbage collections (several times the copy itself).
  const out: Float32Array = xv instanceof Float32Array
    ? _alloc(backend, size)
    : new (xv.constructor as Float32ArrayConstructor)(size);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      const from = (o * dim + idx[k]) * slice;
      out.set(src.subarray(from, from + slice), (o * n + k) * slice);
    }
  }
  const shape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  return backend.makeTensorInfo(shape, x.dtype, out);
}

/**
 * `ClipByValue` of float32 values as one loop with the cpu kernel's expression per element
 * (bit-identical, NaN passing through); the cpu kernel calls it through a closure per element.
 */
function _clipByValue(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const backend = args.backend as _Backend;
  const { x } = args.inputs as { x: TensorInfo };
  const { clipValueMin: lo, clipValueMax: hi } = args.attrs as unknown as ClipByValueAttrs;
  const xv = _values(backend, x);
  if (!xv || x.dtype !== "float32") return undefined;
  const y = _alloc(backend, xv.length);
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i];
    y[i] = v > hi ? hi : v < lo ? lo : v;
  }
  return _out(backend, [...x.shape], y);
}

/**
 * The running statistics of `runningStatistics` in one JS loop, with the roundings of the ops it
 * replaces (each product and sum of two float32 values rounded to float32, the scalars too, as
 * `tf.mul(t, 0.9)` makes 0.9 a float32 scalar): bit-identical to them, in one kernel call
 * instead of seven per batch-norm layer.
 */
function _runningStatistics(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const backend = args.backend as _Backend;
  const { movingMean, movingVariance, mean, variance } = args.inputs as Record<string, TensorInfo>;
  const { count, momentum } = args.attrs as unknown as { count: number; momentum: number };
  const [mm, mv, m, v] = [movingMean, movingVariance, mean, variance].map((t) => {
    const values = _values(backend, t);
    if (!values) throw new TypeError(`${RUNNING_STATISTICS_KERNEL} takes float32 inputs`);
    return values;
  });
  const keep = Math.fround(1 - momentum), take = Math.fround(momentum);
  const unbias = Math.fround(count / Math.max(1, count - 1));
  const newMean = new Float32Array(m.length), newVariance = new Float32Array(m.length);
  for (let c = 0; c < m.length; c++) {
    newMean[c] = Math.fround(mm[c] * keep) + Math.fround(m[c] * take);
    const unbiased = Math.fround(v[c] * unbias);
    newVariance[c] = Math.fround(mv[c] * keep) + Math.fround(unbiased * take);
  }
  return [_out(backend, [m.length], newMean), _out(backend, [m.length], newVariance)];
}

/** oneDNN kernel bodies by kernel name; each falls back to the cpu kernel. */
const _NATIVE: Record<string, _Body> = {
  Conv2D: _conv2d,
  FusedConv2D: _fusedConv2d,
  Conv2DBackpropInput: _conv2dBackpropInput,
  Conv2DBackpropFilter: _conv2dBackpropFilter,
  Relu: _eltwiseKernel("relu"),
  Square: _eltwiseKernel("square"),
  Tanh: _eltwiseKernel("tanh"),
  Prelu: _prelu,
  FusedBatchNorm: _fusedBatchNorm,
  Add: _binaryKernel("add", "add", true),
  Sub: _binaryKernel("sub", "sub"),
  Multiply: _binaryKernel("mul", "mul", true),
  RealDiv: _binaryKernel("div", "div"),
  Sum: _reduceKernel(false),
  Mean: _reduceKernel(true),
};

/** Plain-JS kernel bodies (no oneDNN) by kernel name; each falls back to the cpu kernel. */
const _JS: Record<string, _Body> = {
  MaxPoolGrad: _maxPoolGrad,
  SplitV: _splitV,
  Concat: _concat,
  SquaredDifference: _binaryKernel("squaredDifference"),
  Softmax: _softmax,
  GatherV2: _gather,
  ClipByValue: _clipByValue,
  DepthwiseConv2dNative: _depthwiseConv2d,
  MaxPool: _maxPool,
  Exp: _exp,
};

/**
 * The kernel names that have a oneDNN path (the binary ops, `Sum`, `Mean` and the ReLU and
 * tanh gradients also have JS loops, counted as `js`).
 */
export const NATIVE_KERNELS: readonly string[] = [
  ...Object.keys(_NATIVE),
  RELU_GRAD_KERNEL,
  TANH_GRAD_KERNEL,
  PRELU_GRAD_KERNEL,
  BROADCAST_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  BATCH_NORM_TRAIN_GRAD_KERNEL,
];

/** The kernel names replaced by plain-JS code (faster than the cpu kernels, no oneDNN). */
export const JS_KERNELS: readonly string[] = Object.keys(_JS);

for (const name of [...NATIVE_KERNELS, ...JS_KERNELS]) _counter(name);

/**
 * Kernel configs for `backendName`: every cpu kernel, with the replacements wrapped around it.
 *
 * @param cpuKernels The cpu backend's kernel configs.
 * @param backendName The name to register them under.
 * @returns Configs to register.
 */
export function _onednnKernelConfigs(
  cpuKernels: readonly KernelConfig[],
  backendName: string,
): KernelConfig[] {
  const configs = cpuKernels.map((k): KernelConfig => {
    const native = _NATIVE[k.kernelName], js = _JS[k.kernelName];
    const kernelFunc = native
      ? _withFallback(k, native, "native")
      : js
      ? _withFallback(k, js, "js")
      : k.kernelFunc;
    return { ...k, backendName, kernelFunc };
  });
  configs.push({ kernelName: RELU_GRAD_KERNEL, backendName, kernelFunc: _reluGrad });
  configs.push({ kernelName: TANH_GRAD_KERNEL, backendName, kernelFunc: _tanhGrad });
  configs.push({ kernelName: PRELU_GRAD_KERNEL, backendName, kernelFunc: _preluGrad });
  configs.push({ kernelName: BROADCAST_KERNEL, backendName, kernelFunc: _broadcast });
  configs.push({ kernelName: BATCH_NORM_TRAIN_KERNEL, backendName, kernelFunc: _batchNormTrain });
  configs.push({
    kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL,
    backendName,
    kernelFunc: _batchNormTrainGrad,
  });
  configs.push({
    kernelName: RUNNING_STATISTICS_KERNEL,
    backendName,
    kernelFunc: _runningStatistics as unknown as KernelFunc,
  });
  return configs;
}
