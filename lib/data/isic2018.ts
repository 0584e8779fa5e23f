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
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { readImage } from "../io/read_image.ts";
import { readMask } from "../io/read_mask.ts";
import { Rng } from "../util/rng.ts";
import { _batchGroups, _decodeItems, _prefetchBatches } from "./_batches.ts";
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
  for (const key of Object.keys(options)) {
    if (!_OPTION_KEYS.includes(key)) {
      throw new TypeError(
        `Unknown option "${key}" for loadIsic2018; expected one of ${_OPTION_KEYS.join(", ")}`,
      );
    }
  }
  if (task !== "diagnosis" && task !== "segmentation") {
    throw new TypeError(
      `Expected task "diagnosis" or "segmentation" but found ${JSON.stringify(task)}`,
    );
  }
  if (!["train", "val", "test", "all"].includes(split)) {
    throw new TypeError(
      `Expected split "train", "val", "test" or "all" but found ${JSON.stringify(split)}`,
    );
  }
  if (
    !Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)
  ) {
    throw new RangeError(
      `Expected size [height, width] of positive integers but found ${JSON.stringify(size)}`,
    );
  }
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(`Expected limit to be a positive integer but found ${limit}`);
  }
  if (!(Number.isFinite(cacheBytes) && cacheBytes >= 0)) {
    throw new RangeError(`Expected cacheBytes >= 0 but found ${cacheBytes}`);
  }
  const info = await Deno.stat(root).catch(() => undefined);
  if (!info) throw new Error(`ISIC 2018 root folder not found: ${root}`);
  if (!info.isDirectory) {
    throw new Error(`Expected ISIC 2018 root to be a folder but found a file: ${root}`);
  }

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
  const path = join(root, name);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) if (!e.name.startsWith(".")) names.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      const found: string[] = [];
      for await (const e of Deno.readDir(root)) if (!e.name.startsWith(".")) found.push(e.name);
      found.sort();
      throw new Error(
        `Missing folder ${name} in ${root} (needed for task "${task}"); found: ${
          found.length ? _few(found) : "nothing"
        }`,
        { cause: err },
      );
    }
    throw err;
  }
  return names.sort();
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

/** Up to five names, then a count of the rest. */
function _few(names: readonly string[]): string {
  const head = names.slice(0, 5).join(", ");
  return names.length > 5 ? `${head} (and ${names.length - 5} more)` : head;
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

interface _Init {
  root: string;
  task: IsicTask;
  split: IsicSplit;
  size: [number, number];
  fit: "fill" | "cover";
  seed: number;
  cacheBytes: number;
  ids: string[];
  labels: Int32Array | undefined;
  imagePaths: string[];
  maskPaths: string[] | undefined;
}

class _IsicDataset implements IsicDataset {
  readonly root: string;
  readonly task: IsicTask;
  readonly split: IsicSplit;
  readonly size: [number, number];
  readonly classNames: readonly string[];
  readonly ids: readonly string[];
  readonly labels: Int32Array | undefined;
  readonly imagePaths: readonly string[];
  readonly maskPaths: readonly string[] | undefined;
  #fit: "fill" | "cover";
  #seed: number;
  #cacheBytes: number;
  #cacheUsed = 0;
  #cache = new Map<number, { image: Float32Array; mask?: Uint8Array }>();
  #epochs = 0;

  constructor(init: _Init) {
    this.root = init.root;
    this.task = init.task;
    this.split = init.split;
    this.size = init.size;
    this.classNames = init.task === "diagnosis" ? ISIC2018_CLASSES : ["background", "lesion"];
    this.ids = init.ids;
    this.labels = init.labels;
    this.imagePaths = init.imagePaths;
    this.maskPaths = init.maskPaths;
    this.#fit = init.fit;
    this.#seed = init.seed;
    this.#cacheBytes = init.cacheBytes;
  }

  get length(): number {
    return this.ids.length;
  }

  async item(index: number): Promise<IsicItem> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`Expected an item index in [0, ${this.length}) but found ${index}`);
    }
    let entry = this.#cache.get(index);
    if (!entry) {
      const [h, w] = this.size;
      const [img, mask] = await Promise.all([
        readImage(this.imagePaths[index], { size: [h, w], channels: 3, fit: this.#fit }),
        this.maskPaths
          ? readMask(this.maskPaths[index], { size: [h, w], fit: this.#fit, binary: true })
          : Promise.resolve(undefined),
      ]);
      entry = { image: img.data, mask };
      const bytes = img.data.byteLength + (mask?.byteLength ?? 0);
      if (this.#cacheUsed + bytes <= this.#cacheBytes && !this.#cache.has(index)) {
        this.#cache.set(index, entry);
        this.#cacheUsed += bytes;
      }
    }
    return {
      id: this.ids[index],
      image: entry.image,
      label: this.labels ? this.labels[index] : undefined,
      mask: entry.mask,
    };
  }

  batches(batchSize: number, options: IsicBatchOptions = {}): AsyncIterable<IsicBatch> {
    const groups = _batchGroups(
      this.length,
      batchSize,
      options,
      () => new Rng(this.#seed).fork(`epoch:${this.#epochs++}`),
    );
    return _prefetchBatches(groups, (i) => this.item(i), (items) => this.#toBatch(items), 16);
  }

  #toBatch(items: IsicItem[]): IsicBatch {
    const [h, w] = this.size, n = items.length, px = h * w;
    const images = new Float32Array(n * px * 3);
    items.forEach((it, k) => images.set(it.image, k * px * 3));
    const batch: IsicBatch = {
      images: tf.tensor4d(images, [n, h, w, 3]),
      ids: items.map((it) => it.id),
    };
    if (this.labels) batch.labels = tf.tensor1d(items.map((it) => it.label!), "int32");
    if (this.maskPaths) {
      const masks = new Float32Array(n * px);
      items.forEach((it, k) => masks.set(it.mask!, k * px));
      batch.masks = tf.tensor4d(masks, [n, h, w, 1]);
    }
    return batch;
  }

  async loadAll(): Promise<IsicBatch> {
    const [h, w] = this.size;
    const bytes = this.length * h * w * (3 + (this.maskPaths ? 1 : 0)) * 4;
    if (bytes > Math.max(this.#cacheBytes, 64 * 2 ** 20)) {
      throw new RangeError(
        `loadAll() would hold ${
          (bytes / 2 ** 20).toFixed(0)
        } MiB of tensors, more than cacheBytes ` +
          `(${(this.#cacheBytes / 2 ** 20).toFixed(0)} MiB); use batches() or raise cacheBytes`,
      );
    }
    return this.#toBatch(await _decodeItems(this.ids.map((_, i) => i), (i) => this.item(i), 16));
  }
}
