/**
 * Loader for CAMUS (Leclerc et al., IEEE TMI 2019: 2-D apical echocardiography, 2- and
 * 4-chamber views at end diastole (ED) and end systole (ES), with expert masks), in either
 * published layout (or the synthetic copies from {@linkcode generateSyntheticCamus}):
 *
 * - NIfTI release (2023, `CAMUS_public`): `root/database_nifti/patientNNNN/
 *   patientNNNN_{2CH,4CH}_{ED,ES}[_gt].nii.gz`, `Info_{2CH,4CH}.cfg`, and the official split
 *   `root/database_split/subgroup_{training,validation,testing}.txt` (one patient id a line),
 *   which `split` follows (`train`, `val`, `test`).
 * - Legacy MetaImage release (2019 challenge): `root/training/patientNNNN/…{.mhd,.raw}` with
 *   `_gt` masks and `Info_*.cfg`. Only `training/` has masks, so its patients are split with
 *   {@linkcode splitDataset} **by patient** (seeded, default 0.7 / 0.1 / 0.2); `testing/` is
 *   ignored.
 * The release is detected from which folder exists (`release` forces one). Folder and file
 * names are in {@linkcode CAMUS_LAYOUT}; pass `layout` to override any of them. Sequence
 * files are ignored. The loader only reads.
 *
 * Items are (patient, view, phase) triples, id `patientNNNN_2CH_ED`. Images are greyscale in
 * [0, 1] (uint8 / 255), resized with sharp's Lanczos-3; masks are resized nearest-neighbour
 * and hold 0 background, 1 LV endocardium, 2 myocardium, 3 left atrium. The image-level
 * `label` is chosen with `label`: `view` (0 2CH, 1 4CH; default), `phase` (0 ED, 1 ES) or
 * `quality` (0 Good, 1 Medium, 2 Poor, from `ImageQuality` in `Info_<view>.cfg`).
 *
 * **Orientation.** Both formats store x fastest; the loader reads the stored array as rows
 * `y = 0 … H-1` of `W` pixels (`data[y * W + x]`), which is what SimpleITK's
 * `GetArrayFromImage` gives and shows the probe (sector apex) at the top; nibabel's
 * `get_fdata()` is the transpose (`[x, y]`). Verified on the synthetic files (written in that
 * convention, cross-checked with nibabel in the tests), **not on the real files** (not
 * available here); `flipVertical: true` flips rows if a copy turns out upside down.
 *
 * {@linkcode CAMUS_DATASET} (at the end of this file) describes the dataset to the rest
 * of the library (registered in `DATASETS`, `registry.ts`): its tasks and classes, the
 * experiments' loader entry, its synthetic copy, and the checks of `tools/data.ts`.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { basename, dirname, join } from "node:path";
import { readMetaImage } from "../io/metaimage.ts";
import { readNifti } from "../io/nifti.ts";
import {
  _attempt,
  _countCheck,
  _expectedSource,
  _few,
  _listCheck,
  _listNames,
  _maskPixels,
  _num,
  _readCheck,
  _readNames,
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
import { splitDataset } from "./split_dataset.ts";
import type { SyntheticCamusOptions } from "./synthetic_camus.ts";

/** Folder and file names of the two releases (override with `layout`). */
export const CAMUS_LAYOUT = {
  niftiPatients: "database_nifti",
  niftiSplits: "database_split",
  splitFiles: {
    train: "subgroup_training.txt",
    val: "subgroup_validation.txt",
    test: "subgroup_testing.txt",
  },
  niftiExt: ".nii.gz",
  legacyPatients: "training",
  legacyExt: ".mhd",
  maskSuffix: "_gt",
  info: "Info_{view}.cfg",
} as const;

/** Overridable names; see {@linkcode CAMUS_LAYOUT}. */
export type CamusLayout = {
  niftiPatients: string;
  niftiSplits: string;
  splitFiles: { train: string; val: string; test: string };
  niftiExt: string;
  legacyPatients: string;
  legacyExt: string;
  maskSuffix: string;
  info: string;
};

/** Class names of the masks. */
export const CAMUS_CLASSES = ["background", "lv", "myocardium", "la"] as const;

export type CamusView = "2CH" | "4CH";
export type CamusPhase = "ED" | "ES";
export type CamusSplit = "train" | "val" | "test" | "all";
export type CamusLabel = "view" | "phase" | "quality";

/** Options of {@linkcode loadCamus}. */
export interface LoadCamusOptions {
  /** The release's root: holds `database_nifti/` (NIfTI) or `training/` (MetaImage). */
  root: string;
  /** Output `[height, width]`. */
  size: readonly [number, number];
  /** Views to include (default both). */
  views?: readonly CamusView[];
  /** Phases to include (default both). */
  phases?: readonly CamusPhase[];
  /** Split part (default `all`). */
  split?: CamusSplit;
  /** Image-level label (default `view`). */
  label?: CamusLabel;
  /** `auto` (default), `nifti` or `mhd`. */
  release?: "auto" | "nifti" | "mhd";
  /** Legacy release only: seed of the patient split (default 0). */
  seed?: number;
  /** Legacy release only: train / val / test fractions of patients (default [0.7, 0.1, 0.2]). */
  splitFractions?: readonly [number, number, number];
  /** `fill` (default) stretches to `size`; `cover` scales and crops the centre. */
  fit?: "fill" | "cover";
  /** Flip rows after reading (default false; see the module doc). */
  flipVertical?: boolean;
  /** Bytes of decoded items kept in memory (default 256 MiB; 0: none). */
  cacheBytes?: number;
  /** Name overrides. */
  layout?: Partial<CamusLayout>;
}

/**
 * A batch: `images` NHWC `[n, h, w, 1]` float32 in [0, 1], `masks` `[n, h, w, 1]` float32
 * class indices, `labels` int32 `[n]`. The caller owns the tensors (`tf.dispose(batch)`).
 */
export type CamusBatch = {
  images: tf.Tensor4D;
  masks: tf.Tensor4D;
  labels: tf.Tensor1D;
  ids: string[];
};

/** One decoded item: `image` HW in [0, 1], `mask` HW class indices. */
export interface CamusItem {
  id: string;
  image: Float32Array;
  mask: Uint8Array;
  label: number;
}

/** The loaded dataset; items are decoded lazily. */
export interface CamusDataset {
  readonly root: string;
  readonly release: "nifti" | "mhd";
  readonly split: CamusSplit;
  readonly size: [number, number];
  /** Names of the image-level label's values. */
  readonly labelNames: readonly string[];
  readonly classNames: readonly string[];
  readonly ids: readonly string[];
  readonly patients: readonly string[];
  readonly labels: Int32Array;
  readonly length: number;
  readonly imagePaths: readonly string[];
  readonly maskPaths: readonly string[];
  item(index: number): Promise<CamusItem>;
  batches(
    batchSize: number,
    options?: { shuffle?: boolean; seed?: number; dropRemainder?: boolean },
  ): AsyncIterable<CamusBatch>;
  /** All items as one batch. */
  loadAll(): Promise<CamusBatch>;
}

/** What {@linkcode describeCamusLayout} finds. */
export interface CamusLayoutSummary {
  release: "nifti" | "mhd";
  /** Patients (folders) with every image, mask and Info file, in id order. */
  patients: string[];
  /** Patients of each split part (official lists, or the seeded legacy split). */
  splits: { train: string[]; val: string[]; test: string[] };
  /** Items (patient × view × phase) available. */
  items: number;
}

const _OPTION_KEYS = [
  "root",
  "size",
  "views",
  "phases",
  "split",
  "label",
  "release",
  "seed",
  "splitFractions",
  "fit",
  "flipVertical",
  "cacheBytes",
  "layout",
];
const _QUALITIES = ["Good", "Medium", "Poor"];

/**
 * Checks a CAMUS copy's layout (read-only) and summarises it: the release, complete
 * patients and the split. For the descriptor's `verify`.
 *
 * @param root The release's root.
 * @param options Release, legacy split seed / fractions and name overrides.
 * @returns The summary; throws an Error naming the missing file or folder otherwise.
 * @example
 * ```ts ignore
 * import { describeCamusLayout } from "./camus.ts";
 * const s = await describeCamusLayout("/data/CAMUS_public");
 * console.log(s.release, s.patients.length, s.splits.test.length); // nifti 500 50
 * ```
 */
export async function describeCamusLayout(
  root: string,
  options: Pick<LoadCamusOptions, "release" | "seed" | "splitFractions" | "layout"> = {},
): Promise<CamusLayoutSummary> {
  const scan = await _scan(root, options.release ?? "auto", { ...CAMUS_LAYOUT, ...options.layout });
  const splits = await _splits(scan, options.seed ?? 0, options.splitFractions ?? [0.7, 0.1, 0.2]);
  return {
    release: scan.release,
    patients: scan.patients,
    splits,
    items: scan.patients.length * 4,
  };
}

/**
 * Loads CAMUS images, masks and an image-level label after checking the layout. Errors name
 * what is missing or wrong (a missing folder with what was found, a patient's missing image,
 * mask or Info file, a split list naming an unknown patient, image/mask sizes that differ,
 * mask values outside 0–3, an unknown `ImageQuality`).
 *
 * @param options Root, size, views, phases, split, label, release and caching.
 * @returns The dataset; nothing is decoded yet.
 * @example
 * ```ts ignore
 * import { loadCamus } from "./camus.ts";
 * import { generateSyntheticCamus } from "./synthetic_camus.ts";
 * const { nifti } = await generateSyntheticCamus();
 * const ds = await loadCamus({ root: nifti, size: [64, 64], split: "train", views: ["4CH"] });
 * const batch = await ds.loadAll(); // images [16, 64, 64, 1], masks, labels (view)
 * ```
 */
export async function loadCamus(options: LoadCamusOptions): Promise<CamusDataset> {
  _checkOptionKeys("loadCamus", options, _OPTION_KEYS);
  const {
    root,
    size,
    views = ["2CH", "4CH"],
    phases = ["ED", "ES"],
    split = "all",
    label = "view",
    release = "auto",
    seed = 0,
    splitFractions = [0.7, 0.1, 0.2],
    fit = "fill",
    flipVertical = false,
    cacheBytes = 256 * 2 ** 20,
  } = options;
  _checkSharedOptions({ split, size, fit, cacheBytes });
  const badView = views.find((v) => v !== "2CH" && v !== "4CH");
  if (badView !== undefined || views.length === 0) {
    throw new TypeError(`Expected views among "2CH", "4CH" but found ${JSON.stringify(views)}`);
  }
  const badPhase = phases.find((v) => v !== "ED" && v !== "ES");
  if (badPhase !== undefined || phases.length === 0) {
    throw new TypeError(`Expected phases among "ED", "ES" but found ${JSON.stringify(phases)}`);
  }
  if (!["view", "phase", "quality"].includes(label)) {
    throw new TypeError(
      `Expected label "view", "phase" or "quality" but found ${JSON.stringify(label)}`,
    );
  }
  const layout: CamusLayout = { ...CAMUS_LAYOUT, ...options.layout };
  const scan = await _scan(root, release, layout);
  const splits = await _splits(scan, seed, splitFractions);
  const patients = split === "all" ? scan.patients : splits[split];
  const ids: string[] = [], pats: string[] = [], imagePaths: string[] = [];
  const maskPaths: string[] = [], labels: number[] = [];
  for (const p of patients) {
    for (const view of views) {
      let quality = -1;
      if (label === "quality") {
        const cfgPath = join(scan.patientRoot, p, layout.info.replace("{view}", view));
        const q = _parseCfg(await Deno.readTextFile(cfgPath)).ImageQuality;
        quality = _QUALITIES.indexOf(q);
        if (quality < 0) {
          throw new Error(
            `Expected ImageQuality Good, Medium or Poor in ${cfgPath} but found ${
              JSON.stringify(q)
            }`,
          );
        }
      }
      for (const phase of phases) {
        const base = join(scan.patientRoot, p, `${p}_${view}_${phase}`);
        ids.push(`${p}_${view}_${phase}`);
        pats.push(p);
        imagePaths.push(base + scan.ext);
        maskPaths.push(base + layout.maskSuffix + scan.ext);
        labels.push(
          label === "view"
            ? (view === "2CH" ? 0 : 1)
            : label === "phase"
            ? (phase === "ED" ? 0 : 1)
            : quality,
        );
      }
    }
  }
  return new _CamusDataset({
    root,
    release: scan.release,
    split,
    size: [size[0], size[1]],
    labelNames: label === "view" ? ["2CH", "4CH"] : label === "phase" ? ["ED", "ES"] : _QUALITIES,
    ids,
    patients: pats,
    labels: Int32Array.from(labels),
    imagePaths,
    maskPaths,
    fit,
    flipVertical,
    seed,
    cacheBytes,
  });
}

interface _Scan {
  release: "nifti" | "mhd";
  root: string;
  patientRoot: string;
  ext: string;
  patients: string[];
  layout: CamusLayout;
}

async function _isDir(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => undefined))?.isDirectory ?? false;
}

async function _scan(
  root: string,
  release: "auto" | "nifti" | "mhd",
  layout: CamusLayout,
): Promise<_Scan> {
  await _checkRoot(root, "CAMUS");
  if (release !== "auto" && release !== "nifti" && release !== "mhd") {
    throw new TypeError(
      `Expected release "auto", "nifti" or "mhd" but found ${JSON.stringify(release)}`,
    );
  }
  const hasNifti = await _isDir(join(root, layout.niftiPatients));
  const hasMhd = await _isDir(join(root, layout.legacyPatients));
  const rel = release !== "auto" ? release : hasNifti ? "nifti" : hasMhd ? "mhd" : undefined;
  const folder = rel === "mhd" ? layout.legacyPatients : layout.niftiPatients;
  if (!rel || !(rel === "nifti" ? hasNifti : hasMhd)) {
    const found = await _readNames(root);
    throw new Error(
      `Missing folder ${
        rel
          ? folder
          : `${layout.niftiPatients} (NIfTI release) or ${layout.legacyPatients} (MetaImage release)`
      } in ${root}; found: ${found.length ? _few(found) : "nothing"}`,
    );
  }
  const patientRoot = join(root, folder);
  const ext = rel === "nifti" ? layout.niftiExt : layout.legacyExt;
  const patients = (await _readNames(patientRoot)).filter((n) => /^patient\d+$/.test(n));
  if (patients.length === 0) throw new Error(`No patientNNNN folders in ${patientRoot}`);
  for (const p of patients) {
    const names = new Set(await _readNames(join(patientRoot, p)));
    for (const view of ["2CH", "4CH"]) {
      const need = [layout.info.replace("{view}", view)];
      for (const phase of ["ED", "ES"]) {
        need.push(`${p}_${view}_${phase}${ext}`, `${p}_${view}_${phase}${layout.maskSuffix}${ext}`);
      }
      if (rel === "mhd") {
        for (const n of need.slice(1)) need.push(n.slice(0, -ext.length) + ".raw");
      }
      const missing = need.filter((n) => !names.has(n));
      if (missing.length) {
        throw new Error(
          `Missing ${missing.join(", ")} in ${join(patientRoot, p)}`,
        );
      }
    }
  }
  return { release: rel, root, patientRoot, ext, patients, layout };
}

async function _splits(
  scan: _Scan,
  seed: number,
  fractions: readonly [number, number, number],
): Promise<{ train: string[]; val: string[]; test: string[] }> {
  if (scan.release === "mhd") {
    const s = splitDataset(scan.patients, { fractions, seed });
    const pick = (idx: number[]) => idx.map((i) => scan.patients[i]);
    return { train: pick(s.train), val: pick(s.val), test: pick(s.test) };
  }
  const known = new Set(scan.patients);
  const out = { train: [] as string[], val: [] as string[], test: [] as string[] };
  const owner = new Map<string, string>();
  for (const part of ["train", "val", "test"] as const) {
    const path = join(scan.root, scan.layout.niftiSplits, scan.layout.splitFiles[part]);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      throw new Error(`Missing split list ${path} (the NIfTI release's official split)`, {
        cause: err,
      });
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
    for (const [k, id] of lines.entries()) {
      if (!known.has(id)) {
        throw new Error(
          `Line ${
            k + 1
          } of ${path} names ${id}, which has no complete folder in ${scan.patientRoot}`,
        );
      }
      if (owner.has(id)) {
        throw new Error(`Patient ${id} is listed in both ${owner.get(id)} and ${path}`);
      }
      owner.set(id, path);
      out[part].push(id);
    }
    out[part].sort();
  }
  return out;
}

/** Parses an `Info_*.cfg` file (`Key: value` lines). */
function _parseCfg(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_]\w*)\s*[:=]\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Reads a 2-D image (dims `[W, H]` or `[W, H, 1]`) from either format. */
function _read2d(path: string): { data: Float32Array; w: number; h: number } {
  const img = path.endsWith(".mhd") ? readMetaImage(path) : readNifti(path);
  const dims = img.dims;
  if (dims.length < 2 || dims.slice(2).some((d) => d !== 1)) {
    throw new Error(`Expected a 2-D image (dims [W, H]) in ${path} but found [${dims.join(", ")}]`);
  }
  return { data: img.data, w: dims[0], h: dims[1] };
}

async function _resize(
  src: Uint8Array,
  w: number,
  h: number,
  size: [number, number],
  fit: "fill" | "cover",
  nearest: boolean,
): Promise<Uint8Array> {
  const out = await sharp(src, { raw: { width: w, height: h, channels: 1 } })
    .resize(size[1], size[0], {
      fit,
      position: "centre",
      ...(nearest ? { kernel: "nearest" } : {}),
    })
    .toColourspace("b-w").raw({ depth: "uchar" }).toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

interface _Init extends _LazyInit {
  release: "nifti" | "mhd";
  split: CamusSplit;
  labelNames: readonly string[];
  patients: string[];
  labels: Int32Array;
  maskPaths: string[];
  flipVertical: boolean;
}

class _CamusDataset extends _LazyDataset<CamusItem, CamusBatch> implements CamusDataset {
  declare readonly labels: Int32Array;
  readonly release: "nifti" | "mhd";
  readonly split: CamusSplit;
  readonly labelNames: readonly string[];
  readonly classNames: readonly string[] = CAMUS_CLASSES;
  readonly patients: readonly string[];
  readonly maskPaths: readonly string[];
  #flip: boolean;

  constructor(init: _Init) {
    super(init, { channels: 1, masks: true, concurrency: 16 });
    this.release = init.release;
    this.split = init.split;
    this.labelNames = init.labelNames;
    this.patients = init.patients;
    this.maskPaths = init.maskPaths;
    this.#flip = init.flipVertical;
  }

  protected async decode(index: number): Promise<_Entry> {
    const ip = this.imagePaths[index], mp = this.maskPaths[index];
    const img = _read2d(ip), msk = _read2d(mp);
    if (img.w !== msk.w || img.h !== msk.h) {
      throw new Error(
        `Image ${ip} is ${img.w}x${img.h} but its mask ${mp} is ${msk.w}x${msk.h} (WxH)`,
      );
    }
    const { w, h } = img;
    const u8 = new Uint8Array(w * h), m8 = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      const sy = this.#flip ? h - 1 - y : y;
      for (let x = 0; x < w; x++) {
        const v = img.data[sy * w + x], c = msk.data[sy * w + x];
        if (!(c >= 0 && c <= 3 && Number.isInteger(c))) {
          throw new Error(`Expected mask values 0-3 in ${mp} but found ${c} at x=${x}, y=${sy}`);
        }
        u8[y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
        m8[y * w + x] = c;
      }
    }
    const [ri, rm] = await Promise.all([
      _resize(u8, w, h, this.size, this.fit, false),
      _resize(m8, w, h, this.size, this.fit, true),
    ]);
    return { image: Float32Array.from(ri, (v) => v / 255), mask: Uint8Array.from(rm) };
  }
}

// ---------------------------------------------------------------- the dataset's descriptor

const _camusLoadSplit: DatasetDescriptor["loadSplit"] = async (o) => {
  // Images, masks and the view label of every (patient, view, phase).
  const ds = await loadCamus({
    root: o.root,
    size: o.size,
    split: o.split,
    seed: o.seed,
    label: "view",
  });
  return await ds.loadAll();
};

/** Reads a CAMUS image (NIfTI or MetaImage) and returns its stored `[W, H, C]` and data. */
function _camusRead(path: string): { w: number; h: number; c: number; data: Float32Array } {
  const img = path.endsWith(".mhd") ? readMetaImage(path) : readNifti(path);
  return {
    w: img.dims[0],
    h: img.dims[1] ?? 1,
    c: "channels" in img ? img.channels : 1,
    data: img.data,
  };
}

const _camusVerify: DatasetDescriptor["verify"] = async (root, manifest, options) => {
  const checks: VerifyCheck[] = [];
  const layout = await _attempt(
    checks,
    "layout",
    () => describeCamusLayout(root, { seed: options.seed }),
    (s) =>
      `${s.release} release: ${s.patients.length} complete patients, split ${s.splits.train.length} / ${s.splits.val.length} / ${s.splits.test.length}`,
  );
  if (!layout) return checks;
  // The generator writes its marker above its nifti/ and mhd/ copies.
  const parent = ["nifti", "mhd"].includes(basename(root)) ? dirname(root) : undefined;
  const from = await _expectedSource(checks, root, manifest, options, CAMUS_DATASET, parent);
  const e = from.values, n = from.kind === "real" ? undefined : _num(e.patients);
  // As generateSyntheticCamus: test and val max(1, round(n / 6)) patients each.
  const k = n === undefined ? 0 : Math.max(1, Math.round(n / 6));
  const expected: { patients?: number; testing?: number; parts?: number[] } =
    layout.release === "nifti"
      ? from.kind === "real"
        ? { patients: _num(e.nifti_patients) }
        : { patients: n, parts: n === undefined ? undefined : [n - 2 * k, k, k] }
      : from.kind === "real"
      ? { patients: _num(e.legacy_training_patients), testing: _num(e.legacy_testing_patients) }
      : { patients: n === undefined ? undefined : n - k, testing: n === undefined ? undefined : k };
  checks.push(_countCheck("patients", layout.patients.length, expected.patients, from.source));
  expected.parts?.forEach((want, i) => {
    const part = (["train", "val", "test"] as const)[i];
    checks.push(
      _countCheck(`split ${part}: patients`, layout.splits[part].length, want, from.source),
    );
  });
  const L = CAMUS_LAYOUT;
  const folders = layout.release === "nifti" ? [L.niftiPatients] : [L.legacyPatients, "testing"];
  const ext = layout.release === "nifti" ? L.niftiExt : L.legacyExt;
  if (layout.release === "mhd") {
    const testing = ((await _listNames(join(root, "testing"))) ?? [])
      .filter((n) => /^patient\d+$/.test(n));
    checks.push(
      _countCheck("testing: patients (no masks)", testing.length, expected.testing, from.source),
    );
  }
  // ImageQuality is in the 2023 release's Info_*.cfg only (the 2019 one has ED, ES, NbFrame).
  const label = layout.release === "nifti" ? "quality" : "view";
  await _attempt(
    checks,
    "loader",
    () => loadCamus({ root, size: [1, 1], label, cacheBytes: 0, seed: options.seed }),
    (ds) =>
      `loadCamus reads ${ds.length} items` +
      (label === "quality" ? " (every Info_*.cfg has an ImageQuality)" : ""),
  );

  // Every image, mask and sequence file decodes; masks are 0-3 and the size of their image.
  const files: string[] = [];
  for (const folder of folders) {
    for (const p of (await _listNames(join(root, folder))) ?? []) {
      for (const n of (await _listNames(join(root, folder, p))) ?? []) {
        if (n.endsWith(ext)) files.push(join(folder, p, n));
      }
    }
  }
  const bad: string[] = [], badMask: string[] = [], mismatched: string[] = [];
  const sizes = new Map<string, string>();
  for (const f of files) {
    try {
      const img = _camusRead(join(root, f));
      sizes.set(f, `${img.w}x${img.h}`);
      if (f.endsWith(L.maskSuffix + ext)) {
        const v = img.data.find((x) => !(Number.isInteger(x) && x >= 0 && x <= 3));
        if (v !== undefined) badMask.push(`${f} (value ${v})`);
      }
    } catch (err) {
      bad.push(`${f} (${(err as Error).message})`);
    }
  }
  checks.push(_readCheck("files: decodable", bad, files.length, `${ext} files`));
  for (const f of files) {
    if (!f.endsWith(L.maskSuffix + ext)) continue;
    const image = f.slice(0, -(L.maskSuffix + ext).length) + ext;
    const a = sizes.get(image), b = sizes.get(f);
    if (a && b && a !== b) mismatched.push(`${f} (${b}, image ${a}, WxH)`);
  }
  checks.push(
    _listCheck(
      "masks: values",
      badMask,
      `${badMask.length} masks hold values outside 0-3`,
      "every mask holds 0-3",
    ),
  );
  checks.push(_sizeMatchCheck("masks: sizes", mismatched, "mask"));
  return checks;
};

const _camusInspectSplit: DatasetInspection["split"] = async (root, task, split, seed) => {
  const label = (task === "segmentation" || task === "diagnosis" ? "view" : task) as CamusLabel;
  const ds = await loadCamus({ root, size: [1, 1], split, label, seed, cacheBytes: 0 });
  return {
    imagePaths: ds.imagePaths,
    storedSize: (p) => {
      const img = _camusRead(p);
      return `${img.h}x${img.w}x${img.c}`;
    },
    ...(task === "segmentation"
      ? {
        maskPixels: _maskPixels(CAMUS_CLASSES, ds.maskPaths, (p) => _camusRead(p).data),
      }
      : { labels: { names: ds.labelNames, values: ds.labels } }),
  };
};

/**
 * CAMUS as the library knows it: heart segmentation (background, LV, myocardium,
 * LA) and, on the same images, diagnosis as the view (2CH / 4CH). Inspect also
 * counts the `phase` and `quality` labels; `view` is accepted for `diagnosis`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CAMUS_DATASET } from "./camus.ts";
 * assert.deepEqual(CAMUS_DATASET.tasks.diagnosis?.classes, ["2CH", "4CH"]);
 * ```
 */
export const CAMUS_DATASET: DatasetDescriptor<"camus"> = {
  id: "camus",
  name: "CAMUS",
  channels: 1,
  tasks: {
    diagnosis: { classes: ["2CH", "4CH"], about: "view (2CH / 4CH), 2 classes" },
    segmentation: { classes: CAMUS_CLASSES, about: "background / LV / myocardium / LA, 4 classes" },
  },
  pairedTasks: true,
  taskAliases: { view: "diagnosis" },
  loadSplit: _camusLoadSplit,
  // The embedded copy: 40 patients × 2 views × 2 phases, the official split's proportions.
  // The loader reads the NIfTI-release copy.
  synthetic: _syntheticCopy(
    { version: 1, marker: ".synthetic-camus.json", embedded: { patients: 40 } },
    async () => {
      const { generateSyntheticCamus } = await import("./synthetic_camus.ts");
      return async (options: SyntheticCamusOptions) =>
        (await generateSyntheticCamus(options)).nifti;
    },
  ),
  verify: _camusVerify,
  inspect: {
    defaultTask: "segmentation",
    labels: ["phase", "quality"],
    note: "diagnosis is the view; phase and quality count other image-level labels",
    split: _camusInspectSplit,
  },
};
