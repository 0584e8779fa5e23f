/**
 * The held-out test images of an experiment, clean and degraded exactly as the runner degrades
 * them, for figures drawn from trained networks (qualitative grids, attention maps).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ExperimentConfig } from "../experiments/config.ts";
import { loadSplits } from "../experiments/_data.ts";
import { degradeTestImages } from "../experiments/run_experiment.ts";

/** Test images of a config: clean, degraded, and the recognition targets. */
export interface DegradedTestSet {
  clean: tf.Tensor4D;
  degraded: tf.Tensor4D;
  /** Class labels `[N]` (diagnosis) and/or masks `[N, H, W, 1]` (segmentation). */
  targets: { diagnosis?: tf.Tensor1D; segmentation?: tf.Tensor4D };
  ids: string[];
  /** Frees the tensors. */
  dispose(): void;
}

/**
 * Loads a config's test split and degrades it with the runner's own fixed test degradation
 * (`degradeTestImages`: the seed is derived from `data.splitSeed` and the degradation, never
 * from the run's seed), so the images are the very ones a run's metrics were measured on; the
 * test of this file checks that the input PSNR it gives equals a run's `psnrInput`. For
 * super-resolution `degraded` is the low-resolution image.
 *
 * @param config An experiment config.
 * @returns The test set; call `dispose()` after use.
 * @example
 * ```ts ignore
 * const set = await degradedTestSet(getExperiment("table1-isic-denoise").grid("quick")[0]);
 * console.log(set.clean.shape, set.degraded.shape);
 * set.dispose();
 * ```
 */
export async function degradedTestSet(config: ExperimentConfig): Promise<DegradedTestSet> {
  const data = await loadSplits(config.data);
  tf.dispose([data.train.images, ...Object.values(data.train.targets)]);
  const degraded = degradeTestImages(config, data.test.images);
  const { images: clean, targets, ids } = data.test;
  return {
    clean,
    degraded,
    targets,
    ids,
    dispose: () => tf.dispose([clean, degraded, ...Object.values(targets)]),
  };
}
