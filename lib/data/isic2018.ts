/**
 * Loader for the ISIC 2018 challenge training data in its published on-disk layout
 * (or the synthetic copy from {@linkcode generateSyntheticIsic2018}).
 *
 * Expected under `root` (as unpacked from the challenge's zip files):
 * - segmentation (Task 1): `ISIC2018_Task1-2_Training_Input/ISIC_xxxxxxx.jpg` and
 *   `ISIC2018_Task1_Training_GroundTruth/ISIC_xxxxxxx_segmentation.png` (0 / 255);
 * - diagnosis (Task 3): `ISIC2018_Task3_Training_Input/ISIC_xxxxxxx.jpg` and
 *   `ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv`
 *   (header `image,MEL,NV,BCC,AKIEC,BKL,DF,VASC`, one-hot rows of `0.0` / `1.0`, CRLF
 *   line endings; columns are picked by name, so reordered class columns, `0` / `1` values
 *   and extra columns such as `score_weight` are accepted too).
 * Other files (`ATTRIBUTION.txt`, `LICENSE.txt`, hidden files) are ignored. Only the
 * folders of the requested task are needed. The loader only reads: it never writes
 * into `root`.
 *
 * Only the official *training* set has public labels for both tasks here, so it is
 * split into train / val / test with {@linkcode splitDataset} (stratified by class for
 * diagnosis, default 0.7 / 0.1 / 0.2, seed 0), independent of listing order.
 *
 * {@linkcode ISIC2018_DATASET} (at the end of this file) describes the dataset to the rest
 * of the library (registered in `DATASETS`, `registry.ts`): its tasks and classes, the
 * experiments' loader entry, its synthetic copy, and the checks of `tools/data.ts`.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { readImage } from "../io/read_image.ts";
import { readMask } from "../io/read_mask.ts";
import { Rng } from "../util/rng.ts";
import {
  _attempt,
  _countCheck,
  _decodeCheck,
  _expectedSource,
  _few,
  _listNames,
  _maskPixels,
  _num,
  _patternCheck,
  _requiredNames,
  _sizeMatchCheck,
} from "./_checks.ts";
import {
  _checkOptionKeys,
  _checkRoot,
  _checkSharedOptions,
  type _Entry,
  _LazyDataset,
  type _LazyInit,
} from "./_lazy_dataset.ts";
import type { DatasetDescriptor, DatasetInspection, VerifyCheck } from "./dataset_descriptor.ts";
import { _syntheticCopy } from "./_synthetic_copy.ts";
import { ISIC2018_CLASSES, ISIC2018_LAYOUT } from "./isic2018_classes.ts";
import { splitDataset } from "./split_dataset.ts";

export { ISIC2018_CLASSES, ISIC2018_LAYOUT } from "./isic2018_classes.ts";

/** The two ISIC 2018 tasks this loader reads. */
export type IsicTask = "diagnosis" | "segmentation";
/** A part of the seeded split of the official training set, or `all` of it. */
export type IsicSplit = "train" | "val" | "test" | "all";

/** Options of {@linkcode loadIsic2018}. */
export interface LoadIsic2018Options {
  /** Folder holding the `ISIC2018_*` folders. */
  root: string;
  /** `diagnosis` (Task 3, 7 classes) or `segmentation` (Task 1, lesion masks). */
  task: IsicTask;
  /** Output `[height, width]` of every image (and mask). */
  size: readonly [number, number];
  /** Which part of the split (default `all`: the whole training set). */
  split?: IsicSplit;
  /** Seed of the split and of `limit`'s subset (default 0). */
  seed?: number;
  /** Train, val, test fractions (default [0.7, 0.1, 0.2]). */
  splitFractions?: readonly [number, number, number];
  /** Keep at most this many items of the chosen part: a seeded, class-proportional subset. */
  limit?: number;
  /** `fill` (default) stretches to `size`; `cover` scales and crops the centre. */
  fit?: "fill" | "cover";
  /** Bytes of decoded, resized items kept in memory across epochs (default 512 MiB; 0: none). */
  cacheBytes?: number;
}

/**
 * A batch. `images` is NHWC float32 in [0, 1]; `labels` (diagnosis) int32 class
 * indices `[n]`; `masks` (segmentation) NHWC float32 `[n, h, w, 1]` of class
 * indices (0 background, 1 lesion). The caller owns the tensors:
 * `tf.dispose(batch)` frees them (a type alias, not an interface, so that it is a
 * `tf.TensorContainer`).
 */
export type IsicBatch = {
  images: tf.Tensor4D;
  labels?: tf.Tensor1D;
  masks?: tf.Tensor4D;
  ids: string[];
};

/** One decoded item: `image` HWC in [0, 1], `mask` HW class indices. */
export interface IsicItem {
  id: string;
  image: Float32Array;
  label?: number;
  mask?: Uint8Array;
}

/** Options of {@linkcode IsicDataset.batches}. */
export interface IsicBatchOptions {
  /** Shuffle the order (default false: id order). */
  shuffle?: boolean;
  /**
   * Shuffle seed. Without it, the k-th shuffled pass over this dataset object uses
   * `new Rng(seed).fork("epoch:k")` (seed of the load), so successive epochs differ
   * but a re-run is identical.
   */
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropRemainder?: boolean;
}

/** The loaded (part of the) dataset; items are decoded lazily, batch by batch. */
export interface IsicDataset {
  readonly root: string;
  readonly task: IsicTask;
  readonly split: IsicSplit;
  /** `[height, width]` of every image. */
  readonly size: [number, number];
  /** `ISIC2018_CLASSES` for diagnosis, `["background", "lesion"]` for segmentation. */
  readonly classNames: readonly string[];
  /** Item ids (`ISIC_xxxxxxx`) in id order. */
  readonly ids: readonly string[];
  /** Class index per item (diagnosis); `undefined` for segmentation. */
  readonly labels: Int32Array | undefined;
  readonly length: number;
  /** Image file of each item (and mask file, segmentation). */
  readonly imagePaths: readonly string[];
  readonly maskPaths: readonly string[] | undefined;
  /** Decodes (or takes from the cache) item `index`. */
  item(index: number): Promise<IsicItem>;
  /** Iterates over the items in batches; the next batch is decoded while one is used. */
  batches(batchSize: number, options?: IsicBatchOptions): AsyncIterable<IsicBatch>;
  /** All items as one batch (refused when the tensors would exceed max(`cacheBytes`, 64 MiB)). */
  loadAll(): Promise<IsicBatch>;
}

/**
 * Loads ISIC 2018 training data for one task from `root`, after checking the
 * layout. Errors say what is missing or wrong: a missing folder (listing what
 * was found), a CSV header that differs, a row that is not one-hot, duplicate ids,
 * images without a label or mask and labels or masks without an image. Undecodable
 * images are reported (with their path) when first read.
 *
 * @param options Root folder, task, output size, split and caching.
 * @returns The dataset; nothing is decoded yet.
 * @example
 * ```ts ignore
 * import { loadIsic2018 } from "./isic2018.ts";
 * import { generateSyntheticIsic2018 } from "./synthetic_isic2018.ts";
 * const root = await generateSyntheticIsic2018();
 * const train = await loadIsic2018({ root, task: "diagnosis", size: [48, 64], split: "train" });
 * for await (const batch of train.batches(16, { shuffle: true })) {
 *   // ... train on batch.images, batch.labels
 *   tf.dispose(batch);
 * }
 * ```
 */
export async function loadIsic2018(options: LoadIsic2018Options): Promise<IsicDataset> {
  const {
    root,
    task,
    size,
    split = "all",
    seed = 0,
    splitFractions = [0.7, 0.1, 0.2],
    limit,
    fit = "fill",
    cacheBytes = 512 * 2 ** 20,
  } = options;
  _checkOptionKeys("loadIsic2018", options, _OPTION_KEYS);
  if (task !== "diagnosis" && task !== "segmentation") {
    throw new TypeError(
      `Expected task "diagnosis" or "segmentation" but found ${JSON.stringify(task)}`,
    );
  }
  _checkSharedOptions({ split, size, fit, cacheBytes });
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(`Expected limit to be a positive integer but found ${limit}`);
  }
  await _checkRoot(root, "ISIC 2018");

  splitDataset([], { fractions: splitFractions }); // validates the fractions even for "all"
  const all = task === "diagnosis" ? await _scanDiagnosis(root) : await _scanSegmentation(root);
  let chosen: number[];
  if (split === "all") chosen = all.ids.map((_, i) => i);
  else {
    chosen = splitDataset(all.ids, { labels: all.labels, fractions: splitFractions, seed })[split];
  }
  if (limit !== undefined && limit < chosen.length) {
    chosen = _proportionalSubset(chosen, all.ids, all.labels, limit, seed);
  }
  return new _IsicDataset({
    root,
    task,
    split,
    size: [size[0], size[1]],
    fit,
    seed,
    cacheBytes,
    ids: chosen.map((i) => all.ids[i]),
    labels: all.labels ? Int32Array.from(chosen, (i) => all.labels![i]) : undefined,
    imagePaths: chosen.map((i) => all.imagePaths[i]),
    maskPaths: all.maskPaths ? chosen.map((i) => all.maskPaths![i]) : undefined,
  });
}

const _OPTION_KEYS = [
  "root",
  "task",
  "size",
  "split",
  "seed",
  "splitFractions",
  "limit",
  "fit",
  "cacheBytes",
];

interface _Scan {
  ids: string[];
  labels?: number[];
  imagePaths: string[];
  maskPaths?: string[];
}

const _IMAGE = /^(.+)\.(jpe?g|png)$/i;

/** Lists a required folder; a missing folder is reported with what `root` does contain. */
async function _listFolder(root: string, name: string, task: IsicTask): Promise<string[]> {
  return await _requiredNames(
    root,
    name,
    (found) =>
      `Missing folder ${name} in ${root} (needed for task "${task}"); found: ${
        found.length ? _few(found) : "nothing"
      }`,
  );
}

/** Maps id → file name for the images of a folder, rejecting two files with one id. */
function _images(names: string[], folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    const m = _IMAGE.exec(name);
    if (!m) continue;
    const prev = out.get(m[1]);
    if (prev) throw new Error(`Two images with id ${m[1]} in ${folder}: ${prev} and ${name}`);
    out.set(m[1], name);
  }
  return out;
}

async function _scanDiagnosis(root: string): Promise<_Scan> {
  const L = ISIC2018_LAYOUT;
  const inputDir = join(root, L.task3Input);
  const images = _images(await _listFolder(root, L.task3Input, "diagnosis"), inputDir);
  const gtNames = await _listFolder(root, L.task3GroundTruth, "diagnosis");
  const csvPath = join(root, L.task3GroundTruth, L.task3Csv);
  if (!gtNames.includes(L.task3Csv)) {
    throw new Error(
      `Missing label file ${csvPath}; found in its folder: ${_few(gtNames) || "nothing"}`,
    );
  }
  const { ids, labels } = _parseCsv(await Deno.readTextFile(csvPath), csvPath);
  if (ids.length === 0) throw new Error(`No label rows in ${csvPath}`);
  const noImage = ids.filter((id) => !images.has(id));
  if (noImage.length) {
    throw new Error(
      `${noImage.length} of ${ids.length} labelled ids in ${csvPath} have no image in ${inputDir}: ${
        _few(noImage)
      }`,
    );
  }
  const labelled = new Set(ids);
  const noLabel = [...images.keys()].filter((id) => !labelled.has(id));
  if (noLabel.length) {
    throw new Error(
      `${noLabel.length} images in ${inputDir} have no label row in ${csvPath}: ${
        _few(noLabel.map((id) => images.get(id)!))
      }`,
    );
  }
  const order = ids.map((_, i) => i).sort((a, b) => (ids[a] < ids[b] ? -1 : 1));
  return {
    ids: order.map((i) => ids[i]),
    labels: order.map((i) => labels[i]),
    imagePaths: order.map((i) => join(inputDir, images.get(ids[i])!)),
  };
}

/**
 * Parses the Task 3 ground-truth CSV, checking header, field count, one-hot rows, duplicates.
 * Columns are picked by name (as the official scorer does): redistributed copies reorder the
 * class columns, and the validation / test CSVs add `score_weight` and `validation_weight`,
 * which are ignored.
 */
function _parseCsv(text: string, path: string): { ids: string[]; labels: number[] } {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  const expected = ["image", ...ISIC2018_CLASSES].join(",");
  const header = (lines[0] ?? "").split(",").map((s) => s.trim());
  const columns = ["image", ...ISIC2018_CLASSES].map((name) => header.indexOf(name));
  if (columns.some((c) => c < 0)) {
    throw new Error(`Expected header "${expected}" in ${path} but found "${lines[0] ?? ""}"`);
  }
  const ids: string[] = [], labels: number[] = [];
  const seen = new Map<string, number>();
  for (let r = 1; r < lines.length; r++) {
    const line = lines[r];
    const fields = line.split(",").map((s) => s.trim());
    if (fields.length !== header.length) {
      const found = `${fields.length} fields, expected ${header.length}`;
      throw new Error(`Line ${r + 1} of ${path} has ${found}: "${line}"`);
    }
    const [id, ...values] = columns.map((c) => fields[c]);
    const v = values.map((s) => (s === "" ? NaN : Number(s)));
    const hot = v.flatMap((x, c) => (x === 1 ? [c] : []));
    if (!v.every((x) => x === 0 || x === 1) || hot.length !== 1) {
      throw new Error(`Line ${r + 1} of ${path} (${id}) is not one-hot: found ${values.join(",")}`);
    }
    if (id === "") throw new Error(`Line ${r + 1} of ${path} has an empty image id`);
    if (seen.has(id)) {
      throw new Error(
        `Id ${id} appears twice in ${path}, on lines ${seen.get(id)! + 1} and ${r + 1}`,
      );
    }
    seen.set(id, r);
    ids.push(id);
    labels.push(hot[0]);
  }
  return { ids, labels };
}

async function _scanSegmentation(root: string): Promise<_Scan> {
  const L = ISIC2018_LAYOUT;
  const inputDir = join(root, L.task1Input), gtDir = join(root, L.task1GroundTruth);
  const images = _images(await _listFolder(root, L.task1Input, "segmentation"), inputDir);
  const masks = new Map<string, string>();
  for (const name of await _listFolder(root, L.task1GroundTruth, "segmentation")) {
    if (name.endsWith(L.task1MaskSuffix)) masks.set(name.slice(0, -L.task1MaskSuffix.length), name);
  }
  if (images.size === 0) throw new Error(`No images (.jpg, .jpeg, .png) found in ${inputDir}`);
  const ids = [...images.keys()].sort();
  const noMask = ids.filter((id) => !masks.has(id));
  if (noMask.length) {
    throw new Error(
      `${noMask.length} images in ${inputDir} have no mask <id>${L.task1MaskSuffix} in ${gtDir}: ${
        _few(noMask.map((id) => images.get(id)!))
      }`,
    );
  }
  const noImage = [...masks.keys()].filter((id) => !images.has(id)).sort();
  if (noImage.length) {
    throw new Error(
      `${noImage.length} masks in ${gtDir} have no image in ${inputDir}: ${
        _few(noImage.map((id) => masks.get(id)!))
      }`,
    );
  }
  return {
    ids,
    imagePaths: ids.map((id) => join(inputDir, images.get(id)!)),
    maskPaths: ids.map((id) => join(gtDir, masks.get(id)!)),
  };
}

/**
 * A seeded subset of `limit` of `chosen` whose class mix follows the whole: each
 * class is shuffled and its k-th member gets the key (k + 0.5) / n_class; the
 * `limit` smallest keys are kept (returned in id order).
 */
function _proportionalSubset(
  chosen: number[],
  ids: readonly string[],
  labels: readonly number[] | undefined,
  limit: number,
  seed: number,
): number[] {
  const groups = new Map<number, number[]>();
  for (const i of chosen) {
    const g = labels ? labels[i] : 0;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  }
  const rng = new Rng(seed);
  const keyed: [number, number, number][] = [];
  for (const [g, members] of groups) {
    const shuffled = rng.fork(`limit:${g}`).shuffle(members);
    shuffled.forEach((i, k) => keyed.push([(k + 0.5) / shuffled.length, g, i]));
  }
  keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return keyed.slice(0, limit).map((k) => k[2]).sort((a, b) => (ids[a] < ids[b] ? -1 : 1));
}

interface _Init extends _LazyInit {
  task: IsicTask;
  split: IsicSplit;
  maskPaths: string[] | undefined;
}

/** Class names of the segmentation masks (0 background, 1 lesion). */
const _SEGMENTATION_CLASSES: readonly string[] = ["background", "lesion"];

class _IsicDataset extends _LazyDataset<IsicItem, IsicBatch> implements IsicDataset {
  readonly task: IsicTask;
  readonly split: IsicSplit;
  readonly classNames: readonly string[];
  readonly maskPaths: readonly string[] | undefined;

  constructor(init: _Init) {
    super(init, { channels: 3, masks: init.maskPaths !== undefined, concurrency: 16 });
    this.task = init.task;
    this.split = init.split;
    this.classNames = init.task === "diagnosis" ? ISIC2018_CLASSES : _SEGMENTATION_CLASSES;
    this.maskPaths = init.maskPaths;
  }

  protected async decode(index: number): Promise<_Entry> {
    const [h, w] = this.size;
    const [img, mask] = await Promise.all([
      readImage(this.imagePaths[index], { size: [h, w], channels: 3, fit: this.fit }),
      this.maskPaths
        ? readMask(this.maskPaths[index], { size: [h, w], fit: this.fit, binary: true })
        : Promise.resolve(undefined),
    ]);
    return { image: img.data, mask };
  }
}

// ---------------------------------------------------------------- the dataset's descriptor

const _isicLoadSplit: DatasetDescriptor["loadSplit"] = async (o) => {
  // ISIC's loader draws `limit` as a seeded subset (kept from earlier versions).
  const ds = await loadIsic2018({
    root: o.root,
    task: o.tasks[0],
    size: o.size,
    split: o.split,
    seed: o.seed,
    ...(o.limit ? { limit: o.limit } : {}),
  });
  return await ds.loadAll();
};

const _ISIC_IMAGE = /^ISIC_\d{7}\.jpg$/;
const _ISIC_MASK = /^ISIC_\d{7}_segmentation\.png$/;

/**
 * The Task 3 CSV's header, by column names as the loader and the official scorer read it:
 * `image` and the seven class columns in any order; other columns (`score_weight`,
 * `validation_weight` of the validation / test CSVs) are named and ignored.
 */
async function _csvHeaderCheck(csvPath: string): Promise<VerifyCheck> {
  const name = "diagnosis: CSV header";
  const wanted = ["image", ...ISIC2018_CLASSES];
  const text = await Deno.readTextFile(csvPath).catch(() => undefined);
  if (text === undefined) return { name, status: "fail", detail: `missing ${csvPath}` };
  const first = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0].trim();
  const columns = first.split(",").map((c) => c.trim());
  const missing = wanted.filter((c) => !columns.includes(c));
  const twice = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (missing.length || twice.length) {
    const why = [
      missing.length ? `no ${missing.join(", ")}` : "",
      twice.length ? `${twice.join(", ")} twice` : "",
    ].filter(Boolean).join("; ");
    return {
      name,
      status: "fail",
      detail: `expected "${wanted.join(",")}" but found "${first}" ` +
        `(${why}; columns are taken by name, in any order)`,
    };
  }
  const extra = columns.filter((c) => !wanted.includes(c));
  const order = columns.filter((c) => wanted.includes(c)).join(",") === wanted.join(",")
    ? ""
    : " (columns reordered)";
  return {
    name,
    status: "pass",
    detail: `${wanted.join(",")}${order}${extra.length ? `; ignored: ${extra.join(", ")}` : ""}`,
  };
}

const _isicVerify: DatasetDescriptor["verify"] = async (root, manifest, options) => {
  const L = ISIC2018_LAYOUT;
  const checks: VerifyCheck[] = [];
  const present = {
    diagnosis: (await _listNames(join(root, L.task3Input))) !== undefined,
    segmentation: (await _listNames(join(root, L.task1Input))) !== undefined,
  };
  let tasks: IsicTask[];
  if (options.task !== undefined) tasks = [options.task as IsicTask];
  else {
    tasks = (["diagnosis", "segmentation"] as const).filter((t) => present[t]);
    if (!tasks.length) {
      const found = (await _listNames(root)) ?? [];
      checks.push({
        name: "folders",
        status: "fail",
        detail: `neither ${L.task3Input} nor ${L.task1Input} in ${root}; found: ${
          _few(found) || "nothing"
        }`,
      });
      return checks;
    }
    for (const t of ["diagnosis", "segmentation"] as const) {
      if (!present[t]) {
        checks.push({ name: `task ${t}`, status: "info", detail: "not present (partial copy)" });
      }
    }
  }
  // Expected counts: the synthetic marker's or the manifest's generator settings, or the real ones.
  const from = await _expectedSource(checks, root, manifest, options, ISIC2018_DATASET);
  const v = from.values, per = _num(from.kind === "real" ? undefined : v.task3PerClass);
  const expected = from.kind === "real"
    ? {
      task1: _num(v.task1_training_images),
      task3: _num(v.task3_training_images),
      perClass: typeof v.task3_training_class_counts === "object"
        ? v.task3_training_class_counts as Record<string, number>
        : undefined,
    }
    : {
      task1: _num(v.task1Count),
      task3: per === undefined ? undefined : per * ISIC2018_CLASSES.length,
      perClass: per === undefined
        ? undefined
        : Object.fromEntries(ISIC2018_CLASSES.map((c) => [c, per])),
    };

  for (const task of tasks) {
    const inputName = task === "diagnosis" ? L.task3Input : L.task1Input;
    const gtName = task === "diagnosis" ? L.task3GroundTruth : L.task1GroundTruth;
    const input = await _listNames(join(root, inputName));
    const gt = await _listNames(join(root, gtName));
    const missing = [input ? "" : inputName, gt ? "" : gtName].filter(Boolean);
    checks.push(
      missing.length
        ? { name: `${task}: folders`, status: "fail", detail: `missing ${missing.join(", ")}` }
        : { name: `${task}: folders`, status: "pass", detail: `${inputName}, ${gtName}` },
    );
    if (!input || !gt) continue;
    const images = _patternCheck(checks, inputName, input, _ISIC_IMAGE, "ISIC_<7 digits>.jpg");

    // Structure (pairing, one-hot rows, duplicates) as the loader sees it.
    const ds = await _attempt(
      checks,
      `${task}: loader`,
      () => loadIsic2018({ root, task, size: [1, 1], cacheBytes: 0 }),
      (d) => `loadIsic2018 reads ${d.length} items`,
    );

    if (task === "diagnosis") {
      checks.push(await _csvHeaderCheck(join(root, gtName, L.task3Csv)));
      checks.push(_countCheck("diagnosis: images", images.length, expected.task3, from.source));
      if (ds?.labels) {
        const hist: Record<string, number> = {};
        for (const c of ISIC2018_CLASSES) hist[c] = 0;
        for (const l of ds.labels) hist[ISIC2018_CLASSES[l]]++;
        const text = ISIC2018_CLASSES.map((c) => `${c} ${hist[c]}`).join(", ");
        const per = expected.perClass;
        const wrong = per ? ISIC2018_CLASSES.filter((c) => per[c] !== hist[c]) : [];
        checks.push(
          !per
            ? { name: "diagnosis: classes", status: "info", detail: text, kind: "count" }
            : wrong.length
            ? {
              name: "diagnosis: classes",
              status: "fail",
              detail: `expected ${
                wrong.map((c) => `${c} ${per[c]}`).join(", ")
              } (${from.source}) but found ${text}`,
              kind: "count",
            }
            : { name: "diagnosis: classes", status: "pass", detail: text, kind: "count" },
        );
      }
      await _decodeCheck(checks, inputName, images.map((n) => join(root, inputName, n)));
    } else {
      const masks = _patternCheck(
        checks,
        gtName,
        gt,
        _ISIC_MASK,
        "ISIC_<7 digits>_segmentation.png",
      );
      checks.push(_countCheck("segmentation: images", images.length, expected.task1, from.source));
      checks.push(_countCheck("segmentation: masks", masks.length, expected.task1, from.source));
      const imageSizes = await _decodeCheck(
        checks,
        inputName,
        images.map((n) => join(root, inputName, n)),
      );
      const maskSizes = await _decodeCheck(checks, gtName, masks.map((n) => join(root, gtName, n)));
      const mismatched: string[] = [];
      for (const m of masks) {
        const img = join(root, inputName, m.replace(L.task1MaskSuffix, ".jpg"));
        const a = imageSizes.get(img), b = maskSizes.get(join(root, gtName, m));
        if (a && b && a !== b) mismatched.push(`${m} (${b}, image ${a})`);
      }
      checks.push(_sizeMatchCheck("segmentation: mask sizes", mismatched, "mask"));
    }
  }
  return checks;
};

const _isicInspectSplit: DatasetInspection["split"] = async (root, task, split, seed) => {
  const ds = await loadIsic2018({
    root,
    task: task as IsicTask,
    size: [1, 1],
    split,
    seed,
    cacheBytes: 0,
  });
  return {
    imagePaths: ds.imagePaths,
    labels: ds.labels && { names: ds.classNames, values: ds.labels },
    maskPixels: ds.maskPaths && _maskPixels(ds.classNames, ds.maskPaths, (p) => readMask(p)),
  };
};

/**
 * ISIC 2018 as the library knows it: Task 3 diagnosis (7 classes) and Task 1
 * lesion segmentation, on different image sets (so no `diagnosis+segmentation`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ISIC2018_DATASET } from "./isic2018.ts";
 * assert.equal(ISIC2018_DATASET.tasks.diagnosis?.classes.length, 7);
 * ```
 */
export const ISIC2018_DATASET: DatasetDescriptor<"isic2018"> = {
  id: "isic2018",
  name: "ISIC 2018",
  channels: 3,
  tasks: {
    diagnosis: { classes: ISIC2018_CLASSES, about: "Task 3 (HAM10000), 7 classes" },
    segmentation: { classes: _SEGMENTATION_CLASSES, about: "Task 1 lesion masks, 2 classes" },
  },
  // Task 1's masks and Task 3's labels are on different images.
  pairedTasks: false,
  loadSplit: _isicLoadSplit,
  // The embedded copy: 80 Task 3 images per class (560) and 120 Task 1 images with masks.
  synthetic: _syntheticCopy(
    {
      version: 1,
      marker: ".synthetic-isic2018.json",
      embedded: { seed: 2018, task3PerClass: 80, task1Count: 120 },
    },
    async () => (await import("./synthetic_isic2018.ts")).generateSyntheticIsic2018,
  ),
  verify: _isicVerify,
  inspect: {
    defaultTask: "diagnosis",
    note: "verify checks every task present",
    split: _isicInspectSplit,
  },
};
