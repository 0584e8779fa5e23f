/**
 * Loader for the Lizard colonic nuclei dataset (Graham et al., ICCVW 2021) in its
 * published on-disk layout (or the synthetic copy from {@linkcode generateSyntheticLizard}).
 *
 * Expected under `root` (as unpacked from the three archives; every path can be
 * overridden with `layout`, since the exact folder names are from the Kaggle / TIA
 * Centre release and not checked against a real copy here):
 * - `lizard_images1/Lizard_Images1/*.png` and `lizard_images2/Lizard_Images2/*.png`;
 * - `lizard_labels/Lizard_Labels/Labels/<name>.mat` (MATLAB v5: `inst_map` H×W instance
 *   ids, 0 background; `id` N×1; `class` N×1 in 1–6);
 * - `lizard_labels/Lizard_Labels/info.csv` with columns `Filename,Source,Split`
 *   (Split = fold 1, 2 or 3; a Filename extension is ignored).
 * Copies whose inner folders were moved up to the top (`Lizard_Images1/`, `Lizard_Images2/`,
 * `Lizard_Labels/{Labels,info.csv}`, {@linkcode LIZARD_LAYOUT_FLAT}) are found too: each piece
 * not given in `layout` is looked for at its published path, then without the lower-case
 * wrapper folder. A partial copy with only one of the two image folders loads the tiles it
 * has: the `info.csv` rows without an image are left out and named in `notes` (with both
 * image folders there, a row without an image is an error).
 *
 * Tasks: `segmentation` gives per-pixel nucleus classes (0 background, 1–6 as in
 * {@linkcode LIZARD_CLASSES}) from `inst_map` and `id` → `class`; `diagnosis`
 * gives an image-level label, **the nucleus class covering the most pixels** of the
 * tile (ties to the lower class), as 0–5 (= class − 1). Tiles without nuclei have no
 * such label and are left out of `diagnosis` (listed in `excludedIds`). `classification`,
 * the old name of `diagnosis`, is still accepted.
 *
 * Splits follow `info.csv`'s folds: `test` = `testFolds` (default [3]); `val` =
 * `valFolds` when given, else a seeded `valFraction` (default 0.2) of the remaining
 * tiles stratified by source ({@linkcode splitDataset}); `train` = the rest.
 * The loader only reads: it never writes into `root`.
 *
 * {@linkcode LIZARD_DATASET} (at the end of this file) describes the dataset to the rest
 * of the library (registered in `DATASETS`, `registry.ts`): its tasks and classes, the
 * experiments' loader entry, its synthetic copy, and the checks of `tools/data.ts`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { join, relative } from "node:path";
import { readImage } from "../io/read_image.ts";
import { readMat } from "../io/mat_v5.ts";
import {
  _attempt,
  _countCheck,
  _decodeCheck,
  _expectedSource,
  _few,
  _listNames,
  _maskPixels,
  _num,
  _readCheck,
  _requiredNames,
  _sizeMatchCheck,
} from "./_checks.ts";
import {
  _checkOptionKeys,
  _checkSharedOptions,
  type _Entry,
  _LazyDataset,
  type _LazyInit,
} from "./_lazy_dataset.ts";
import {
  type DatasetDescriptor,
  type DatasetInspection,
  type LoadedSplit,
  TASK_ALIASES,
  type VerifyCheck,
} from "./dataset_descriptor.ts";
import { _syntheticCopy } from "./_synthetic_copy.ts";
import { splitDataset } from "./split_dataset.ts";

/** Lizard's nucleus classes; `class` value k in the `.mat` files is `LIZARD_CLASSES[k - 1]`. */
export const LIZARD_CLASSES: readonly string[] = [
  "Neutrophil",
  "Epithelial",
  "Lymphocyte",
  "Plasma",
  "Eosinophil",
  "Connective",
];

/** Paths under the dataset root (relative, `/`-separated). */
export interface LizardLayout {
  /** Folders holding the `.png` tiles. */
  imageDirs: readonly string[];
  /** Folder holding one `<name>.mat` per tile. */
  labelDir: string;
  /** The CSV with `Filename,Source,Split`. */
  infoCsv: string;
}

/** The published layout (the Kaggle / TIA Centre archives unpacked side by side). */
export const LIZARD_LAYOUT: LizardLayout = {
  imageDirs: ["lizard_images1/Lizard_Images1", "lizard_images2/Lizard_Images2"],
  labelDir: "lizard_labels/Lizard_Labels/Labels",
  infoCsv: "lizard_labels/Lizard_Labels/info.csv",
};

/** The published layout with the inner folders moved up to the top (no wrapper folders). */
export const LIZARD_LAYOUT_FLAT: LizardLayout = {
  imageDirs: ["Lizard_Images1", "Lizard_Images2"],
  labelDir: "Lizard_Labels/Labels",
  infoCsv: "Lizard_Labels/info.csv",
};

/** The two tasks this loader serves (`classification` is still accepted for `diagnosis`). */
export type LizardTask = "segmentation" | "diagnosis";

/** The five sources of Lizard's tiles, as they appear in file names and `info.csv`. */
export const LIZARD_SOURCES: readonly string[] = ["consep", "crag", "dpath", "glas", "pannuke"];
/** A part of the fold split, or `all`. */
export type LizardSplit = "train" | "val" | "test" | "all";

/** Options of {@linkcode loadLizard}. */
export interface LoadLizardOptions {
  /** Dataset root (holding `lizard_images1`, `lizard_images2`, `lizard_labels`). */
  root: string;
  /** Output `[height, width]` of every image and mask. */
  size: readonly [number, number];
  /**
   * `segmentation` (default; masks of 7 classes) or `diagnosis` (majority class);
   * `classification`, the old name of `diagnosis`, is accepted too.
   */
  task?: LizardTask | "classification";
  /** Which part (default `all`). */
  split?: LizardSplit;
  /** Folds forming `test` (default [3]). */
  testFolds?: readonly number[];
  /** Folds forming `val`; default: a seeded `valFraction` of the non-test tiles. */
  valFolds?: readonly number[];
  /** Fraction of the non-test tiles for `val` when `valFolds` is not given (default 0.2). */
  valFraction?: number;
  /** Seed of the val split and shuffles (default 0). */
  seed?: number;
  /** `fill` (default) stretches to `size`; `cover` scales and crops the centre. */
  fit?: "fill" | "cover";
  /** Bytes of decoded, resized items kept in memory (default 512 MiB; 0: none). */
  cacheBytes?: number;
  /** Overrides of {@linkcode LIZARD_LAYOUT}'s paths. */
  layout?: Partial<LizardLayout>;
}

/**
 * A batch: `images` NHWC float32 in [0, 1]; `masks` (segmentation) `[n, h, w, 1]`
 * float32 class indices 0–6; `labels` (diagnosis) int32 `[n]` in 0–5. The caller
 * owns the tensors (`tf.dispose(batch)`).
 */
export type LizardBatch = {
  images: tf.Tensor4D;
  masks?: tf.Tensor4D;
  labels?: tf.Tensor1D;
  ids: string[];
};

/** One decoded item: `image` HWC in [0, 1]; `mask` HW class indices (segmentation). */
export interface LizardItem {
  id: string;
  image: Float32Array;
  mask?: Uint8Array;
  label?: number;
}

/** Options of {@linkcode LizardDataset.batches}. */
export interface LizardBatchOptions {
  /** Shuffle (default false). Without `seed`, pass k uses `new Rng(seed).fork("epoch:k")`. */
  shuffle?: boolean;
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropRemainder?: boolean;
}

/** The loaded (part of the) dataset; items decode lazily. */
export interface LizardDataset {
  readonly root: string;
  readonly task: LizardTask;
  readonly split: LizardSplit;
  readonly size: [number, number];
  /** `["background", ...LIZARD_CLASSES]` (segmentation) or `LIZARD_CLASSES` (diagnosis). */
  readonly classNames: readonly string[];
  /** Tile names (`consep_1`, …) in name order. */
  readonly ids: readonly string[];
  /** Source of each tile (`consep`, `crag`, …) and its fold. */
  readonly sources: readonly string[];
  readonly folds: readonly number[];
  /** Image-level labels 0–5 (diagnosis); undefined for segmentation. */
  readonly labels: Int32Array | undefined;
  /** Tiles of the chosen part left out for having no nuclei (diagnosis). */
  readonly excludedIds: readonly string[];
  /**
   * What the loader tolerated in a partial copy: an image folder not there (only one of the
   * two image archives unpacked), naming the tiles of `info.csv` left out for it.
   */
  readonly notes: readonly string[];
  readonly imagePaths: readonly string[];
  readonly labelPaths: readonly string[];
  readonly length: number;
  item(index: number): Promise<LizardItem>;
  batches(batchSize: number, options?: LizardBatchOptions): AsyncIterable<LizardBatch>;
  /** All items as one batch (refused above max(`cacheBytes`, 64 MiB) of tensors). */
  loadAll(): Promise<LizardBatch>;
}

/**
 * Loads Lizard from `root` after checking the layout. Errors name what is missing or
 * wrong: a missing folder or `info.csv` (listing what was found), a CSV header without
 * `Filename`, `Source` or `Split`, a bad fold, duplicate names, tiles without an image,
 * `.mat` or CSV row. A `.mat` without `inst_map`/`id`/`class`, with an `inst_map` id not
 * in `id`, a class outside 1–6 or a size differing from its image is reported with its
 * path when first read.
 *
 * @param options Root, output size, task, split and caching.
 * @returns The dataset (labels of `diagnosis` are computed now; pixels lazily).
 * @example
 * ```ts ignore
 * import { loadLizard } from "./lizard.ts";
 * import { generateSyntheticLizard } from "./synthetic_lizard.ts";
 * const root = await generateSyntheticLizard();
 * const test = await loadLizard({ root, size: [64, 64], split: "test" });
 * const { images, masks } = await test.loadAll(); // masks: class 0-6 per pixel
 * ```
 */
export async function loadLizard(options: LoadLizardOptions): Promise<LizardDataset> {
  _checkOptionKeys("loadLizard", options, _OPTION_KEYS);
  const {
    root,
    size,
    task: taskWord = "segmentation",
    split = "all",
    testFolds = [3],
    valFolds,
    valFraction = 0.2,
    seed = 0,
    fit = "fill",
    cacheBytes = 512 * 2 ** 20,
  } = options;
  const task =
    (Object.hasOwn(TASK_ALIASES, taskWord) ? TASK_ALIASES[taskWord] : taskWord) as LizardTask;
  if (task !== "segmentation" && task !== "diagnosis") {
    throw new TypeError(
      `Expected task "segmentation" or "diagnosis" but found ${JSON.stringify(taskWord)}`,
    );
  }
  _checkSharedOptions({ split, size, fit, cacheBytes });
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new RangeError(`Expected valFraction in [0, 1) but found ${valFraction}`);
  }
  if (valFolds && valFolds.some((f) => testFolds.includes(f))) {
    throw new RangeError(
      `Expected valFolds and testFolds to be disjoint but found ${JSON.stringify(valFolds)} ` +
        `and ${JSON.stringify(testFolds)}`,
    );
  }
  const all = await _scan(root, await _resolveLayout(root, options.layout));

  const test = all.ids.flatMap((_, i) => (testFolds.includes(all.folds[i]) ? [i] : []));
  const rest = all.ids.flatMap((_, i) => (testFolds.includes(all.folds[i]) ? [] : [i]));
  let val: number[];
  if (valFolds) val = rest.filter((i) => valFolds.includes(all.folds[i]));
  else {
    const sourceIndex = [...new Set(all.sources)].sort();
    const parts = splitDataset(rest.map((i) => all.ids[i]), {
      labels: rest.map((i) => sourceIndex.indexOf(all.sources[i])),
      fractions: [1 - valFraction, valFraction, 0],
      seed,
    });
    val = parts.val.map((k) => rest[k]).sort((a, b) => a - b);
  }
  const valSet = new Set(val);
  const parts = {
    test,
    val,
    train: rest.filter((i) => !valSet.has(i)),
    all: all.ids.map((_, i) => i),
  };
  let chosen = parts[split];

  let labels: Int32Array | undefined;
  const excluded: string[] = [];
  if (task === "diagnosis") {
    const kept: number[] = [], lab: number[] = [];
    for (const i of chosen) {
      const sem = _semantic(all.labelPaths[i]).mask;
      const counts = new Array(7).fill(0);
      for (const v of sem) counts[v]++;
      let best = 0;
      for (let c = 1; c <= 6; c++) if (counts[c] > (best ? counts[best] : 0)) best = c;
      if (best === 0) excluded.push(all.ids[i]);
      else {
        kept.push(i);
        lab.push(best - 1);
      }
    }
    chosen = kept;
    labels = Int32Array.from(lab);
  }
  return new _LizardDataset({
    root,
    task,
    split,
    size: [size[0], size[1]],
    fit,
    seed,
    cacheBytes,
    ids: chosen.map((i) => all.ids[i]),
    sources: chosen.map((i) => all.sources[i]),
    folds: chosen.map((i) => all.folds[i]),
    imagePaths: chosen.map((i) => all.imagePaths[i]),
    labelPaths: chosen.map((i) => all.labelPaths[i]),
    labels,
    excludedIds: excluded,
    notes: all.notes,
  });
}

const _OPTION_KEYS = [
  "root",
  "size",
  "task",
  "split",
  "testFolds",
  "valFolds",
  "valFraction",
  "seed",
  "fit",
  "cacheBytes",
  "layout",
];

/** What {@linkcode describeLizardLayout} reports about a folder. */
export interface LizardLayoutReport {
  root: string;
  /** Tiles (images with a `.mat` and an `info.csv` row). */
  tiles: number;
  /** Tiles per fold and per source, from `info.csv`. */
  folds: Record<string, number>;
  sources: Record<string, number>;
  /** Where each piece was found. */
  paths: LizardLayout;
  /** What a partial copy lacks (an image folder) and the tiles left out for it. */
  notes: string[];
}

/**
 * Checks the layout of a Lizard folder (the same checks as {@linkcode loadLizard}) and
 * summarises it without decoding pixels: for `verify` / `inspect` tools.
 *
 * @param root Dataset root.
 * @param layout Overrides of {@linkcode LIZARD_LAYOUT}.
 * @returns Counts per fold and source; throws the loader's layout errors.
 * @example
 * ```ts ignore
 * import { describeLizardLayout } from "./lizard.ts";
 * const r = await describeLizardLayout("/data/lizard");
 * console.log(r.tiles, r.folds); // 238 { "1": …, "2": …, "3": … }
 * ```
 */
export async function describeLizardLayout(
  root: string,
  layout: Partial<LizardLayout> = {},
): Promise<LizardLayoutReport> {
  const paths = await _resolveLayout(root, layout);
  const s = await _scan(root, paths);
  const folds: Record<string, number> = {}, sources: Record<string, number> = {};
  s.folds.forEach((f) => (folds[f] = (folds[f] ?? 0) + 1));
  s.sources.forEach((x) => (sources[x] = (sources[x] ?? 0) + 1));
  return { root, tiles: s.ids.length, folds, sources, paths, notes: s.notes };
}

interface _Scan {
  notes: string[];
  ids: string[];
  sources: string[];
  folds: number[];
  imagePaths: string[];
  labelPaths: string[];
}

/**
 * Each piece of the layout not overridden: its published path when that exists in `root`,
 * else the same path without the lower-case wrapper folder when that exists (the inner
 * folders moved up), else the published path (so that errors name it).
 */
async function _resolveLayout(
  root: string,
  override: Partial<LizardLayout> = {},
): Promise<LizardLayout> {
  const exists = (rel: string) => Deno.stat(join(root, rel)).then(() => true, () => false);
  const pick = async (published: string, flat: string) =>
    !(await exists(published)) && await exists(flat) ? flat : published;
  const L = LIZARD_LAYOUT, F = LIZARD_LAYOUT_FLAT;
  return {
    imageDirs: override.imageDirs ??
      await Promise.all(L.imageDirs.map((dir, i) => pick(dir, F.imageDirs[i]))),
    labelDir: override.labelDir ?? await pick(L.labelDir, F.labelDir),
    infoCsv: override.infoCsv ?? await pick(L.infoCsv, F.infoCsv),
  };
}

/** Lists a required folder; a missing folder is reported with what `root` does contain. */
async function _list(root: string, rel: string, what: string): Promise<string[]> {
  return await _requiredNames(
    root,
    rel,
    (found) =>
      `Missing ${what} folder ${rel} in ${root}; found at the top: ${_few(found) || "nothing"}`,
    `Lizard root folder not found: ${root}`,
  );
}

async function _scan(root: string, layout: LizardLayout): Promise<_Scan> {
  const images = new Map<string, string>();
  // A partial copy may hold only one of the image folders (one of the two image archives).
  const listed = await Promise.all(layout.imageDirs.map((dir) => _listNames(join(root, dir))));
  const absent = layout.imageDirs.filter((_, i) => listed[i] === undefined);
  if (absent.length === layout.imageDirs.length) {
    await _requiredNames(
      root,
      layout.imageDirs[0],
      (found) =>
        `Missing image folder ${layout.imageDirs.join(" and ")} (or the same without the ` +
        `lower-case wrapper folder) in ${root}; found at the top: ${_few(found) || "nothing"}`,
      `Lizard root folder not found: ${root}`,
    );
  }
  for (const [i, dir] of layout.imageDirs.entries()) {
    for (const name of listed[i] ?? []) {
      const m = /^(.+)\.png$/i.exec(name);
      if (!m) continue;
      const prev = images.get(m[1]);
      if (prev) throw new Error(`Two images named ${m[1]}: ${prev} and ${join(root, dir, name)}`);
      images.set(m[1], join(root, dir, name));
    }
  }
  const labels = new Map<string, string>();
  for (const name of await _list(root, layout.labelDir, "label")) {
    const m = /^(.+)\.mat$/i.exec(name);
    if (m) labels.set(m[1], join(root, layout.labelDir, name));
  }
  const csvPath = join(root, layout.infoCsv);
  let text: string;
  try {
    text = await Deno.readTextFile(csvPath);
  } catch (err) {
    throw new Error(`Missing info file ${csvPath} (columns Filename,Source,Split)`, {
      cause: err,
    });
  }
  const rows = _parseInfo(text, csvPath);
  const notes: string[] = [];
  let ids = [...rows.keys()].sort();
  let noImage = ids.filter((id) => !images.has(id));
  if (noImage.length && absent.length) {
    notes.push(
      `${absent.join(" and ")} not in ${root} (a partial copy): ${noImage.length} tiles of ` +
        `${csvPath} without an image left out: ${_few(noImage, 10)}`,
    );
    ids = ids.filter((id) => images.has(id));
    noImage = [];
  }
  if (noImage.length) {
    throw new Error(
      `${noImage.length} tiles listed in ${csvPath} have no image <name>.png in ${
        layout.imageDirs.join(" or ")
      }: ${_few(noImage)}`,
    );
  }
  const noLabel = ids.filter((id) => !labels.has(id));
  if (noLabel.length) {
    throw new Error(
      `${noLabel.length} tiles have no label file in ${join(root, layout.labelDir)}: ${
        _few(noLabel.map((id) => `${id}.mat`))
      }`,
    );
  }
  const unlisted = [...images.keys()].filter((id) => !rows.has(id)).sort();
  if (unlisted.length) {
    throw new Error(
      `${unlisted.length} images have no row in ${csvPath}: ${
        _few(unlisted.map((id) => images.get(id)!))
      }`,
    );
  }
  const orphan = [...labels.keys()].filter((id) => !rows.has(id)).sort();
  if (orphan.length) {
    throw new Error(
      `${orphan.length} label files have no image or row in ${csvPath}: ${
        _few(orphan.map((id) => labels.get(id)!))
      }`,
    );
  }
  return {
    notes,
    ids,
    sources: ids.map((id) => rows.get(id)!.source),
    folds: ids.map((id) => rows.get(id)!.fold),
    imagePaths: ids.map((id) => images.get(id)!),
    labelPaths: ids.map((id) => labels.get(id)!),
  };
}

function _parseInfo(text: string, path: string): Map<string, { source: string; fold: number }> {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  const header = (lines[0] ?? "").split(",").map((s) => s.trim());
  const col = (n: string) => header.indexOf(n);
  const missing = ["Filename", "Source", "Split"].filter((n) => col(n) < 0);
  if (missing.length) {
    throw new Error(
      `Expected columns Filename,Source,Split in ${path} but the header "${lines[0] ?? ""}" lacks ${
        missing.join(", ")
      }`,
    );
  }
  const out = new Map<string, { source: string; fold: number }>();
  for (let r = 1; r < lines.length; r++) {
    const f = lines[r].split(",").map((s) => s.trim());
    if (f.length !== header.length) {
      throw new Error(
        `Line ${r + 1} of ${path} has ${f.length} fields, expected ${header.length}: "${lines[r]}"`,
      );
    }
    const id = f[col("Filename")].replace(/\.(png|mat)$/i, "");
    const fold = Number(f[col("Split")]);
    if (id === "") throw new Error(`Line ${r + 1} of ${path} has an empty Filename`);
    if (!Number.isInteger(fold) || fold < 1) {
      throw new Error(
        `Line ${r + 1} of ${path} (${id}): expected Split to be a fold number 1, 2, 3 but ` +
          `found "${f[col("Split")]}"`,
      );
    }
    if (out.has(id)) throw new Error(`Tile ${id} appears twice in ${path} (line ${r + 1})`);
    out.set(id, { source: f[col("Source")], fold });
  }
  if (out.size === 0) throw new Error(`No rows in ${path}`);
  return out;
}

/** Reads a label file into a row-major class map (0–6) at native size. */
function _semantic(path: string): { mask: Uint8Array; height: number; width: number } {
  const vars = readMat(path, { variables: ["inst_map", "id", "class"] });
  const missing = ["inst_map", "id", "class"].filter((v) => !vars.has(v));
  if (missing.length) {
    throw new Error(
      `${path}: no variable ${missing.join(", ")} (found ${[...vars.keys()].join(", ")})`,
    );
  }
  const inst = vars.get("inst_map")!, id = vars.get("id")!, cls = vars.get("class")!;
  if (inst.dims.slice(2).some((d) => d !== 1)) {
    throw new Error(`${path}: expected a 2-D inst_map but found dims [${inst.dims.join(", ")}]`);
  }
  if (id.data.length !== cls.data.length) {
    throw new Error(
      `${path}: 'id' has ${id.data.length} values but 'class' has ${cls.data.length}`,
    );
  }
  const lookup = new Map<number, number>();
  for (let k = 0; k < id.data.length; k++) {
    const c = Number(cls.data[k]);
    if (!(Number.isInteger(c) && c >= 1 && c <= 6)) {
      throw new Error(`${path}: expected class values 1-6 but found ${c} (instance ${id.get(k)})`);
    }
    lookup.set(Number(id.data[k]), c);
  }
  const [h, w] = inst.dims;
  const mask = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = Number(inst.data[y + x * h]);
      if (v === 0) continue;
      const c = lookup.get(v);
      if (c === undefined) {
        throw new Error(
          `${path}: inst_map has instance id ${v} (row ${y}, column ${x}) that is not in 'id'`,
        );
      }
      mask[y * w + x] = c;
    }
  }
  return { mask, height: h, width: w };
}

interface _Init extends _LazyInit {
  task: LizardTask;
  split: LizardSplit;
  sources: string[];
  folds: number[];
  labelPaths: string[];
  excludedIds: string[];
  notes: string[];
}

class _LizardDataset extends _LazyDataset<LizardItem, LizardBatch> implements LizardDataset {
  readonly task: LizardTask;
  readonly split: LizardSplit;
  readonly classNames: readonly string[];
  readonly sources: readonly string[];
  readonly folds: readonly number[];
  readonly excludedIds: readonly string[];
  readonly notes: readonly string[];
  readonly labelPaths: readonly string[];

  constructor(init: _Init) {
    super(init, { channels: 3, masks: init.task === "segmentation", concurrency: 8 });
    this.task = init.task;
    this.split = init.split;
    this.classNames = init.task === "segmentation"
      ? ["background", ...LIZARD_CLASSES]
      : LIZARD_CLASSES;
    this.sources = init.sources;
    this.folds = init.folds;
    this.excludedIds = init.excludedIds;
    this.notes = init.notes;
    this.labelPaths = init.labelPaths;
  }

  protected async decode(index: number): Promise<_Entry> {
    const [h, w] = this.size;
    const img = await readImage(this.imagePaths[index], {
      size: [h, w],
      channels: 3,
      fit: this.fit,
    });
    let mask: Uint8Array | undefined;
    if (this.task === "segmentation") {
      const sem = _semantic(this.labelPaths[index]);
      const meta = await sharp(this.imagePaths[index]).metadata();
      if (meta.height !== sem.height || meta.width !== sem.width) {
        throw new Error(
          `${this.labelPaths[index]}: inst_map is ${sem.height}x${sem.width} but its image ` +
            `${this.imagePaths[index]} is ${meta.height}x${meta.width} (height x width)`,
        );
      }
      const raw = await sharp(sem.mask, {
        raw: { width: sem.width, height: sem.height, channels: 1 },
      })
        .resize(w, h, { fit: this.fit, position: "centre", kernel: "nearest" })
        .toColourspace("b-w").raw({ depth: "uchar" }).toBuffer();
      mask = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
    }
    return { image: img.data, mask };
  }
}

// ---------------------------------------------------------------- the dataset's descriptor

const _lizardLoadSplit: DatasetDescriptor["loadSplit"] = async (o) => {
  const parts: LoadedSplit[] = [];
  for (const task of o.tasks) {
    const ds = await loadLizard({ root: o.root, size: o.size, split: o.split, seed: o.seed, task });
    parts.push(await ds.loadAll());
  }
  return parts.length === 1 ? parts[0] : _joinById(parts[0], parts[1]);
};

/** The diagnosis batch (labels) joined with the segmentation batch (masks) by tile id. */
function _joinById(cls: LoadedSplit, seg: LoadedSplit): LoadedSplit {
  const at = new Map(seg.ids.map((id, i) => [id, i]));
  const ids = cls.ids.filter((id) => at.has(id));
  const iCls = tf.tensor1d(ids.map((id) => cls.ids.indexOf(id)), "int32");
  const iSeg = tf.tensor1d(ids.map((id) => at.get(id)!), "int32");
  const out: LoadedSplit = {
    images: tf.gather(cls.images, iCls),
    labels: tf.gather(cls.labels!, iCls),
    masks: tf.gather(seg.masks!, iSeg),
    ids,
  };
  tf.dispose([iCls, iSeg, cls.images, cls.labels!, seg.images, seg.masks!]);
  return out;
}

const _lizardVerify: DatasetDescriptor["verify"] = async (root, manifest, options) => {
  const checks: VerifyCheck[] = [];
  const layout = await _attempt(
    checks,
    "layout",
    () => describeLizardLayout(root),
    (r) =>
      `${r.tiles} tiles; folds ${
        Object.entries(r.folds).map(([f, n]) => `${f}: ${n}`).join(", ")
      }; sources ${Object.entries(r.sources).map(([s, n]) => `${s} ${n}`).join(", ")}`,
  );
  const from = await _expectedSource(checks, root, manifest, options, LIZARD_DATASET);
  const perSource = from.kind === "real" ? undefined : _num(from.values.perSource);
  const tiles = from.kind === "real"
    ? _num(from.values.images)
    : perSource === undefined
    ? undefined
    : perSource * LIZARD_SOURCES.length;
  if (!layout) return checks;
  for (const note of layout.notes) {
    checks.push({ name: "layout note", status: "info", detail: note });
  }
  checks.push(_countCheck("tiles", layout.tiles, tiles, from.source));
  if (perSource !== undefined) {
    const wrong = LIZARD_SOURCES.filter((s) => layout.sources[s] !== perSource);
    checks.push(
      wrong.length
        ? {
          name: "tiles per source",
          status: "fail",
          detail: `expected ${perSource} of each of ${LIZARD_SOURCES.join(", ")} ` +
            `(${from.source}) but found ${
              wrong.map((s) => `${s} ${layout.sources[s] ?? 0}`).join(", ")
            }`,
          kind: "count",
        }
        : {
          name: "tiles per source",
          status: "pass",
          detail: `${perSource} of each source`,
          kind: "count",
        },
    );
  }
  const ds = await _attempt(
    checks,
    "loader",
    () => loadLizard({ root, size: [1, 1], cacheBytes: 0 }),
    (d) => `loadLizard reads ${d.length} tiles`,
  );
  if (!ds) return checks;
  const imageSizes = await _decodeCheck(checks, "images", [...ds.imagePaths]);
  const bad: string[] = [], mismatched: string[] = [];
  ds.labelPaths.forEach((p, i) => {
    const name = relative(root, p);
    try {
      const m = _semantic(p);
      const img = imageSizes.get(ds.imagePaths[i]);
      if (img && img !== `${m.height}x${m.width}`) {
        mismatched.push(`${name} (${m.height}x${m.width}, image ${img})`);
      }
    } catch (err) {
      bad.push(`${name} (${(err as Error).message.replace(`${p}: `, "")})`);
    }
  });
  const note = " (inst_map, id, class 1-6)";
  checks.push(_readCheck("labels: decodable", bad, ds.labelPaths.length, ".mat files", note));
  checks.push(_sizeMatchCheck("labels: sizes", mismatched, "inst_map"));
  return checks;
};

const _lizardInspectSplit: DatasetInspection["split"] = async (root, task, split, seed) => {
  const ds = await loadLizard({
    root,
    size: [1, 1],
    task: task as LizardTask,
    split,
    seed,
    cacheBytes: 0,
  });
  return {
    imagePaths: ds.imagePaths,
    labels: ds.labels && { names: LIZARD_CLASSES, values: ds.labels },
    maskPixels: ds.labels
      ? undefined
      : _maskPixels(ds.classNames, ds.labelPaths, (p) => _semantic(p).mask),
  };
};

/**
 * Lizard as the library knows it: nucleus segmentation (7 classes with the
 * background) and, on the same tiles, diagnosis as the dominant nucleus type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LIZARD_DATASET } from "./lizard.ts";
 * assert.equal(LIZARD_DATASET.tasks.segmentation?.classes[0], "background");
 * assert.ok(LIZARD_DATASET.pairedTasks);
 * ```
 */
export const LIZARD_DATASET: DatasetDescriptor<"lizard"> = {
  id: "lizard",
  name: "Lizard",
  channels: 3,
  tasks: {
    diagnosis: { classes: LIZARD_CLASSES, about: "dominant nucleus type, 6 classes" },
    segmentation: {
      classes: ["background", ...LIZARD_CLASSES],
      about: "nucleus type per pixel, 7 classes",
    },
  },
  pairedTasks: true,
  loadSplit: _lizardLoadSplit,
  // The embedded copy: 120 tiles (24 per source), split by Lizard's folds.
  synthetic: _syntheticCopy(
    { version: 1, marker: ".synthetic-lizard.json", embedded: { perSource: 24 } },
    async () => (await import("./synthetic_lizard.ts")).generateSyntheticLizard,
  ),
  verify: _lizardVerify,
  inspect: { defaultTask: "segmentation", split: _lizardInspectSplit },
};
