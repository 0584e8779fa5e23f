/**
 * The trained networks of a finished run, rebuilt from its config and the
 * weights saved beside its result in the cache.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { setupBackend } from "../backend/setup_backend.ts";
import { decodeWeightsInto } from "../models/checkpoint.ts";
import { type SrResNet, srResNet } from "../models/sr_resnet.ts";
import type { Recognizer } from "../train/train_step.ts";
import type { ExperimentConfig } from "./config.ts";
import { subtasks } from "./_data.ts";
import { makeVr } from "./_networks.ts";
import { ResultsCache } from "./results_cache.ts";

/** A run's trained networks, rebuilt from its config and its saved weights. */
export interface RunModels {
  ip: SrResNet;
  /** The run's VR after training (for Benchmark-i and Frozen-params, the pre-trained one). */
  vr: Recognizer;
  /** `diagnosis+segmentation` runs: the segmentation network (`vr` is then the classifier). */
  segmenter?: Recognizer;
  dispose(): void;
}

/**
 * Loads the trained IP and VR networks of a finished run from the cache
 * (saved beside its result since library version 0.2).
 *
 * @param result A run's result (from `runExperiment` or `runGrid`): its `key` and `config`.
 * @param cache The cache it came from.
 * @returns Both networks, ready for `apply(x, { training: false })`; call `dispose()` after use.
 * @throws {Error} When a weights file is missing, or naming the file and what is wrong with it
 *   when it is empty, truncated or not a weights file (nothing is left allocated).
 * @example
 * ```ts ignore
 * const [r] = await runGrid(getExperiment("table1-isic-denoise").grid("quick").slice(0, 1));
 * const { ip, vr, dispose } = await loadRunModels(r);
 * const y = ip.apply(x, { training: false });
 * dispose();
 * ```
 */
export async function loadRunModels(
  result: { key: string; config: ExperimentConfig },
  cache: ResultsCache = new ResultsCache(),
): Promise<RunModels> {
  await setupBackend();
  const read = async (name: string) => {
    const path = cache.sidePath("runs", result.key, name);
    try {
      return { bytes: new Uint8Array(await readFile(path)), path };
    } catch {
      throw new Error(
        `Expected the trained weights of run ${result.key} at ${path} but found none ` +
          `(results from before weights were saved: run again with force)`,
      );
    }
  };
  const [ipFile, vrFile] = [await read("ip.bin"), await read("vr.bin")];
  const extraFile = subtasks(result.config.data.task).length > 1 ? await read("vr1.bin") : null;
  const ip = srResNet(result.config.ip, 0);
  const [task, extraTask] = subtasks(result.config.data.task);
  const vr = makeVr(result.config, 0, task);
  const segmenter = extraTask ? makeVr(result.config, 0, extraTask) : undefined;
  const dispose = () => (ip.module.dispose(), vr.module.dispose(), segmenter?.module.dispose());
  try {
    decodeWeightsInto(ip.module, ipFile.bytes, ipFile.path);
    decodeWeightsInto(vr.module, vrFile.bytes, vrFile.path);
    if (segmenter && extraFile) {
      decodeWeightsInto(segmenter.module, extraFile.bytes, extraFile.path);
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return { ip, vr, ...(segmenter ? { segmenter } : {}), dispose };
}
