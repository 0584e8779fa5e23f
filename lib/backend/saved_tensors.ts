/**
 * Tensors saved for the backward pass without a kernel call each.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The engine members {@link lightenSavedTensors} uses (tfjs-core 4.22.0's `Engine`). */
interface _SavingEngine {
  state: {
    gradientDepth: number;
    tensorInfo: { get(dataId: object): { backend: unknown } | undefined };
  };
  backend: { incRef?(dataId: object): void };
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: unknown): tf.Tensor;
  keep<T extends tf.Tensor>(t: T): T;
  _gradpromLightSaves?: boolean;
}

/**
 * Makes TF.js keep the tensors a kernel saves for its backward pass as plain new references to
 * the same data, instead of an `Identity` kernel call plus a tape node each (about 330 of each
 * in a quick-profile GradProm step, and twice as many nodes for every backward pass to walk).
 * What a saved tensor holds, and when its data is freed, are as before: a new tensor on the
 * same data with its own reference, kept out of `tidy`, disposed with the tape. The `Identity`
 * tape node only matters to a gradient of a gradient (a tape recording while another is open),
 * so nested recordings, and backends without `incRef`, keep TF.js's own way. Installed once per
 * engine (`setupBackend` and `recordTape` call it); numbers are unchanged, as no arithmetic
 * is involved.
 *
 * @throws {Error} When this TF.js has no engine members where tfjs-core 4.22.0 has them.
 */
export function lightenSavedTensors(): void {
  const e = tf.engine() as unknown as _SavingEngine;
  if (e._gradpromLightSaves) return;
  if (
    typeof e.saveTensorsForBackwardMode !== "function" ||
    typeof e.makeTensorFromTensorInfo !== "function" || typeof e.keep !== "function" ||
    typeof e.state?.tensorInfo?.get !== "function"
  ) {
    throw new Error(
      `This TF.js (tfjs-core ${tf.version_core}) has no engine.saveTensorsForBackwardMode, ` +
        "makeTensorFromTensorInfo or state.tensorInfo as tfjs-core 4.22.0 has; " +
        "lightenSavedTensors (lib/backend/saved_tensors.ts) needs updating for it",
    );
  }
  const original = e.saveTensorsForBackwardMode;
  e.saveTensorsForBackwardMode = function (this: _SavingEngine, tensors: tf.Tensor[]) {
    const backend = this.backend;
    if (
      this.state.gradientDepth !== 1 || typeof backend.incRef !== "function" ||
      tensors.some((t) => t == null || this.state.tensorInfo.get(t.dataId)?.backend !== backend)
    ) {
      return original.call(this, tensors);
    }
    return tensors.map((t) => {
      backend.incRef!(t.dataId);
      const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype } as tf.TensorInfo;
      return this.keep(this.makeTensorFromTensorInfo(info, backend));
    });
  };
  e._gradpromLightSaves = true;
}
