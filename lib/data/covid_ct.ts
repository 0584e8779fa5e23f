/**
 * Loader for COVID-CT (Yang et al. 2020, arXiv:2003.13865, the UCSD-AI4H
 * repository) in its published layout, or the synthetic copy from
 * {@linkcode generateSyntheticCovidCt}.
 *
 * Expected under `root` (as in the repository):
 * - `Images-processed/CT_COVID/*` (349 images) and `Images-processed/CT_NonCOVID/*`
 *   (397): PNG and JPEG mixed, sizes vary, some RGB(A) and some greyscale;
 * - the official split lists `Data-split/COVID/{train,val,test}CT_COVID.txt` and
 *   `Data-split/NonCOVID/{train,val,test}CT_NonCOVID.txt`, one file name per line
 *   (official counts train / val / test: COVID 191 / 60 / 98, NonCOVID 234 / 58 / 105).
 *
 * Labels: 0 = NonCOVID, 1 = COVID. The split is the official one, never re-drawn.
 * Lines of a list are trimmed; blank lines, a BOM and CRLF endings are accepted.
 * A listed file that is missing is an error naming it (and saying if it sits in
 * the other class's folder); a file in two splits is an error; a name listed twice
 * in one list is read once and reported in `notes`. Image files present but in no
 * list are left out of every split and reported in `unlisted` (and `notes`), or
 * rejected with `strict: true`. Other files (README, hidden files) are ignored.
 * The loader only reads: it never writes into `root`.
 *
 * Images are converted explicitly to `channels` (default 1: CT is greyscale;
 * RGB figures become libvips "b-w" luminance, alpha is dropped; 3 repeats grey).
 *
 * {@linkcode COVID_CT_DATASET} (at the end of this file) describes the dataset to the rest
 * of the library (registered in `DATASETS`, `registry.ts`): its tasks and classes, the
 * experiments' loader entry, its synthetic copy, and the checks of `tools/data.ts`.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { readImage } from "../io/read_image.ts";
import { Rng } from "../util/rng.ts";
import {
  _attempt,
  _countCheck,
  _decodeCheck,
  _expectedSource,
  _few,
  _listNames as _list,
  _num,
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

/** Class names by label: 0 = NonCOVID, 1 = COVID. */
export const COVID_CT_CLASSES: readonly ["NonCOVID", "COVID"] = ["NonCOVID", "COVID"];

/** The three official splits. */
export const COVID_CT_SPLITS: readonly ["train", "val", "test"] = ["train", "val", "test"];

/** Folder and file names of the published layout. */
export const COVID_CT_LAYOUT = {
  images: "Images-processed",
  /** Image folder under `images`, by label. */
  imageFolders: ["CT_NonCOVID", "CT_COVID"],
  splits: "Data-split",
  /** Split-list folder under `splits`, by label. */
  splitFolders: ["NonCOVID", "COVID"],
} as const;

/** Official split sizes by class (from the repository's lists). */
export const COVID_CT_OFFICIAL_COUNTS = {
  COVID: { train: 191, val: 60, test: 98 },
  NonCOVID: { train: 234, val: 58, test: 105 },
} as const;

/**
 * Path of one official split list relative to the dataset root.
 *
 * @param split `train`, `val` or `test`.
 * @param label 0 (NonCOVID) or 1 (COVID).
 * @returns The `/`-separated relative path.
 * @example
 * ```ts
 * import { covidCtSplitFile } from "./covid_ct.ts";
 * console.log(covidCtSplitFile("val", 1)); // Data-split/COVID/valCT_COVID.txt
 * ```
 */
export function covidCtSplitFile(split: CovidCtPart, label: 0 | 1): string {
  const cls = COVID_CT_CLASSES[label];
  return `${COVID_CT_LAYOUT.splits}/${cls}/${split}CT_${cls}.txt`;
}

/** One official split. */
export type CovidCtPart = "train" | "val" | "test";
/** An official split, or `all` of them. */
export type CovidCtSplit = CovidCtPart | "all";

/** Options of {@linkcode loadCovidCt}. */
export interface LoadCovidCtOptions {
  /** Folder holding `Images-processed/` and `Data-split/`. */
  root: string;
  /** Output `[height, width]` of every image. */
  size: readonly [number, number];
  /** Official split to load (default `all`: the union of the three lists). */
  split?: CovidCtSplit;
  /** 1 (default; greyscale) or 3 (grey repeated / sRGB). */
  channels?: 1 | 3;
  /** Keep at most this many items: a seeded, class-proportional subset. */
  limit?: number;
  /** Seed of `limit`'s subset and of unseeded shuffles (default 0). */
  seed?: number;
  /** `fill` (default) stretches to `size`; `cover` scales and crops the centre. */
  fit?: "fill" | "cover";
  /** Reject image files that are in no split list (default false: report them in `unlisted`). */
  strict?: boolean;
  /** Bytes of decoded, resized items kept in memory across epochs (default 512 MiB; 0: none). */
  cacheBytes?: number;
}

/**
 * A batch: `images` NHWC float32 in [0, 1], `labels` int32 `[n]` (1 = COVID),
 * `ids` as `<class folder>/<file name>`. The caller owns the tensors.
 */
export type CovidCtBatch = { images: tf.Tensor4D; labels: tf.Tensor1D; ids: string[] };

/** One decoded item: `image` HWC in [0, 1]. */
export interface CovidCtItem {
  id: string;
  image: Float32Array;
  label: number;
}

/** Options of {@linkcode CovidCtDataset.batches}. */
export interface CovidCtBatchOptions {
  /** Shuffle the order (default false: list order, NonCOVID then COVID). */
  shuffle?: boolean;
  /** Shuffle seed; without it the k-th shuffled pass uses `new Rng(seed).fork("epoch:k")`. */
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropRemainder?: boolean;
}

/** The loaded split; items are decoded lazily, batch by batch. */
export interface CovidCtDataset {
  readonly root: string;
  readonly split: CovidCtSplit;
  readonly size: [number, number];
  readonly channels: 1 | 3;
  /** `COVID_CT_CLASSES`. */
  readonly classNames: readonly string[];
  /** `<class folder>/<file name>` per item: NonCOVID first, each class sorted by name. */
  readonly ids: readonly string[];
  readonly labels: Int32Array;
  readonly length: number;
  readonly imagePaths: readonly string[];
  /** Image files (`<class folder>/<name>`) present but in no split list; not loaded. */
  readonly unlisted: readonly string[];
  /** Things worth knowing about the copy (unlisted files, duplicate lines). */
  readonly notes: readonly string[];
  item(index: number): Promise<CovidCtItem>;
  batches(batchSize: number, options?: CovidCtBatchOptions): AsyncIterable<CovidCtBatch>;
  /** All items as one batch (refused above max(`cacheBytes`, 64 MiB) of tensors). */
  loadAll(): Promise<CovidCtBatch>;
}

/** What {@linkcode describeCovidCtLayout} finds: the lists against the folders. */
export interface CovidCtLayoutReport {
  /** Listed file names per class and split (after trimming and de-duplication). */
  lists: Record<string, Record<CovidCtPart, string[]>>;
  /** Image files found per class folder. */
  files: Record<string, string[]>;
  /** Problems that make {@linkcode loadCovidCt} fail (missing folders/lists/files, leaks). */
  errors: string[];
  /** Reported but harmless: unlisted images, duplicate lines. */
  notes: string[];
  /** Image files (`<class folder>/<name>`) in no list. */
  unlisted: string[];
}

const _IMAGE = /\.(png|jpe?g)$/i;

/**
 * Reads the split lists and image folders of a COVID-CT copy and checks them
 * against each other, without throwing for layout problems (it collects them).
 * {@linkcode loadCovidCt} uses it and throws the first error; a verify tool can
 * report them all.
 *
 * @param root Dataset folder.
 * @returns Lists, files, errors, notes and unlisted files.
 * @example
 * ```ts ignore
 * import { describeCovidCtLayout } from "./covid_ct.ts";
 * const r = await describeCovidCtLayout("/data/COVID-CT");
 * console.log(r.errors.length, r.lists.COVID.train.length); // 0 191
 * ```
 */
export async function describeCovidCtLayout(root: string): Promise<CovidCtLayoutReport> {
  const L = COVID_CT_LAYOUT;
  const report: CovidCtLayoutReport = { lists: {}, files: {}, errors: [], notes: [], unlisted: [] };
  const top = await _list(root);
  if (!top) {
    report.errors.push(`COVID-CT root folder not found: ${root}`);
    return report;
  }
  for (const [name, what] of [[L.images, "image"], [L.splits, "split-list"]] as const) {
    if (!top.includes(name)) {
      report.errors.push(
        `Missing ${what} folder ${name} in ${root}; found: ${_few(top) || "nothing"}`,
      );
    }
  }
  for (const label of [0, 1] as const) {
    const cls = COVID_CT_CLASSES[label];
    const dir = join(root, L.images, L.imageFolders[label]);
    const names = top.includes(L.images) ? await _list(dir) : undefined;
    if (!names && top.includes(L.images)) {
      const found = await _list(join(root, L.images)) ?? [];
      // Upstream ships the folders as zips inside Images-processed/: say to unpack them.
      const zip = `${L.imageFolders[label]}.zip`;
      report.errors.push(
        `Missing folder ${L.images}/${L.imageFolders[label]} in ${root}; found in ${L.images}: ${
          _few(found) || "nothing"
        }` + (found.includes(zip) ? ` (unzip ${L.images}/${zip} where it is)` : ""),
      );
    }
    report.files[cls] = (names ?? []).filter((n) => _IMAGE.test(n));
    report.lists[cls] = { train: [], val: [], test: [] };
    if (!top.includes(L.splits)) continue;
    for (const split of COVID_CT_SPLITS) {
      const rel = covidCtSplitFile(split, label);
      const path = join(root, rel);
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        const found = await _list(join(root, L.splits, L.splitFolders[label])) ?? [];
        report.errors.push(
          `Missing split list ${path}; found in its folder: ${_few(found) || "nothing"}`,
        );
        continue;
      }
      const seen = new Set<string>();
      const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
      lines.forEach((line, i) => {
        const name = line.trim();
        if (!name) return;
        if (seen.has(name)) {
          report.notes.push(`${rel} line ${i + 1}: ${name} is listed again (read once)`);
          return;
        }
        seen.add(name);
        report.lists[cls][split].push(name);
      });
      if (seen.size === 0) report.errors.push(`Split list ${path} lists no files`);
    }
  }
  // Listed files must exist, in their own class folder, in one split only.
  for (const label of [0, 1] as const) {
    const cls = COVID_CT_CLASSES[label], other = COVID_CT_CLASSES[1 - label];
    if (!report.files[cls]) continue;
    const present = new Set(report.files[cls]);
    const elsewhere = new Set(report.files[other]);
    const where = new Map<string, CovidCtPart>();
    for (const split of COVID_CT_SPLITS) {
      const missing: string[] = [];
      for (const name of report.lists[cls][split]) {
        const prev = where.get(name);
        if (prev) {
          report.errors.push(
            `${name} is listed in both ${covidCtSplitFile(prev, label)} and ${
              covidCtSplitFile(split, label)
            }`,
          );
        }
        where.set(name, split);
        if (!present.has(name)) {
          missing.push(
            elsewhere.has(name) ? `${name} (found in ${L.imageFolders[1 - label]})` : name,
          );
        }
      }
      if (missing.length) {
        report.errors.push(
          `${missing.length} files listed in ${
            join(root, covidCtSplitFile(split, label))
          } are missing from ${join(root, L.images, L.imageFolders[label])}: ${_few(missing)}`,
        );
      }
    }
    const unlisted = report.files[cls].filter((n) => !where.has(n));
    if (unlisted.length && top.includes(L.splits)) {
      report.unlisted.push(...unlisted.map((n) => `${L.imageFolders[label]}/${n}`));
      report.notes.push(
        `${unlisted.length} images in ${L.images}/${L.imageFolders[label]} are in no split list ` +
          `and are not loaded: ${_few(unlisted)}`,
      );
    }
  }
  return report;
}

/**
 * Loads one official split of COVID-CT from `root`, after checking the layout
 * (see the module docs for what is checked and what is reported).
 *
 * @param options Root folder, output size, split, channels and caching.
 * @returns The dataset; nothing is decoded yet.
 * @example
 * ```ts ignore
 * import { loadCovidCt } from "./covid_ct.ts";
 * import { generateSyntheticCovidCt } from "./synthetic_covid_ct.ts";
 * const root = await generateSyntheticCovidCt();
 * const train = await loadCovidCt({ root, size: [64, 64], split: "train" });
 * for await (const batch of train.batches(16, { shuffle: true })) {
 *   // ... batch.images [16, 64, 64, 1], batch.labels (1 = COVID)
 *   tf.dispose(batch);
 * }
 * ```
 */
export async function loadCovidCt(options: LoadCovidCtOptions): Promise<CovidCtDataset> {
  _checkOptionKeys("loadCovidCt", options, _OPTION_KEYS);
  const {
    root,
    size,
    split = "all",
    channels = 1,
    limit,
    seed = 0,
    fit = "fill",
    strict = false,
    cacheBytes = 512 * 2 ** 20,
  } = options;
  _checkSharedOptions({ split, size, fit, cacheBytes });
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`Expected channels to be 1 or 3 but found ${channels}`);
  }
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(`Expected limit to be a positive integer but found ${limit}`);
  }
  await _checkRoot(root, "COVID-CT");
  const report = await describeCovidCtLayout(root);
  if (report.errors.length) {
    const more = report.errors.length > 1 ? ` (and ${report.errors.length - 1} more problems)` : "";
    throw new Error(report.errors[0] + more);
  }
  if (strict && report.unlisted.length) {
    throw new Error(
      `${report.unlisted.length} images in ${join(root, COVID_CT_LAYOUT.images)} are in no ` +
        `split list (strict): ${_few(report.unlisted)}`,
    );
  }
  const parts = split === "all" ? COVID_CT_SPLITS : [split];
  let items: { id: string; path: string; label: number }[] = [];
  for (const label of [0, 1] as const) {
    const cls = COVID_CT_CLASSES[label], folder = COVID_CT_LAYOUT.imageFolders[label];
    const names = parts.flatMap((p) => report.lists[cls][p]).sort();
    for (const name of names) {
      items.push({
        id: `${folder}/${name}`,
        path: join(root, COVID_CT_LAYOUT.images, folder, name),
        label,
      });
    }
  }
  if (limit !== undefined && limit < items.length) items = _subset(items, limit, seed);
  return new _CovidCtDataset({
    root,
    split,
    size: [size[0], size[1]],
    channels,
    fit,
    seed,
    cacheBytes,
    ids: items.map((it) => it.id),
    labels: Int32Array.from(items, (it) => it.label),
    imagePaths: items.map((it) => it.path),
    unlisted: report.unlisted,
    notes: report.notes,
  });
}

const _OPTION_KEYS = [
  "root",
  "size",
  "split",
  "channels",
  "limit",
  "seed",
  "fit",
  "strict",
  "cacheBytes",
];

/** A seeded class-proportional subset (each class shuffled, keys (k + 0.5) / n), in input order. */
function _subset<T extends { label: number }>(items: T[], limit: number, seed: number): T[] {
  const rng = new Rng(seed);
  const keyed: [number, number, number][] = [];
  for (const label of [0, 1]) {
    const members = items.flatMap((it, i) => (it.label === label ? [i] : []));
    rng.fork(`limit:${label}`).shuffle(members).forEach((i, k) =>
      keyed.push([(k + 0.5) / members.length, label, i])
    );
  }
  keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return keyed.slice(0, limit).map((k) => k[2]).sort((a, b) => a - b).map((i) => items[i]);
}

interface _Init extends _LazyInit {
  split: CovidCtSplit;
  channels: 1 | 3;
  labels: Int32Array;
  unlisted: string[];
  notes: string[];
}

class _CovidCtDataset extends _LazyDataset<CovidCtItem, CovidCtBatch> implements CovidCtDataset {
  declare readonly labels: Int32Array;
  readonly split: CovidCtSplit;
  readonly channels: 1 | 3;
  readonly classNames: readonly string[] = COVID_CT_CLASSES;
  readonly unlisted: readonly string[];
  readonly notes: readonly string[];

  constructor(init: _Init) {
    super(init, { channels: init.channels, masks: false, concurrency: 16 });
    this.split = init.split;
    this.channels = init.channels;
    this.unlisted = init.unlisted;
    this.notes = init.notes;
  }

  protected async decode(index: number): Promise<_Entry> {
    const img = await readImage(this.imagePaths[index], {
      size: this.size,
      channels: this.channels,
      fit: this.fit,
    });
    return { image: img.data };
  }
}

// ---------------------------------------------------------------- the dataset's descriptor

const _covidLoadSplit: DatasetDescriptor["loadSplit"] = async (o) => {
  const ds = await loadCovidCt({
    root: o.root,
    size: o.size,
    split: o.split,
    channels: 1,
    seed: o.seed,
  });
  return await ds.loadAll();
};

const _covidVerify: DatasetDescriptor["verify"] = async (root, manifest, options) => {
  const checks: VerifyCheck[] = [];
  const layout = await describeCovidCtLayout(root);
  checks.push(
    layout.errors.length ? { name: "layout", status: "fail", detail: layout.errors.join("; ") } : {
      name: "layout",
      status: "pass",
      detail: "Images-processed/CT_{COVID,NonCOVID}/ and the six Data-split lists",
    },
  );
  for (const note of layout.notes) {
    checks.push({ name: "layout note", status: "info", detail: note });
  }

  // Expected counts by "<class> <split>": marker arrays, manifest synthetic defaults, or real.
  const from = await _expectedSource(checks, root, manifest, options, COVID_CT_DATASET);
  const v = from.values, expected: Record<string, number | undefined> = {};
  for (const cls of COVID_CT_CLASSES) {
    const arr = v[cls === "COVID" ? "covidCounts" : "nonCovidCounts"];
    const real = (typeof v.split_counts === "object" ? v.split_counts : {}) as Record<
      string,
      number
    >;
    COVID_CT_SPLITS.forEach((split, i) => {
      expected[`${cls} ${split}`] = from.kind === "marker"
        ? (Array.isArray(arr) ? _num(arr[i]) : undefined)
        : from.kind === "defaults"
        ? _num(v[`${cls.toLowerCase()}_${split}`])
        : real[`${cls}_${split}`];
    });
    if (from.kind === "real") expected[`${cls} images`] = _num(v[`${cls.toLowerCase()}_images`]);
  }
  for (const cls of COVID_CT_CLASSES) {
    let sum: number | undefined = 0;
    for (const split of COVID_CT_SPLITS) {
      const want = expected[`${cls} ${split}`];
      sum = sum === undefined || want === undefined ? undefined : sum + want;
      const found = layout.lists[cls]?.[split].length ?? 0;
      checks.push(_countCheck(`${cls} ${split}: listed`, found, want, from.source));
    }
    const files = layout.files[cls]?.length ?? 0;
    checks.push(
      _countCheck(`${cls}: images`, files, expected[`${cls} images`] ?? sum, from.source),
    );
  }
  await _attempt(
    checks,
    "loader",
    () => loadCovidCt({ root, size: [1, 1], cacheBytes: 0 }),
    (ds) => `loadCovidCt reads ${ds.length} items`,
  );
  for (const [label, cls] of COVID_CT_CLASSES.entries()) {
    const dir = join(COVID_CT_LAYOUT.images, COVID_CT_LAYOUT.imageFolders[label]);
    const names = layout.files[cls] ?? [];
    if (names.length) await _decodeCheck(checks, dir, names.map((n) => join(root, dir, n)));
  }
  return checks;
};

const _covidInspectSplit: DatasetInspection["split"] = async (root, _task, split) => {
  const ds = await loadCovidCt({ root, size: [1, 1], split, cacheBytes: 0 });
  return { imagePaths: ds.imagePaths, labels: { names: COVID_CT_CLASSES, values: ds.labels } };
};

/**
 * COVID-CT as the library knows it: diagnosis only (NonCOVID / COVID), one
 * channel (CT is greyscale), the official split.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COVID_CT_DATASET } from "./covid_ct.ts";
 * assert.deepEqual(COVID_CT_DATASET.tasks.diagnosis?.classes, ["NonCOVID", "COVID"]);
 * assert.equal(COVID_CT_DATASET.tasks.segmentation, undefined);
 * ```
 */
export const COVID_CT_DATASET: DatasetDescriptor<"covid_ct"> = {
  id: "covid_ct",
  name: "COVID-CT",
  channels: 1,
  tasks: { diagnosis: { classes: COVID_CT_CLASSES, about: "COVID / NonCOVID, 2 classes" } },
  pairedTasks: false,
  loadSplit: _covidLoadSplit,
  // The embedded copy is the generator's default: 106 train / 30 val / 51 test slices
  // (the official split's proportions).
  synthetic: _syntheticCopy(
    { version: 1, marker: ".synthetic-covid-ct.json", embedded: {} },
    async () => (await import("./synthetic_covid_ct.ts")).generateSyntheticCovidCt,
  ),
  verify: _covidVerify,
  inspect: { defaultTask: "diagnosis", split: _covidInspectSplit },
};
