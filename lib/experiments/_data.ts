/**
 * Data for the experiment runner: the configured dataset's train and test
 * splits as tensors, and a fingerprint of the data for cache keys.
 *
 * Every dataset is read by its own loader (its descriptor's `loadSplit`, see
 * `DATASETS` in `lib/data/registry.ts`) from the published layout: the user's
 * folder (`data.root`), or the embedded synthetic copy in the same layout,
 * generated on first use under `.cache/data/`. The descriptors say which
 * tasks, classes and image channels each dataset has; `diagnosis+segmentation`
 * (both auxiliaries on the same images) exists where every image has both.
 *
 * A user's folder is verified against its manifest, and its checksum lock
 * written (outside the folder), when a run first loads it
 * ({@link ensureDataLock}); computing a cache key ({@link dataFingerprint})
 * only ever reads.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import { join, relative, resolve } from "node:path";
import type { DatasetDescriptor, LoadedSplit } from "../data/dataset_descriptor.ts";
import { datasetChecksums, defaultLockPath, readLock, verifyDataset } from "../data/manifest.ts";
import { DATASET_IDS, datasetIds, DATASETS, datasetTasks, getDataset } from "../data/registry.ts";
import type { Dataset, ExperimentConfig, Task } from "./config.ts";

/** Tasks each dataset supports in experiments (from its descriptor). */
export const DATASET_TASKS: Record<Dataset, Task[]> = Object.fromEntries(
  DATASET_IDS.map((id) => [id, datasetTasks(DATASETS[id])]),
) as Record<Dataset, Task[]>;

/** Image channels and class counts of each dataset's tasks, for the models (from its descriptor). */
export const DATASET_SHAPES: Record<
  Dataset,
  { channels: number; diagnosisClasses: number; segmentationClasses: number }
> = Object.fromEntries(DATASET_IDS.map((id) => {
  const d: DatasetDescriptor = DATASETS[id];
  return [id, {
    channels: d.channels,
    diagnosisClasses: d.tasks.diagnosis?.classes.length ?? 0,
    segmentationClasses: d.tasks.segmentation?.classes.length ?? 0,
  }];
})) as Record<Dataset, { channels: number; diagnosisClasses: number; segmentationClasses: number }>;

/** Image channels and class counts of a dataset's tasks, for the models. */
export interface DatasetShapes {
  channels: number;
  diagnosisClasses: number;
  segmentationClasses: number;
}

/**
 * The tasks and shapes of a dataset id (a built-in or one added by
 * `registerDataset`), from its descriptor, or undefined for an unknown id.
 */
export function datasetInfo(id: string): { tasks: Task[]; shapes: DatasetShapes } | undefined {
  let d: DatasetDescriptor;
  try {
    d = getDataset(id);
  } catch {
    return undefined;
  }
  return {
    tasks: datasetTasks(d),
    shapes: {
      channels: d.channels,
      diagnosisClasses: d.tasks.diagnosis?.classes.length ?? 0,
      segmentationClasses: d.tasks.segmentation?.classes.length ?? 0,
    },
  };
}

/**
 * One split in memory: images, and the recognition targets of the task:
 * class labels `[N]` (`diagnosis`) and/or masks `[N, H, W, 1]` (`segmentation`).
 */
export interface Split {
  images: tf.Tensor4D;
  targets: { diagnosis?: tf.Tensor1D; segmentation?: tf.Tensor4D };
  ids: string[];
}

/** Train and test splits; `dispose()` frees both. */
export interface DataSplits {
  train: Split;
  test: Split;
  root: string;
  dispose(): void;
}

/** The subtasks of a task: `diagnosis+segmentation` → both. */
export function subtasks(task: Task): ("diagnosis" | "segmentation")[] {
  return task === "diagnosis+segmentation" ? ["diagnosis", "segmentation"] : [task];
}

/** The dataset folder of a config: the user's, or the embedded synthetic one (generated on first use). */
export async function dataRoot(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<string> {
  if (data.root) return data.root;
  const { synthetic } = getDataset(data.dataset);
  return await synthetic.root(synthetic.embedded);
}

/** The settings {@link loadSplits} reads. */
export type DataSelection = Pick<
  ExperimentConfig["data"],
  "dataset" | "root" | "task" | "size" | "splitSeed" | "trainLimit" | "testLimit"
>;

/**
 * Loads the train and test splits of a config's dataset (held out: the test
 * split is never seen in training; the val split is left for model selection).
 */
export async function loadSplits(data: DataSelection): Promise<DataSplits> {
  const dataset = getDataset(data.dataset);
  const tasks = datasetTasks(dataset);
  if (!tasks.includes(data.task)) {
    const paired = datasetIds().filter((id) => getDataset(id).pairedTasks);
    throw new TypeError(
      `Expected task ${tasks.join(" or ")} for ${data.dataset} but found ${data.task}` +
        (data.task === "diagnosis+segmentation" && dataset.tasks.segmentation
          ? ` (${dataset.name}'s labels and masks are on different images; use ${
            paired.join(" or ")
          })`
          : ""),
    );
  }
  await ensureDataLock(data);
  const root = await dataRoot(data);
  const train = await loadSplit(dataset, data, root, "train", data.trainLimit);
  let test: Split;
  try {
    test = await loadSplit(dataset, data, root, "test", data.testLimit);
  } catch (e) {
    disposeSplit(train);
    throw e;
  }
  return { train, test, root, dispose: () => (disposeSplit(train), disposeSplit(test)) };
}

function disposeSplit(s: Split): void {
  tf.dispose([s.images, ...Object.values(s.targets).filter((t) => t !== undefined)]);
}

async function loadSplit(
  dataset: DatasetDescriptor,
  data: DataSelection,
  root: string,
  split: "train" | "test",
  limit: number | null,
): Promise<Split> {
  const want = subtasks(data.task);
  const b: LoadedSplit = await dataset.loadSplit({
    root,
    tasks: want,
    size: data.size,
    split,
    seed: data.splitSeed,
    limit,
  });
  const targets: Split["targets"] = {};
  for (const t of want) {
    const target = t === "diagnosis" ? b.labels : b.masks;
    if (!target) {
      tf.dispose([b.images, b.labels, b.masks].filter((x) => x !== undefined) as tf.Tensor[]);
      throw new Error(
        `Expected ${t === "diagnosis" ? "class labels" : "masks"} in the ${split} split of ${root}`,
      );
    }
    (targets as Record<string, tf.Tensor>)[t] = target;
  }
  // Free what the task does not use.
  if (!want.includes("diagnosis")) b.labels?.dispose();
  if (!want.includes("segmentation")) b.masks?.dispose();
  const out: Split = { images: b.images, targets, ids: b.ids };
  return limit && limit < b.ids.length ? takeFirst(out, limit) : out;
}

/** The first `n` items of a split (the loaders' order is deterministic). */
function takeFirst(s: Split, n: number): Split {
  const cut = <T extends tf.Tensor>(t: T): T => {
    const r = tf.slice(t, 0, n) as T;
    t.dispose();
    return r;
  };
  return {
    images: cut(s.images),
    targets: Object.fromEntries(
      Object.entries(s.targets).map(([k, t]) => [k, cut(t as tf.Tensor)]),
    ) as Split["targets"],
    ids: s.ids.slice(0, n),
  };
}

const fingerprints = new Map<string, string>();

/**
 * A fingerprint of the data a config reads, for cache keys; it only reads.
 * For the embedded data: the generator's version and settings. For a user's
 * folder: a hash of the SHA-256 checksums of its files — those of the
 * dataset's lock when it has one (`deno task data:verify`, or the first run,
 * writes it: {@link ensureDataLock}), else computed now, which gives the same
 * value the lock will hold — together with the relative path, size and
 * modification time of every file, so that a file changed after the lock was
 * written also changes the key. Computed once per process and folder (a grid
 * asks for every run's key).
 */
export async function dataFingerprint(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<string> {
  if (!data.root) {
    const { synthetic } = getDataset(data.dataset);
    return `synthetic-${data.dataset}-v${synthetic.version}:${JSON.stringify(synthetic.embedded)}`;
  }
  const root = resolve(data.root);
  // Once per process and folder: a grid asks for every one of its runs' keys.
  const memo = `${data.dataset}\0${root}`;
  const hit = fingerprints.get(memo);
  if (hit) return hit;
  const stat = await statFingerprint(root);
  const sums = await readLock(defaultLockPath(data.dataset, root)) ?? await datasetChecksums(root);
  const h = createHash("sha256").update(JSON.stringify(sums)).digest("hex");
  const fp = `sha256-lock:${h}:${stat}`;
  fingerprints.set(memo, fp);
  return fp;
}

const verified = new Set<string>();

/**
 * Verifies a user's data folder against its manifest and writes its checksum
 * lock (outside the folder) when it has none yet, as `deno task data:verify`
 * does; a folder that does not verify stops here with the checks that
 * failed. Nothing to do for the embedded data or a folder with a lock.
 * {@link loadSplits} calls it, so a run does this when it starts.
 */
export async function ensureDataLock(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<void> {
  if (!data.root) return;
  const root = resolve(data.root);
  const memo = `${data.dataset}\0${root}`;
  if (verified.has(memo)) return;
  if (await readLock(defaultLockPath(data.dataset, root)) === undefined) {
    console.error(
      `data: no checksum lock for ${root} yet; verifying it (once) against the manifest`,
    );
    const report = await verifyDataset(data.dataset, root);
    if (!report.ok) {
      const failed = report.checks.filter((c) => c.status === "fail");
      throw new Error(
        `${root} does not verify as ${data.dataset}: ` +
          failed.map((c) => `${c.name}: ${c.detail}`).join("; ") +
          ` (see deno task data:verify ${data.dataset} ${root})`,
      );
    }
  }
  verified.add(memo);
}

/** A hash of the relative path, size and mtime of every file under `root`. */
async function statFingerprint(root: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch (e) {
      throw new Error(
        `Expected a readable dataset folder at ${dir} but found: ${(e as Error).message}`,
      );
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        const st = await Deno.stat(p);
        h.update(`${relative(root, p)}\t${st.size}\t${st.mtime?.getTime()}\n`);
      }
    }
  };
  await walk(root);
  return h.digest("hex").slice(0, 32);
}
