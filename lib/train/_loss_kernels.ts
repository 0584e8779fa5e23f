/**
 * The segmentation loss (softmax cross-entropy plus soft Dice over `[M, K]` logits and `M`
 * integer labels) as one TF.js kernel each way, where the plain ops take about 80 kernel calls
 * for a forward and backward pass (logSoftmax's max, sub, exp, sum, log; softmax; one-hot;
 * products and reductions; their gradients): 18.9 ms against ~2 ms for 8×64×64 pixels of 4
 * classes on the onednn backend.
 *
 * - `GradpromSegmentationLoss`: inputs `logits` float32 `[M, K]`, `labels` `[M]` (int32 or
 *   float32 class indices; one outside `[0, K)` is a pixel without a class, as `tf.oneHot`
 *   makes it). Outputs the loss (a float32 scalar) and the softmax `[M, K]` (saved for the
 *   gradient).
 * - `GradpromSegmentationLossGrad`: inputs `dy` (scalar), `probs` (that softmax), `labels`;
 *   output d loss / d logits `[M, K]`.
 *
 * The sums (cross-entropy, each class's ⟨p, t⟩, Σp and Σt) are accumulated in float64 and every
 * per-element value is computed in float64 and rounded once, so results equal the plain ops'
 * up to float32 rounding (tested to 1e-5), not bit for bit: the plain ops round after each of
 * their kernels and reduce in the backend's order.
 *
 * Registered for `cpu` and (when it is already registered, else its registration copies them
 * from `cpu`) `onednn`, as `lib/strategies/_fused_kernels.ts` does; other backends run the
 * plain ops. Internal to `losses.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type HostBackend, kernelInput, registerHostKernels } from "../backend/host_kernels.ts";

/** The forward kernel's name. */
export const SEGMENTATION_LOSS_KERNEL = "GradpromSegmentationLoss";
/** The gradient kernel's name. */
export const SEGMENTATION_LOSS_GRAD_KERNEL = "GradpromSegmentationLossGrad";

type _Labels = Float32Array | Int32Array;

function _alloc(be: HostBackend, n: number): Float32Array {
  return be.alloc ? be.alloc(n) : new Float32Array(n);
}

function _read(be: HostBackend, t: tf.TensorInfo, name: string): _Labels {
  const v = be.readSync(t.dataId);
  if (!(v instanceof Float32Array) && !(v instanceof Int32Array)) {
    throw new TypeError(`Expected ${name} to hold numbers but found ${t.dtype}`);
  }
  return v;
}

/** Each pixel's class as `tf.cast(·, "int32")` then `tf.oneHot` see it: −1 for none. */
function _classes(labels: _Labels, m: number, k: number): Int32Array {
  if (labels.length !== m) {
    throw new RangeError(`Expected ${m} labels but found ${labels.length}`);
  }
  const cls = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const c = labels[i] | 0;
    cls[i] = c >= 0 && c < k ? c : -1;
  }
  return cls;
}

/** Per class: ⟨p, t⟩ and Σp + Σt + 1 (Dice's smoothed denominator), in float64. */
function _diceSums(p: Float32Array, cls: Int32Array, k: number) {
  const inter = new Float64Array(k), denom = new Float64Array(k).fill(1);
  for (let i = 0, o = 0; i < cls.length; i++, o += k) {
    for (let j = 0; j < k; j++) denom[j] += p[o + j];
    const c = cls[i];
    if (c >= 0) {
      inter[c] += p[o + c];
      denom[c] += 1;
    }
  }
  return { inter, denom };
}

function _forward({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const be = backend as unknown as HostBackend;
  const logitsInfo = kernelInput(inputs, "logits");
  const z = _read(be, logitsInfo, "logits");
  if (!(z instanceof Float32Array) || logitsInfo.shape.length !== 2) {
    throw new TypeError(
      `Expected float32 logits [M, K] but found ${logitsInfo.dtype} [${logitsInfo.shape}]`,
    );
  }
  const [m, k] = logitsInfo.shape;
  const cls = _classes(_read(be, kernelInput(inputs, "labels"), "labels"), m, k);
  const p = _alloc(be, m * k);
  let ce = 0;
  const e = new Float64Array(k); // one row's exponentials, each computed once
  for (let i = 0, o = 0; i < m; i++, o += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) if (z[o + j] > max) max = z[o + j];
    let sum = 0;
    for (let j = 0; j < k; j++) sum += e[j] = Math.exp(z[o + j] - max);
    for (let j = 0; j < k; j++) p[o + j] = e[j] / sum;
    const c = cls[i];
    if (c >= 0) ce -= z[o + c] - max - Math.log(sum);
  }
  const { inter, denom } = _diceSums(p, cls, k);
  let dice = 0;
  for (let j = 0; j < k; j++) dice += (2 * inter[j] + 1) / denom[j];
  const loss = ce / m + (1 - dice / k);
  return [
    be.makeTensorInfo([], "float32", new Float32Array([loss])),
    be.makeTensorInfo([m, k], "float32", p),
  ];
}

function _backward({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const be = backend as unknown as HostBackend;
  const dy = _read(be, kernelInput(inputs, "dy"), "dy")[0];
  const pInfo = kernelInput(inputs, "probs");
  const p = _read(be, pInfo, "probs") as Float32Array;
  const [m, k] = pInfo.shape;
  const cls = _classes(_read(be, kernelInput(inputs, "labels"), "labels"), m, k);
  const { inter, denom } = _diceSums(p, cls, k);
  // dDice/dp_mk = a_k − t_mk·b_k, then through the softmax: p_mk·(g_mk − Σ_j p_mj·g_mj).
  const a = new Float64Array(k), b = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    a[j] = (2 * inter[j] + 1) / (denom[j] * denom[j] * k);
    b[j] = 2 / (denom[j] * k);
  }
  const dz = _alloc(be, m * k);
  for (let i = 0, o = 0; i < m; i++, o += k) {
    const c = cls[i];
    let pg = 0;
    for (let j = 0; j < k; j++) pg += p[o + j] * a[j];
    if (c >= 0) pg -= p[o + c] * b[c];
    // Cross-entropy: (p·Σt − t) / M, Σt being 1 for a pixel with a class and 0 without.
    const s = c >= 0 ? 1 : 0;
    for (let j = 0; j < k; j++) {
      const pj = p[o + j];
      const g = j === c ? a[j] - b[j] : a[j];
      const ceGrad = (pj * s - (j === c ? 1 : 0)) / m;
      dz[o + j] = dy * (ceGrad + pj * (g - pg));
    }
  }
  return be.makeTensorInfo([m, k], "float32", dz);
}

const _KERNELS: [string, tf.KernelFunc][] = [
  [SEGMENTATION_LOSS_KERNEL, _forward as unknown as tf.KernelFunc],
  [SEGMENTATION_LOSS_GRAD_KERNEL, _backward as unknown as tf.KernelFunc],
];

/**
 * Registers both kernels for `cpu`, and for `onednn` when that backend is already registered,
 * and the forward kernel's gradient. Idempotent; runs when this module loads.
 */
export function registerLossKernels(): void {
  registerHostKernels(_KERNELS);
  if (tf.getGradient(SEGMENTATION_LOSS_KERNEL) === undefined) {
    tf.registerGradient({
      kernelName: SEGMENTATION_LOSS_KERNEL,
      inputsToSave: ["labels"],
      outputsToSave: [false, true],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [labels, probs] = saved;
        const dLoss = Array.isArray(dy) ? dy[0] : dy;
        return {
          logits: () =>
            tf.engine().runKernel(SEGMENTATION_LOSS_GRAD_KERNEL, {
              dy: dLoss,
              probs,
              labels,
            }) as tf.Tensor,
        };
      },
    });
  }
}

registerLossKernels();

/**
 * The segmentation loss of `logits` `[..., K]` against `labels` (one class index per row of
 * K) in one kernel call, with its gradient one more; `undefined` when the current backend has
 * no such kernel or the logits are not a live float32 tensor with as many rows as labels.
 *
 * @param logits Float32 logits, classes on the last axis.
 * @param labels Class indices, one per row of `logits` (any shape of that size).
 * @returns Cross-entropy (mean over rows) plus 1 − the mean over classes of the smoothed Dice
 *   coefficient (ε = 1), as a scalar.
 */
export function fusedSegmentationLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
): tf.Scalar | undefined {
  if (tf.getKernel(SEGMENTATION_LOSS_KERNEL, tf.getBackend()) === undefined) return undefined;
  if (logits.isDisposed || logits.dtype !== "float32" || logits.rank < 1) return undefined;
  if (labels.isDisposed || (labels.dtype !== "int32" && labels.dtype !== "float32")) {
    return undefined;
  }
  const k = logits.shape[logits.rank - 1];
  const m = logits.size / k;
  if (labels.size !== m || k === 0) return undefined;
  return tf.tidy(() => {
    const outs = tf.engine().runKernel(SEGMENTATION_LOSS_KERNEL, {
      logits: tf.reshape(logits, [m, k]),
      labels: tf.reshape(labels, [m]),
    }) as tf.Tensor[];
    return outs[0] as tf.Scalar;
  });
}
