/**
 * What the project's plain-JS kernels on the host backends share: the `cpu` backend and the
 * `onednn` backend (the cpu backend's class with native kernels; its tensors are the same typed
 * arrays). Used by the strategies' fused gradient arithmetic (`lib/strategies/_fused_kernels.ts`)
 * and the fused segmentation loss (`lib/train/_loss_kernels.ts`).
 *
 * Internal to `lib/`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** What the kernels use of the cpu backend (and of the onednn backend, its subclass). */
export interface HostBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  incRef(dataId: tf.DataId): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  /** The onednn backend's pooled allocation (contents undefined); absent on cpu. */
  alloc?(n: number): Float32Array;
}

/**
 * A kernel's named input.
 *
 * @throws {RangeError} When the kernel was called without it.
 */
export function kernelInput(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new RangeError(`Expected kernel input '${name}' but found none`);
  return t;
}

/**
 * Registers `kernels` for `cpu`, and for `onednn` when that backend is already registered (when
 * it is not yet, `registerOnednnBackend` copies every cpu kernel, these included, when it runs;
 * registering for `onednn` here first would make that copy warn "already registered").
 * Idempotent: a kernel already registered for a backend is left as it is.
 *
 * @param kernels Pairs of kernel name and kernel function.
 */
export function registerHostKernels(kernels: readonly [string, tf.KernelFunc][]): void {
  const backends = ["cpu"];
  if (tf.findBackendFactory("onednn") !== null) backends.push("onednn");
  for (const backendName of backends) {
    for (const [kernelName, kernelFunc] of kernels) {
      if (tf.getKernel(kernelName, backendName) === undefined) {
        tf.registerKernel({ kernelName, backendName, kernelFunc });
      }
    }
  }
}
