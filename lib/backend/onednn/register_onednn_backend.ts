/**
 * The `onednn` TF.js backend: the pure-JS cpu backend (`MathBackendCPU`, whose tensors are
 * plain typed arrays) with the heavy kernels run by oneDNN, the CPU library PyTorch and
 * TensorFlow use, reached through `Deno.dlopen` (no compiled glue).
 *
 * Native kernels (`_kernels.ts`, the list `nativeKernels`): `Conv2D`, `FusedConv2D` (bias and
 * ReLU fused), `Conv2DBackpropInput`, `Conv2DBackpropFilter` (oneDNN convolutions, activations
 * NHWC, weights reordered per call into the layout oneDNN picks), `Relu` and `Tanh` and their
 * gradients (oneDNN eltwise; both gradients are re-registered to use one kernel on this
 * backend: `GradpromOnednnReluGrad` instead of Step, Cast and Multiply,
 * `GradpromOnednnTanhGrad` instead of Square, Sub and Multiply), `Prelu` and its gradient
 * (oneDNN prelu), `Square` (eltwise), `FusedBatchNorm` with given statistics (oneDNN batch
 * normalization), batch norm in training mode as one kernel each way
 * (`GradpromOnednnBatchNormTrain`: oneDNN forward training, batch statistics included; its
 * gradient `GradpromOnednnBatchNormTrainGrad`: oneDNN backward; `batch_norm_train.ts`, used by
 * `batchNorm` in lib/models/module.ts), the gradient of `Mean` (one oneDNN broadcast instead of
 * Fill, Multiply and RealDiv), `Add`, `Sub`, `Multiply`, `RealDiv` (oneDNN binary; the second
 * operand may broadcast, and for `Add` and `Multiply` either one), `Sum` and `Mean` over a
 * leading or a trailing block of axes or over all of them (a oneDNN matrix product with a
 * vector of ones). They run oneDNN on float32 tensors of at least 4096 elements
 * (`NATIVE_MIN_SIZE`; convolutions and training-mode batch norm of any size).
 *
 * Below that size, and where oneDNN does not apply, some of them run JS loops (counted as
 * `js`): the binary ops where one operand is full and the other a scalar or one value per row
 * or per column (`[C]` against `[..., C]`; a broadcast first operand of `Sub` and `RealDiv`
 * included), bit-identical to the cpu kernels; `Sum` and `Mean` over any one block of axes
 * (the global average pool `mean(x, [1, 2])` of NHWC), bit-identical to the cpu kernels; the
 * ReLU and tanh gradients. The rest (NCHW, other dtypes, `Relu`, `Tanh`, `Square`, `Prelu` and
 * `FusedBatchNorm` under 4096 elements, broadcasts in more than one block, reductions over
 * several blocks of axes) runs the cpu kernels.
 *
 * Plain-JS kernels (`jsKernels`, no oneDNN): `MaxPoolGrad`, `SplitV` and `Concat`, loops that
 * are ~100× faster than the cpu kernels, `SquaredDifference` (the binary ops' loop) and
 * `Softmax` over the last axis (one pass per row), both bit-identical to the cpu kernels.
 * Everything else runs the cpu kernels.
 *
 * `nativeCallCounts()` tells, per replacement kernel, how many calls ran oneDNN, ran JS, or
 * fell back to the cpu kernel.
 *
 * Kernel outputs are recycled through a pool (`_backend.ts`), since allocating a fresh array
 * cost more than the native kernel that fills it. oneDNN runs on OpenMP with its default team
 * (`OMP_NUM_THREADS`, else every core) for every primitive, and `OMP_WAIT_POLICY=passive` unless
 * the environment sets it (spinning threads cost a step 10× on a loaded machine; `_dnnl.ts`).
 *
 * Needs Debian's `libdnnl2` (oneDNN 2.x) and the FFI permission (`--allow-ffi`, or `-A`).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { loadDnnl } from "./_dnnl.ts";
import { _OnednnBackend } from "./_backend.ts";
import {
  _onednnKernelConfigs,
  BROADCAST_KERNEL,
  JS_KERNELS,
  NATIVE_KERNELS,
  PRELU_GRAD_KERNEL,
  RELU_GRAD_KERNEL,
  TANH_GRAD_KERNEL,
} from "./_kernels.ts";
import { registerBatchNormGradient } from "./batch_norm_gradient.ts";
import { registerBatchNormTrainGradient } from "./batch_norm_train.ts";

export { type KernelCallCounts, nativeCallCounts, resetNativeCallCounts } from "./_kernels.ts";

/** The TF.js backend name. */
export const ONEDNN_BACKEND = "onednn";

/** What `registerOnednnBackend` found. */
export interface OnednnInfo {
  /** oneDNN version, e.g. "2.6.3". */
  version: string;
  /** Kernels with a oneDNN path. */
  nativeKernels: readonly string[];
  /** Kernels replaced by plain-JS code (no oneDNN). */
  jsKernels: readonly string[];
}

let _info: OnednnInfo | undefined;

function _stockGradient(kernelName: string): tf.GradConfig {
  const stock = tf.getGradient(kernelName);
  if (stock === undefined) {
    throw new Error(
      `Expected the ${kernelName} gradient to be registered (registerGradients) before the ` +
        "onednn backend but found none",
    );
  }
  return stock;
}

/**
 * Re-registers the `Relu`, `Tanh`, `Mean` and `Prelu` gradients so that on the onednn backend
 * each is one kernel; on every other backend they run the gradients they replace.
 */
function _registerGradients(): void {
  const relu = _stockGradient("Relu");
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== ONEDNN_BACKEND) return relu.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return {
        x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x }) as tf.Tensor,
      };
    },
  });
  const tanh = _stockGradient("Tanh");
  tf.registerGradient({
    kernelName: "Tanh",
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== ONEDNN_BACKEND) return tanh.gradFunc(dy, saved, attrs);
      const [y] = saved;
      return {
        x: () => tf.engine().runKernel(TANH_GRAD_KERNEL, { dy: dy as tf.Tensor, y }) as tf.Tensor,
      };
    },
  });
  const mean = _stockGradient("Mean");
  tf.registerGradient({
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const size = x.size;
      if (tf.getBackend() !== ONEDNN_BACKEND || size < 4096 || x.dtype !== "float32") {
        return mean.gradFunc(dy, saved, attrs);
      }
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const reduceSize = tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1]
        .reduce((p, q) => p * q, 1);
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      // Same values as the stock (dy · 1) / n, with the division done before broadcasting.
      return {
        x: () => {
          const scaled = tf.div(tf.reshape(dy as tf.Tensor, expanded), reduceSize);
          return tf.engine().runKernel(BROADCAST_KERNEL, { x: scaled }, {
            shape: x.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor;
        },
      };
    },
  });
  const prelu = _stockGradient("Prelu");
  tf.registerGradient({
    kernelName: "Prelu",
    inputsToSave: ["x", "alpha"],
    gradFunc: (dy, saved, attrs) => {
      const [x, alpha] = saved;
      const c = x.shape.at(-1);
      const perChannel = alpha.shape.at(-1) === c && alpha.size === c && x.size >= 4096;
      if (tf.getBackend() !== ONEDNN_BACKEND || !perChannel || x.dtype !== "float32") {
        return prelu.gradFunc(dy, saved, attrs);
      }
      // The kernel computes both gradients in one pass; each closure runs it and keeps its
      // half, since the tape runs each closure in its own tidy (a tensor made by one closure
      // for the other would be disposed, or leak when the other is not called).
      const get = (i: number) => {
        const both = tf.engine().runKernel(PRELU_GRAD_KERNEL, {
          dy: dy as tf.Tensor,
          x,
          alpha,
        }) as tf.Tensor[];
        both[1 - i].dispose();
        return both[i];
      };
      return { x: () => get(0), alpha: () => get(1) };
    },
  });
}

/**
 * Loads oneDNN and registers the `onednn` backend (not activating it: call
 * `tf.setBackend("onednn")`). Call after the TF.js gradients are registered and after any
 * other cpu kernel is registered (they are copied now). Idempotent.
 *
 * @returns The oneDNN version, the native and the plain-JS kernels; throws if libdnnl 2.x
 *   cannot be loaded (or FFI is not permitted).
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerOnednnBackend } from "./register_onednn_backend.ts";
 * registerOnednnBackend();
 * await tf.setBackend("onednn");
 * ```
 */
export function registerOnednnBackend(): OnednnInfo {
  if (_info) return _info;
  const version = loadDnnl();
  const cpuKernels = tf.getKernelsForBackend("cpu");
  if (cpuKernels.length === 0) {
    throw new Error("Expected the cpu backend's kernels to be registered but found none");
  }
  tf.registerBackend(ONEDNN_BACKEND, () => new _OnednnBackend(), 0);
  for (const config of _onednnKernelConfigs(cpuKernels, ONEDNN_BACKEND)) {
    tf.registerKernel(config);
  }
  _registerGradients();
  registerBatchNormGradient(ONEDNN_BACKEND);
  registerBatchNormTrainGradient();
  _info = { version, nativeKernels: NATIVE_KERNELS, jsKernels: JS_KERNELS };
  return _info;
}
