/**
 * The replacement kernels of the onednn backend: TF.js kernel functions over the cpu
 * backend's typed arrays. The native ones call oneDNN (`_dnnl.ts`); three (`MaxPoolGrad`,
 * `SplitV`, `Concat`) are plain-JS loops that beat the cpu kernels without oneDNN. Each falls
 * back to the cpu kernel for the cases it does not cover (other dtypes, NCHW, small tensors,
 * broadcasts oneDNN's binary primitive cannot express, reductions over middle axes).
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
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type SumAttrs,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { maxPoolGradInfo, maxPoolGradInto } from "../_max_pool_grad.ts";
import { _OnednnBackend } from "./_backend.ts";
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
} from "./_dnnl.ts";
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL } from "./batch_norm_train.ts";

/** Below this many elements, element-wise work stays in JS (an FFI call costs ~5 µs). */
export const NATIVE_MIN_SIZE = 4096;

/** The name of the fused ReLU-gradient kernel (onednn backend only). */
export const RELU_GRAD_KERNEL = "GradpromOnednnReluGrad";
/** The name of the broadcast kernel (onednn backend only): `x` broadcast to `attrs.shape`. */
export const BROADCAST_KERNEL = "GradpromOnednnBroadcast";
/** The name of the PReLU-gradient kernel (onednn backend only): outputs `[dx, dalpha]`. */
export const PRELU_GRAD_KERNEL = "GradpromOnednnPreluGrad";

type _Backend = MathBackendCPU;

function _values(backend: _Backend, t: TensorInfo): F32 | undefined {
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : undefined;
}

function _alloc(backend: unknown, n: number): F32 {
  return backend instanceof _OnednnBackend ? backend.alloc(n) : new Float32Array(n);
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

/** True if oneDNN can run this convolution (empty or negative-size ones go to JS). */
function _convable(g: ConvGeometry): boolean {
  return g.n > 0 && g.outH > 0 && g.outW > 0 && g.inC > 0 && g.outC > 0 &&
    g.pad.every((p) => p >= 0);
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

/** A replacement kernel body: its outputs, or undefined to fall back to the cpu kernel. */
type _Body = (args: Parameters<KernelFunc>[0]) => TensorInfo | TensorInfo[] | undefined;

/**
 * A kernel that runs `body` (counted as `how`), or the cpu kernel (counted as `cpu`) when
 * `body` returns undefined.
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
  convForward(g, xv, wv, bv, y);
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
  convBackwardWeights(g, xv, dyv, dw);
  return _out(backend, [...a.filterShape], dw);
}

/** An element-wise kernel (`Relu`, `Square`) through oneDNN for tensors from `NATIVE_MIN_SIZE`. */
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

/** `dy · (x > 0)`: the cpu backend's Relu gradient is three kernels (Step, Cast, Multiply). */
const _reluGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as _Backend;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const dyv = _values(b, dy), xv = _values(b, x);
  if (!dyv || !xv || dyv.length !== xv.length) {
    throw new TypeError(
      `Expected float32 dy and x of one shape but found ${dy.dtype} [${dy.shape}], ` +
        `${x.dtype} [${x.shape}]`,
    );
  }
  const dx = _alloc(backend, xv.length);
  if (xv.length >= NATIVE_MIN_SIZE) {
    reluBackward(dyv, xv, dx);
    _reluGradCounts.native++;
  } else {
    for (let i = 0; i < xv.length; i++) dx[i] = xv[i] > 0 ? dyv[i] : 0;
    _reluGradCounts.js++;
  }
  return _out(b, [...x.shape], dx);
};
const _reluGradCounts = _counter(RELU_GRAD_KERNEL);

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

function _binaryKernel(alg: BinaryAlg, commutative: boolean) {
  return (args: Parameters<KernelFunc>[0]): TensorInfo | undefined => {
    const backend = args.backend as _Backend;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const av = _values(backend, a), bv = _values(backend, b);
    if (!av || !bv) return undefined;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = util.sizeFromShape(outShape);
    if (size < NATIVE_MIN_SIZE) return undefined;
    let fv = av, other = bv, otherShape = b.shape;
    if (util.sizeFromShape(a.shape) !== size) {
      if (!commutative || util.sizeFromShape(b.shape) !== size) return undefined;
      fv = bv, other = av, otherShape = a.shape;
    }
    const shapes = _collapseBroadcast(outShape, otherShape);
    if (!shapes) return undefined;
    const c = _alloc(backend, size);
    binary(alg, shapes.a, shapes.b, fv, other, c);
    return _out(backend, outShape, c);
  };
}

/**
 * A reduction over a leading or a trailing block of axes, as `[rows, cols]` summed over
 * rows or over columns; undefined for other axis sets.
 */
function _sumPlan(
  shape: readonly number[],
  axes: number[],
): { rows: number; cols: number; overRows: boolean } | undefined {
  const r = shape.length;
  const sorted = [...new Set(axes.map((x) => (x < 0 ? x + r : x)))].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length === r) return undefined;
  const k = sorted.length;
  const prefix = sorted.every((x, i) => x === i);
  const suffix = sorted.every((x, i) => x === r - k + i);
  if (!prefix && !suffix) return undefined;
  const lead = util.sizeFromShape(shape.slice(0, prefix ? k : r - k));
  const rest = util.sizeFromShape(shape.slice(prefix ? k : r - k));
  return { rows: lead, cols: rest, overRows: prefix };
}

function _reduceKernel(mean: boolean) {
  return (args: Parameters<KernelFunc>[0]): TensorInfo | undefined => {
    const backend = args.backend as _Backend;
    const { x } = args.inputs as { x: TensorInfo };
    const a = args.attrs as unknown as SumAttrs;
    const xv = _values(backend, x);
    if (!xv || xv.length < NATIVE_MIN_SIZE) return undefined;
    const axes = util.parseAxisParam(a.axis, x.shape);
    const plan = _sumPlan(x.shape, axes);
    if (!plan) return undefined;
    const count = plan.overRows ? plan.rows : plan.cols;
    const y = _alloc(backend, plan.overRows ? plan.cols : plan.rows);
    sumMatrix(plan.rows, plan.cols, plan.overRows, mean ? 1 / count : 1, xv, y);
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = a.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return _out(backend, shape, y);
  };
}

/**
 * `MaxPoolGrad` as one pass in plain JS (the same rule as the cpu kernel: the first maximum
 * of each window's valid pixels, in row-major order, receives the gradient, and gradients of
 * overlapping windows add up). The cpu kernel reads through `TensorBuffer.get` and took
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
  maxPoolGradInto(info, x, g, dx);
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
    for (let o = 0; o < outer; o++) {
      const from = o * rowLen + offset;
      out.set(xv.subarray(from, from + block), o * block);
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
    for (let o = 0; o < outer; o++) {
      out.set(v.subarray(o * block, (o + 1) * block), o * rowLen + offset);
    }
    offset += block;
  });
  return _out(backend, outShape, out);
}

/** oneDNN kernel bodies by kernel name; each falls back to the cpu kernel. */
const _NATIVE: Record<string, _Body> = {
  Conv2D: _conv2d,
  FusedConv2D: _fusedConv2d,
  Conv2DBackpropInput: _conv2dBackpropInput,
  Conv2DBackpropFilter: _conv2dBackpropFilter,
  Relu: _eltwiseKernel("relu"),
  Square: _eltwiseKernel("square"),
  Prelu: _prelu,
  FusedBatchNorm: _fusedBatchNorm,
  Add: _binaryKernel("add", true),
  Sub: _binaryKernel("sub", false),
  Multiply: _binaryKernel("mul", true),
  RealDiv: _binaryKernel("div", false),
  Sum: _reduceKernel(false),
  Mean: _reduceKernel(true),
};

/** Plain-JS kernel bodies (no oneDNN) by kernel name; each falls back to the cpu kernel. */
const _JS: Record<string, _Body> = {
  MaxPoolGrad: _maxPoolGrad,
  SplitV: _splitV,
  Concat: _concat,
};

/**
 * The kernel names that have a oneDNN path (the ReLU gradient also has a JS loop for
 * tensors under `NATIVE_MIN_SIZE`).
 */
export const NATIVE_KERNELS: readonly string[] = [
  ...Object.keys(_NATIVE),
  RELU_GRAD_KERNEL,
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
  configs.push({ kernelName: PRELU_GRAD_KERNEL, backendName, kernelFunc: _preluGrad });
  configs.push({ kernelName: BROADCAST_KERNEL, backendName, kernelFunc: _broadcast });
  configs.push({ kernelName: BATCH_NORM_TRAIN_KERNEL, backendName, kernelFunc: _batchNormTrain });
  configs.push({
    kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL,
    backendName,
    kernelFunc: _batchNormTrainGrad,
  });
  return configs;
}
