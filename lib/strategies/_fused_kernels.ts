/**
 * Two fused TF.js kernels for the strategies' gradient arithmetic, each one kernel call for a
 * whole gradient map (one tensor per variable of the enhancement network) where the plain ops
 * take several calls per variable:
 *
 * - `GradpromGradientStats`: ⟨main_k, aux_k⟩, |main_k|², |aux_k|² of every pair in one pass
 *   each, accumulated in float64 (the ops took cast, cast, mul, sum, square, sum, square, sum
 *   per variable and a stack).
 * - `GradpromLinearCombine`: a_k·main_k + b_k·aux_k for every pair, bit for bit what
 *   `tf.add(tf.mul(main, a), tf.mul(aux, b))` gives on the cpu backend, with the same short
 *   cuts (weights of 1 skip the multiply; a weight of 0 drops its term and the other input is
 *   shared, as `tf.clone` does, when its weight is 1).
 *
 * Both run on the cpu backend and on the project's `onednn` backend (the cpu backend's class
 * with native kernels; its tensors are the same typed arrays). Other backends (wasm, webgpu,
 * tensorflow) have no such kernel: `fusedGradientStats` and `fusedLinearCombine` then return
 * `undefined` and the caller runs the plain ops. So do inputs the kernels do not cover
 * (non-float32, disposed, or unequal shapes, which the ops may broadcast or reject).
 *
 * Registration happens when this module loads, for `cpu` and, if the `onednn` backend is
 * already registered, for `onednn`. When it is not yet, `registerOnednnBackend` copies every
 * cpu kernel, these included, when it runs (registering for `onednn` here first would make
 * that copy warn "already registered"). Idempotent.
 *
 * Internal to the strategies (`grad_math.ts`, `_linear.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type HostBackend, kernelInput, registerHostKernels } from "../backend/host_kernels.ts";

/** The name of the gradient-statistics kernel: output float32 `[3K]`, ⟨m, a⟩, |m|², |a|² per pair. */
export const GRADIENT_STATS_KERNEL = "GradpromGradientStats";
/** The name of the linear-combination kernel: output K tensors, `a_k·main_k + b_k·aux_k`. */
export const LINEAR_COMBINE_KERNEL = "GradpromLinearCombine";

function _floats(backend: HostBackend, t: tf.TensorInfo, name: string): Float32Array {
  const v = backend.readSync(t.dataId);
  if (!(v instanceof Float32Array)) {
    throw new TypeError(`Expected ${name} to hold float32 values but found ${t.dtype}`);
  }
  return v;
}

function _gradientStats(
  { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0],
): tf.TensorInfo {
  const be = backend as HostBackend;
  const count = (attrs as { count: number }).count;
  const out = new Float32Array(3 * count);
  for (let k = 0; k < count; k++) {
    const m = _floats(be, kernelInput(inputs, `main${k}`), `main${k}`);
    const a = _floats(be, kernelInput(inputs, `aux${k}`), `aux${k}`);
    if (m.length !== a.length) {
      throw new RangeError(
        `Expected main${k} and aux${k} of equal size but found ${m.length} and ${a.length}`,
      );
    }
    // JS numbers are float64: the products of float32 values are exact, the sums round once.
    let dot = 0, mm = 0, aa = 0;
    for (let i = 0; i < m.length; i++) {
      const x = m[i], y = a[i];
      dot += x * y;
      mm += x * x;
      aa += y * y;
    }
    out[3 * k] = dot;
    out[3 * k + 1] = mm;
    out[3 * k + 2] = aa;
  }
  return be.makeTensorInfo([3 * count], "float32", out);
}

function _shared(backend: HostBackend, t: tf.TensorInfo): tf.TensorInfo {
  // What the cpu Identity kernel (tf.clone) does: a new tensor over the same data.
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
}

/** `s·x` in float32, as the cpu Multiply kernel computes it (s already rounded to float32). */
function _scaled(out: Float32Array, x: Float32Array, s: number): void {
  for (let i = 0; i < x.length; i++) out[i] = x[i] * s;
}

function _linearCombine(
  { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0],
): tf.TensorInfo[] {
  const be = backend as HostBackend;
  const { a, b } = attrs as { a: number[]; b: number[] };
  const alloc = be.alloc ? (n: number) => be.alloc!(n) : (n: number) => new Float32Array(n);
  return a.map((ak, k) => {
    const bk = b[k];
    // Weights enter as float32 scalar tensors in the ops, so round them the same way.
    const af = Math.fround(ak), bf = Math.fround(bk);
    if (bk === 0) {
      const m = kernelInput(inputs, `main${k}`);
      if (ak === 1) return _shared(be, m);
      const mv = _floats(be, m, `main${k}`), out = alloc(mv.length);
      _scaled(out, mv, af);
      return be.makeTensorInfo(m.shape, "float32", out);
    }
    const x = kernelInput(inputs, `aux${k}`);
    if (ak === 0) {
      if (bk === 1) return _shared(be, x);
      const xv = _floats(be, x, `aux${k}`), out = alloc(xv.length);
      _scaled(out, xv, bf);
      return be.makeTensorInfo(x.shape, "float32", out);
    }
    const m = kernelInput(inputs, `main${k}`);
    const mv = _floats(be, m, `main${k}`), xv = _floats(be, x, `aux${k}`);
    if (mv.length !== xv.length) {
      throw new RangeError(
        `Expected main${k} and aux${k} of equal size but found ${mv.length} and ${xv.length}`,
      );
    }
    const out = alloc(mv.length), n = mv.length;
    // Each product is rounded to float32 (Math.fround) as the Multiply kernel's output is;
    // the store into the Float32Array rounds the sum as the Add kernel's output does.
    if (ak === 1 && bk === 1) {
      for (let i = 0; i < n; i++) out[i] = mv[i] + xv[i];
    } else if (ak === 1) {
      for (let i = 0; i < n; i++) out[i] = mv[i] + Math.fround(xv[i] * bf);
    } else if (bk === 1) {
      for (let i = 0; i < n; i++) out[i] = Math.fround(mv[i] * af) + xv[i];
    } else {
      for (let i = 0; i < n; i++) out[i] = Math.fround(mv[i] * af) + Math.fround(xv[i] * bf);
    }
    return be.makeTensorInfo(m.shape, "float32", out);
  });
}

const _KERNELS: [string, tf.KernelFunc][] = [
  [GRADIENT_STATS_KERNEL, _gradientStats as unknown as tf.KernelFunc],
  [LINEAR_COMBINE_KERNEL, _linearCombine as unknown as tf.KernelFunc],
];

/**
 * Registers both kernels for `cpu`, and for `onednn` when that backend is already registered
 * (otherwise its registration copies them from `cpu`). Idempotent; runs when this module loads.
 */
export function registerFusedKernels(): void {
  registerHostKernels(_KERNELS);
}

registerFusedKernels();

function _available(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

function _float32(t: unknown): t is tf.Tensor {
  return t instanceof tf.Tensor && !t.isDisposed && t.dtype === "float32";
}

function _sameShape(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * ⟨main_k, aux_k⟩, |main_k|², |aux_k|² for every k in one kernel call, each sum accumulated in
 * float64 and returned rounded to float32; `undefined` when the current backend has no such
 * kernel or an input is not a live float32 tensor of its pair's shape.
 */
export function fusedGradientStats(
  main: readonly tf.Tensor[],
  aux: readonly tf.Tensor[],
): Float32Array | undefined {
  if (main.length !== aux.length || !_available(GRADIENT_STATS_KERNEL)) return undefined;
  const inputs: tf.NamedTensorMap = {};
  for (let k = 0; k < main.length; k++) {
    const m = main[k], a = aux[k];
    if (!_float32(m) || !_float32(a) || !_sameShape(m, a)) return undefined;
    inputs[`main${k}`] = m;
    inputs[`aux${k}`] = a;
  }
  const attrs = { count: main.length } as unknown as tf.NamedAttrMap;
  const out = tf.engine().runKernel(GRADIENT_STATS_KERNEL, inputs, attrs) as tf.Tensor;
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

/**
 * `a[k]·main[key_k] + b[k]·aux[key_k]` for every key of `main`, in its order, in one kernel
 * call; bit-identical to the cpu backend's `tf.add(tf.mul(main, a), tf.mul(aux, b))` with a
 * weight of 1 skipping its multiply and a weight of 0 dropping its term (and giving a copy of
 * the other input when that one's weight is 1). `undefined` when the current backend has no
 * such kernel or an input used is not a live float32 tensor (of its pair's shape when both
 * are used). The caller owns the returned tensors.
 */
export function fusedLinearCombine(
  main: tf.NamedTensorMap,
  aux: tf.NamedTensorMap,
  a: readonly number[],
  b: readonly number[],
): tf.NamedTensorMap | undefined {
  const keys = Object.keys(main);
  if (keys.length === 0 || a.length !== keys.length || b.length !== keys.length) return undefined;
  if (!_available(LINEAR_COMBINE_KERNEL)) return undefined;
  const inputs: tf.NamedTensorMap = {};
  for (let k = 0; k < keys.length; k++) {
    const usesMain = b[k] === 0 || a[k] !== 0, usesAux = b[k] !== 0;
    const m = main[keys[k]], x = aux[keys[k]];
    if (usesMain && !_float32(m)) return undefined;
    if (usesAux && !_float32(x)) return undefined;
    if (usesMain && usesAux && !_sameShape(m, x)) return undefined;
    if (usesMain) inputs[`main${k}`] = m;
    if (usesAux) inputs[`aux${k}`] = x;
  }
  const attrs = { a: [...a], b: [...b] } as unknown as tf.NamedAttrMap;
  const outs = tf.engine().runKernel(LINEAR_COMBINE_KERNEL, inputs, attrs) as tf.Tensor[];
  return Object.fromEntries(keys.map((key, k) => [key, outs[k]]));
}
