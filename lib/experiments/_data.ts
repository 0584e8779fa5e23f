/**
 * Data for the experiment runner: the configured dataset's train and test
 * splits as tensors, and a fingerprint of the data for cache keys.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { loadIsic2018 } from "../data/isic2018.ts";
import { ISIC2018_LAYOUT } from "../data/isic2018_classes.ts";
import {
  generateSyntheticIsic2018,
  SYNTHETIC_ISIC2018_VERSION,
} from "../data/synthetic_isic2018.ts";
import type { ExperimentConfig } from "./config.ts";

/** The embedded default: synthetic ISIC 2018 generator settings (80 images per class). */
export const SYNTHETIC_DEFAULT = { seed: 2018, task3PerClass: 80, task1Count: 120 } as const;

/** One split in memory: images, and class labels `[N]` (diagnosis) or masks `[N, H, W, 1]` (segmentation). */
export interface Split {
  images: tf.Tensor4D;
  labels: tf.Tensor;
  ids: string[];
}

/** Train and test splits; `dispose()` frees both. */
export interface DataSplits {
  train: Split;
  test: Split;
  root: string;
  dispose(): void;
}

/** The dataset folder of a config: the user's, or the embedded synthetic one (generated on first use). */
export async function dataRoot(data: ExperimentConfig["data"]): Promise<string> {
  if (data.root) return data.root;
  return await generateSyntheticIsic2018({ ...SYNTHETIC_DEFAULT });
}

/**
 * Loads the train and test splits of a config's dataset (held out: the test
 * split is never seen in training; the val split is left for model selection).
 */
export async function loadSplits(data: ExperimentConfig["data"]): Promise<DataSplits> {
  if (data.dataset !== "isic2018" || !["diagnosis", "segmentation"].includes(data.task)) {
    throw new TypeError(
      `Expected dataset isic2018 with task diagnosis or segmentation but found ${data.dataset} / ${data.task}`,
    );
  }
  const root = await dataRoot(data);
  const load = async (split: "train" | "test", limit: number | null): Promise<Split> => {
    const ds = await loadIsic2018({
      root,
      task: data.task,
      size: data.size,
      split,
      seed: data.splitSeed,
      ...(limit ? { limit } : {}),
    });
    const b = await ds.loadAll();
    const labels = data.task === "diagnosis" ? b.labels : b.masks;
    if (!labels) {
      throw new Error(
        `Expected ${data.task === "diagnosis" ? "labels" : "masks"} for ${split} of ${root}`,
      );
    }
    return { images: b.images, labels, ids: b.ids };
  };
  const train = await load("train", data.trainLimit);
  const test = await load("test", data.testLimit);
  return {
    train,
    test,
    root,
    dispose: () => tf.dispose([train.images, train.labels, test.images, test.labels]),
  };
}

/**
 * A fingerprint of the data a config reads, for cache keys: for the embedded
 * data the generator's version and settings; for a user's folder a hash of
 * the relative path, size and modification time of every file the task reads.
 */
export async function dataFingerprint(data: ExperimentConfig["data"]): Promise<string> {
  if (!data.root) {
    return `synthetic-isic2018-v${SYNTHETIC_ISIC2018_VERSION}:${JSON.stringify(SYNTHETIC_DEFAULT)}`;
  }
  const h = createHash("sha256");
  const folders = data.task === "diagnosis"
    ? [ISIC2018_LAYOUT.task3Input, ISIC2018_LAYOUT.task3GroundTruth]
    : [ISIC2018_LAYOUT.task1Input, ISIC2018_LAYOUT.task1GroundTruth];
  for (const f of folders) {
    const dir = join(data.root, f);
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile) continue;
      const st = await Deno.stat(join(dir, e.name));
      h.update(`${relative(data.root, join(dir, e.name))}\t${st.size}\t${st.mtime?.getTime()}\n`);
    }
  }
  return `files:${h.digest("hex")}`;
}
