/**
 * Data for the experiment runner: the configured dataset's train and test
 * splits as tensors, and a fingerprint of the data for cache keys.
 *
 * Every dataset is read by its own loader from the published layout: the
 * user's folder (`data.root`), or the embedded synthetic copy in the same
 * layout, generated on first use under `.cache/data/`.
 *
 * | dataset    | diagnosis (VR = ResNet)         | segmentation (VR = U-Net)           | channels |
 * | ---------- | ------------------------------- | ----------------------------------- | -------- |
 * | `isic2018` | Task 3, 7 classes               | Task 1 lesion masks, 2 classes      | 3        |
 * | `covid_ct` | COVID / NonCOVID, 2 classes     | —                                   | 1        |
 * | `lizard`   | dominant nucleus type, 6 classes| nucleus type per pixel, 7 classes   | 3        |
 * | `camus`    | view (2CH / 4CH), 2 classes     | background/LV/myocardium/LA, 4      | 1        |
 *
 * `diagnosis+segmentation` (both auxiliaries on the same images) exists for
 * Lizard and CAMUS; ISIC 2018's Task 1 and Task 3 are different image sets.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import { join, relative, resolve } from "node:path";
import { readFile } from "node:fs/promises";
import { loadCamus } from "../data/camus.ts";
import { loadCovidCt } from "../data/covid_ct.ts";
import { loadIsic2018 } from "../data/isic2018.ts";
import { loadLizard } from "../data/lizard.ts";
import { defaultLockPath, verifyDataset } from "../data/manifest.ts";
import { generateSyntheticCamus, SYNTHETIC_CAMUS_VERSION } from "../data/synthetic_camus.ts";
import {
  generateSyntheticCovidCt,
  SYNTHETIC_COVID_CT_VERSION,
} from "../data/synthetic_covid_ct.ts";
import {
  generateSyntheticIsic2018,
  SYNTHETIC_ISIC2018_VERSION,
} from "../data/synthetic_isic2018.ts";
import { generateSyntheticLizard, SYNTHETIC_LIZARD_VERSION } from "../data/synthetic_lizard.ts";
import type { Dataset, ExperimentConfig, Task } from "./config.ts";

/** The embedded default: synthetic ISIC 2018 generator settings (80 images per class). */
export const SYNTHETIC_DEFAULT = { seed: 2018, task3PerClass: 80, task1Count: 120 } as const;

/** Generator settings of each dataset's embedded default (see the generators for the layouts). */
export const SYNTHETIC_DEFAULTS: Record<Dataset, Record<string, number>> = {
  isic2018: { ...SYNTHETIC_DEFAULT },
  // 106 train / 30 val / 51 test slices (the official split's proportions).
  covid_ct: {},
  // 120 tiles (24 per source), split by Lizard's folds.
  lizard: { perSource: 24 },
  // 40 patients × 2 views × 2 phases, the official split's proportions.
  camus: { patients: 40 },
};

const SYNTHETIC_VERSIONS: Record<Dataset, number> = {
  isic2018: SYNTHETIC_ISIC2018_VERSION,
  covid_ct: SYNTHETIC_COVID_CT_VERSION,
  lizard: SYNTHETIC_LIZARD_VERSION,
  camus: SYNTHETIC_CAMUS_VERSION,
};

/** Tasks each dataset supports in experiments. */
export const DATASET_TASKS: Record<Dataset, Task[]> = {
  isic2018: ["diagnosis", "segmentation"],
  covid_ct: ["diagnosis"],
  lizard: ["diagnosis", "segmentation", "diagnosis+segmentation"],
  camus: ["diagnosis", "segmentation", "diagnosis+segmentation"],
};

/** Image channels and class counts of each dataset's tasks, for the models. */
export const DATASET_SHAPES: Record<
  Dataset,
  { channels: number; diagnosisClasses: number; segmentationClasses: number }
> = {
  isic2018: { channels: 3, diagnosisClasses: 7, segmentationClasses: 2 },
  covid_ct: { channels: 1, diagnosisClasses: 2, segmentationClasses: 0 },
  lizard: { channels: 3, diagnosisClasses: 6, segmentationClasses: 7 },
  camus: { channels: 1, diagnosisClasses: 2, segmentationClasses: 4 },
};

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
  const options = SYNTHETIC_DEFAULTS[data.dataset];
  switch (data.dataset) {
    case "isic2018":
      return await generateSyntheticIsic2018(options);
    case "covid_ct":
      return await generateSyntheticCovidCt(options);
    case "lizard":
      return await generateSyntheticLizard(options);
    case "camus":
      return (await generateSyntheticCamus(options)).nifti;
  }
  throw new TypeError(`Unknown dataset ${JSON.stringify(data.dataset)}`);
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
  const tasks = DATASET_TASKS[data.dataset];
  if (!tasks) {
    throw new TypeError(
      `Expected dataset ${Object.keys(DATASET_TASKS).join(", ")} but found ${data.dataset}`,
    );
  }
  if (!tasks.includes(data.task)) {
    throw new TypeError(
      `Expected task ${tasks.join(" or ")} for ${data.dataset} but found ${data.task}` +
        (data.dataset === "isic2018" && data.task === "diagnosis+segmentation"
          ? " (ISIC 2018's Task 1 masks and Task 3 labels are on different images; use lizard or camus)"
          : ""),
    );
  }
  const root = await dataRoot(data);
  const train = await loadSplit(data, root, "train", data.trainLimit);
  let test: Split;
  try {
    test = await loadSplit(data, root, "test", data.testLimit);
  } catch (e) {
    disposeSplit(train);
    throw e;
  }
  return { train, test, root, dispose: () => (disposeSplit(train), disposeSplit(test)) };
}

function disposeSplit(s: Split): void {
  tf.dispose([s.images, ...Object.values(s.targets).filter((t) => t !== undefined)]);
}

interface Loaded {
  images: tf.Tensor4D;
  labels?: tf.Tensor1D;
  masks?: tf.Tensor4D;
  ids: string[];
}

async function loadSplit(
  data: DataSelection,
  root: string,
  split: "train" | "test",
  limit: number | null,
): Promise<Split> {
  const want = subtasks(data.task);
  const seed = data.splitSeed;
  let b: Loaded;
  switch (data.dataset) {
    case "isic2018": {
      // ISIC's loader draws `limit` as a seeded subset (kept from earlier versions).
      const ds = await loadIsic2018({
        root,
        task: data.task as "diagnosis" | "segmentation",
        size: data.size,
        split,
        seed,
        ...(limit ? { limit } : {}),
      });
      b = await ds.loadAll();
      break;
    }
    case "covid_ct":
      b = await (await loadCovidCt({ root, size: data.size, split, channels: 1, seed })).loadAll();
      break;
    case "camus":
      // Images, masks and the view label of every (patient, view, phase).
      b = await (await loadCamus({ root, size: data.size, split, seed, label: "view" }))
        .loadAll();
      break;
    case "lizard": {
      const parts: Loaded[] = [];
      for (const t of want) {
        const task = t === "diagnosis" ? "classification" : "segmentation";
        parts.push(
          await (await loadLizard({ root, size: data.size, split, seed, task })).loadAll(),
        );
      }
      b = parts.length === 1 ? parts[0] : joinById(parts[0], parts[1]);
      break;
    }
    default:
      throw new TypeError(`Unknown dataset ${JSON.stringify(data.dataset)}`);
  }
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

/** Lizard's classification batch (labels) joined with its segmentation batch (masks) by tile id. */
function joinById(cls: Loaded, seg: Loaded): Loaded {
  const at = new Map(seg.ids.map((id, i) => [id, i]));
  const ids = cls.ids.filter((id) => at.has(id));
  const iCls = tf.tensor1d(ids.map((id) => cls.ids.indexOf(id)), "int32");
  const iSeg = tf.tensor1d(ids.map((id) => at.get(id)!), "int32");
  const out: Loaded = {
    images: tf.gather(cls.images, iCls),
    labels: tf.gather(cls.labels!, iCls),
    masks: tf.gather(seg.masks!, iSeg),
    ids,
  };
  tf.dispose([iCls, iSeg, cls.images, cls.labels!, seg.images, seg.masks!]);
  return out;
}

const fingerprints = new Map<string, string>();

/**
 * A fingerprint of the data a config reads, for cache keys. For the embedded
 * data: the generator's version and settings. For a user's folder: the
 * SHA-256 checksums of the dataset's lock (`deno task data:verify`; verified
 * and written now if the folder has none, so an unverifiable folder fails
 * here with the checks that failed) together with the relative path, size
 * and modification time of every file, so that a file changed after the
 * lock was written also changes the key. Computed once per process and
 * folder (a grid asks for every run's key).
 */
export async function dataFingerprint(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<string> {
  if (!data.root) {
    return `synthetic-${data.dataset}-v${SYNTHETIC_VERSIONS[data.dataset]}:${
      JSON.stringify(SYNTHETIC_DEFAULTS[data.dataset])
    }`;
  }
  const root = resolve(data.root);
  // Once per process and folder: a grid asks for every one of its runs' keys.
  const memo = `${data.dataset}\0${root}`;
  const hit = fingerprints.get(memo);
  if (hit) return hit;
  const stat = await statFingerprint(root);
  const lockPath = defaultLockPath(data.dataset, root);
  let lock: string;
  try {
    lock = await readFile(lockPath, "utf8");
  } catch {
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
    lock = await readFile(lockPath, "utf8");
  }
  const sums = (JSON.parse(lock) as { files?: Record<string, string> }).files;
  if (!sums) throw new Error(`Expected a "files" object of checksums in ${lockPath}`);
  const h = createHash("sha256").update(JSON.stringify(sums)).digest("hex");
  const fp = `sha256-lock:${h}:${stat}`;
  fingerprints.set(memo, fp);
  return fp;
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
