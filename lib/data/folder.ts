/**
 * The generic dataset `folder`: your own images, in one simple layout.
 *
 * Expected under `root`:
 * - `images/`: 2-D images, any mix of PNG, JPEG, TIFF (read with sharp), NIfTI (`.nii`,
 *   `.nii.gz`) and MetaImage (`.mhd` with its data file, `.mha`); any size, grey or colour.
 *   The item id is the file name without its extension; two files with one id are refused.
 * - `labels.csv` (diagnosis): a header naming an `image` column (the file name or its id) and
 *   either a `label` column (class names or integers) or one one-hot column per class (every
 *   other column). CRLF line endings and a BOM are fine, and so are fields in double quotes
 *   (RFC 4180: `"benign, nevus"`, a quote inside written twice: `"the ""big"" one"`). Every
 *   image needs one row and every row an image.
 * - `masks/` (segmentation): one mask per image with the image's id (any of the formats
 *   above), of the image's size: class indices, or 0 / 255 (read as 0 / 1). JPEG is lossy, so
 *   a JPEG mask is taken as a 0 / 255 mask with each pixel set to the nearer of the two
 *   (≥ 128: foreground); one whose values are all small (0 … 63, class indices) is refused:
 *   store class-index masks losslessly (PNG, TIFF, NIfTI, MetaImage).
 * - `split.csv` (optional): `image,split` with `train`, `val` or `test` for every image (the
 *   same CSV rules); without it the images are split with {@linkcode splitDataset} (seeded by
 *   the run's `data.splitSeed`, stratified by label for diagnosis, 0.7 / 0.1 / 0.2).
 *
 * The tasks are those the folder has: `diagnosis` with `labels.csv`, `segmentation` with
 * `masks/`, and `diagnosis+segmentation` with both. The classes come from the data, sorted:
 * label names alphabetically (integers numerically), one-hot columns by name, mask values
 * 0 … max (`background`, `foreground` for 0 / 255 masks). The channels too: 3 when any image
 * is stored in colour, else 1; every image is converted to that (grey to RGB by replication,
 * colour to grey by luminance). NIfTI and MetaImage slices are scaled to [0, 1] by their
 * min and max unless they hold 0 … 255 (`uint8`-like) values.
 *
 * There is no synthetic copy: a run of `folder` needs `data.root` (`--data DIR`). Since the
 * classes are only known after reading the folder, {@linkcode FOLDER_DATASET} has a `forRoot`
 * that returns the descriptor of one folder (`resolveDataset` in `registry.ts`). The loader
 * only reads: it never writes into `root`.
 *
 * @module
 */
import { join, relative } from "node:path";
import sharp from "sharp";
import { readImage } from "../io/read_image.ts";
import { readMask } from "../io/read_mask.ts";
import { readMetaImage } from "../io/metaimage.ts";
import { readNifti } from "../io/nifti.ts";
import { _countCheck, _few, _listNames, _maskPixels, _pool, _readNames } from "./_checks.ts";
import { _checkRoot, type _Entry, _LazyDataset, type _LazyInit } from "./_lazy_dataset.ts";
import type {
  DatasetDescriptor,
  DatasetInspection,
  DatasetTaskInfo,
  LoadedSplit,
  RecognitionTask,
  VerifyCheck,
} from "./dataset_descriptor.ts";
import { splitDataset } from "./split_dataset.ts";

/** Image files read from `images/` and `masks/`; the id is the name before the extension. */
const _FILE = /^(.+)\.(png|jpe?g|tiff?|nii\.gz|nii|mhd|mha)$/i;
const _VOLUME = /\.(nii\.gz|nii|mhd|mha)$/i;
const _JPEG = /\.jpe?g$/i;

/** A folder as read: ids (sorted), files, labels, masks' value mode, split, classes, channels. */
export interface FolderScan {
  root: string;
  ids: string[];
  imagePaths: string[];
  /** Label per item (index into `labelClasses`), with `labels.csv`. */
  labels?: number[];
  labelClasses?: string[];
  /** Mask per item, with `masks/`. */
  maskPaths?: string[];
  /** `binary`: every mask holds only 0 and 255 (read as 0 / 1); `index`: class indices. */
  maskMode?: "binary" | "index";
  maskClasses?: string[];
  /** The split of `split.csv` per item, when there is one. */
  splitOf?: ("train" | "val" | "test")[];
  /** 3 when any image is stored in colour, else 1. */
  channels: 1 | 3;
}

/** Maps id → file name for the image files of a folder, refusing two files with one id. */
function _byId(names: string[], dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    const m = _FILE.exec(name);
    if (!m) continue;
    const prev = out.get(m[1]);
    if (prev) throw new Error(`Two files with id ${m[1]} in ${dir}: ${prev} and ${name}`);
    out.set(m[1], name);
  }
  return out;
}

/**
 * Rows of a small CSV file (RFC 4180): fields separated by commas; a field in double quotes may
 * hold commas, line breaks and quotes written twice (`"a ""b"", c"` is `a "b", c`). Unquoted
 * fields are trimmed; quoted ones are kept as written (spaces around the quotes are ignored).
 * A BOM, CRLF or LF line ends and blank lines are fine.
 *
 * @param text The file's text.
 * @param path The file, for errors.
 * @returns The header's fields, and each row's fields with the line it starts on (1-based).
 * @throws {Error} `Line <n> of <path>: …` for a quote that is never closed, or text after a
 *   closing quote.
 */
function _csv(
  text: string,
  path: string,
): { header: string[]; rows: { line: number; fields: string[] }[] } {
  const s = text.replace(/^\uFEFF/, "");
  const records: { line: number; fields: string[] }[] = [];
  const blank = (c: string | undefined) => c === " " || c === "\t";
  let i = 0, line = 1;
  while (i < s.length) {
    const eol = s.indexOf("\n", i);
    const end = eol < 0 ? s.length : eol;
    if (s.slice(i, end).trim() === "") { // a blank line
      i = end + 1;
      line++;
      continue;
    }
    const start = line, fields: string[] = [];
    for (;;) {
      let j = i;
      while (blank(s[j])) j++;
      if (s[j] === '"') {
        const opened = line;
        let value = "";
        for (j++;; j++) {
          if (j >= s.length) {
            throw new Error(
              `Line ${opened} of ${path}: field ${fields.length + 1} opens a quote that is ` +
                `never closed (a quote inside a quoted field is written twice: "")`,
            );
          }
          if (s[j] === '"') {
            if (s[j + 1] !== '"') break;
            j++;
          } else if (s[j] === "\n") line++;
          value += s[j];
        }
        j++;
        while (blank(s[j])) j++;
        if (j < s.length && s[j] !== "," && s[j] !== "\n" && s.slice(j, j + 2) !== "\r\n") {
          throw new Error(
            `Line ${line} of ${path}: expected a comma or the line's end after the closing ` +
              `quote of field ${fields.length + 1}${
                opened < line ? ` (its opening quote is on line ${opened}: one missing there?)` : ""
              } but found ${
                JSON.stringify(s.slice(j).split(/\r?\n/)[0])
              } (a quote inside a quoted field is written twice: "")`,
          );
        }
        fields.push(value);
      } else {
        let k = j;
        while (k < s.length && s[k] !== "," && s[k] !== "\n") k++;
        fields.push(s.slice(j, k).trim());
        j = k;
      }
      if (s[j] === ",") {
        i = j + 1;
        continue;
      }
      if (s[j] === "\r") j++;
      if (s[j] === "\n") line++;
      i = j + 1;
      break;
    }
    records.push({ line: start, fields });
  }
  return { header: records[0]?.fields ?? [""], rows: records.slice(1) };
}

/** The id an `image` field names: the file name without its extension, or the id itself. */
function _idOf(field: string): string {
  return _FILE.exec(field)?.[1] ?? field;
}

/** Reads a per-image CSV (`labels.csv`, `split.csv`) into id → row, checking ids and fields. */
async function _perImageCsv(
  path: string,
  images: Map<string, string>,
  want: string,
): Promise<{ header: string[]; byId: Map<string, string[]> }> {
  const { header, rows } = _csv(await Deno.readTextFile(path), path);
  if (!header.includes("image")) {
    throw new Error(`Expected a column "image" in ${path} but found "${header.join(",")}"`);
  }
  const col = header.indexOf("image");
  const byId = new Map<string, string[]>();
  const lineOf = new Map<string, number>();
  for (const { line, fields } of rows) {
    if (fields.length !== header.length) {
      throw new Error(
        `Line ${line} of ${path} has ${fields.length} fields, expected ${header.length}`,
      );
    }
    const id = _idOf(fields[col]);
    if (id === "") throw new Error(`Line ${line} of ${path} has an empty image`);
    if (lineOf.has(id)) {
      throw new Error(
        `Image ${id} appears twice in ${path}, on lines ${lineOf.get(id)} and ${line}`,
      );
    }
    lineOf.set(id, line);
    byId.set(id, fields);
  }
  const unknown = [...byId.keys()].filter((id) => !images.has(id));
  if (unknown.length) {
    throw new Error(
      `${unknown.length} rows of ${path} name no file in images/: ${_few(unknown)}`,
    );
  }
  const missing = [...images.keys()].filter((id) => !byId.has(id));
  if (missing.length) {
    throw new Error(
      `${missing.length} images have no ${want} row in ${path}: ${
        _few(missing.map((id) => images.get(id)!))
      }`,
    );
  }
  return { header, byId };
}

/** Labels and sorted classes of `labels.csv`: a `label` column, or one-hot columns. */
function _labels(
  header: string[],
  byId: Map<string, string[]>,
  ids: string[],
  path: string,
): { labels: number[]; classes: string[] } {
  if (header.includes("label")) {
    const col = header.indexOf("label");
    const values = ids.map((id) => byId.get(id)![col]);
    const empty = ids.filter((_, i) => values[i] === "");
    if (empty.length) throw new Error(`Empty label for ${_few(empty)} in ${path}`);
    const distinct = [...new Set(values)];
    const numeric = distinct.every((v) => /^-?\d+$/.test(v));
    const classes = numeric
      ? distinct.sort((a, b) => Number(a) - Number(b))
      : distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { labels: values.map((v) => classes.indexOf(v)), classes };
  }
  const columns = header.filter((c) => c !== "image").sort((a, b) => (a < b ? -1 : 1));
  if (columns.length < 2) {
    throw new Error(
      `Expected a "label" column or one-hot class columns in ${path} but found "${
        header.join(",")
      }"`,
    );
  }
  const at = columns.map((c) => header.indexOf(c));
  const labels = ids.map((id) => {
    const row = byId.get(id)!;
    const v = at.map((c) => Number(row[c]));
    const hot = v.flatMap((x, k) => (x === 1 ? [k] : []));
    if (!v.every((x) => x === 0 || x === 1) || hot.length !== 1) {
      throw new Error(`Row of ${id} in ${path} is not one-hot: found ${row.join(",")}`);
    }
    return hot[0];
  });
  return { labels, classes: columns };
}

/** A 2-D NIfTI / MetaImage slice as grey bytes (0 … 255 kept, else min-max scaled). */
function _volumeBytes(path: string, scale: boolean): { data: Uint8Array; w: number; h: number } {
  const img = /\.mh[ad]$/i.test(path) ? readMetaImage(path) : readNifti(path);
  const dims = img.dims;
  if (dims.length < 2 || dims.slice(2).some((d) => d !== 1)) {
    throw new Error(`Expected a 2-D image (dims [W, H]) in ${path} but found [${dims.join(", ")}]`);
  }
  const c = "channels" in img ? img.channels : 1;
  const [w, h] = dims, n = w * h;
  const src = img.data;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = src[i * c];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const asIs = !scale || (lo >= 0 && hi <= 255 && (hi > 1 || lo < 0));
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = src[i * c];
    data[i] = asIs ? Math.round(v) : hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 0;
  }
  return { data, w, h };
}

/** Stored height, width and colour channels (1 or 3) of an image file, from its header. */
async function _storedShape(path: string): Promise<{ h: number; w: number; c: 1 | 3 }> {
  if (_VOLUME.test(path)) {
    const v = _volumeBytes(path, false);
    return { h: v.h, w: v.w, c: 1 };
  }
  const m = await sharp(path).metadata();
  const colour = (m.channels ?? 1) - (m.hasAlpha ? 1 : 0) >= 3;
  return { h: m.height ?? 0, w: m.width ?? 0, c: colour ? 3 : 1 };
}

/** Reads an image fully, converted to `channels`, resized when `size` is given. */
async function _readImage(
  path: string,
  channels: 1 | 3,
  size?: readonly [number, number],
  fit: "fill" | "cover" = "fill",
): Promise<{ data: Float32Array; h: number; w: number }> {
  if (!_VOLUME.test(path)) {
    const img = await readImage(path, { channels, ...(size ? { size, fit } : {}) });
    return { data: img.data, h: img.height, w: img.width };
  }
  const v = _volumeBytes(path, true);
  let p = sharp(v.data, { raw: { width: v.w, height: v.h, channels: 1 } });
  if (size) p = p.resize(size[1], size[0], { fit, position: "centre" });
  const { data, info } = await p.toColourspace(channels === 1 ? "b-w" : "srgb").raw({
    depth: "uchar",
  }).toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) {
    throw new Error(
      `Expected ${channels} channels after decoding ${path} but found ${info.channels}`,
    );
  }
  return { data: Float32Array.from(data, (x) => x / 255), h: info.height, w: info.width };
}

/**
 * A JPEG mask's values, each set to the nearer of 0 and 255 (JPEG is lossy: a 0 / 255 mask
 * comes back with other greys along its edges). Class indices do not survive JPEG (1 comes back
 * as 0 … 3), so a mask read whole (`checkIndices`) whose values are all small but not all 0 is
 * refused rather than read as empty.
 */
function _snapJpegMask(data: Uint8Array, path: string, checkIndices: boolean): Uint8Array {
  let max = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
  if (checkIndices && max > 0 && max < 64) {
    throw new Error(
      `Expected a JPEG mask to hold 0 / 255 (read as background / foreground) but found values ` +
        `0 … ${max} only in ${path}: class indices do not survive JPEG's lossy compression; ` +
        `save class-index masks as PNG (or TIFF, NIfTI, MetaImage)`,
    );
  }
  return data.map((v) => (v >= 128 ? 255 : 0));
}

/**
 * Reads a mask's stored values (class indices, or 0 / 255), resized (nearest) when `size` is
 * given; a JPEG mask's values are set to the nearer of 0 and 255 ({@linkcode _snapJpegMask}).
 */
async function _readMaskValues(
  path: string,
  size?: readonly [number, number],
  fit: "fill" | "cover" = "fill",
): Promise<{ data: Uint8Array; h: number; w: number }> {
  if (!_VOLUME.test(path)) {
    let data = await readMask(path, { binary: false, ...(size ? { size, fit } : {}) });
    if (_JPEG.test(path)) data = _snapJpegMask(data, path, !size);
    if (size) return { data, h: size[0], w: size[1] };
    const m = await sharp(path).metadata();
    return { data, h: m.height ?? 0, w: m.width ?? 0 };
  }
  const v = _volumeBytes(path, false);
  if (!size) return { data: v.data, h: v.h, w: v.w };
  const out = await sharp(v.data, { raw: { width: v.w, height: v.h, channels: 1 } })
    .resize(size[1], size[0], { fit, position: "centre", kernel: "nearest" })
    .toColourspace("b-w").raw({ depth: "uchar" }).toBuffer();
  return {
    data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
    h: size[0],
    w: size[1],
  };
}

/** The distinct values of a mask, sorted. */
function _distinct(data: Uint8Array): number[] {
  const seen = new Uint8Array(256);
  for (let i = 0; i < data.length; i++) seen[data[i]] = 1;
  const out: number[] = [];
  for (let v = 0; v < 256; v++) if (seen[v]) out.push(v);
  return out;
}

/**
 * How a folder's masks are read, from the values they hold: `binary` when every mask holds
 * only 0 and 255, else `index` (classes 0 … max). Throws for masks that mix both.
 */
function _maskMode(
  values: number[][],
  paths: string[],
): { mode: "binary" | "index"; classes: string[] } {
  const all = new Set(values.flat());
  if ([...all].every((v) => v === 0 || v === 255)) {
    return { mode: "binary", classes: ["background", "foreground"] };
  }
  const with255 = values.flatMap((v, i) => (v.includes(255) ? [paths[i]] : []));
  if (with255.length) {
    throw new Error(
      `Masks mix 0 / 255 with other values (class indices must be below 255): ${_few(with255)}`,
    );
  }
  const max = Math.max(...all);
  return { mode: "index", classes: Array.from({ length: Math.max(2, max + 1) }, (_, i) => `${i}`) };
}

/**
 * Reads the layout of a folder dataset (labels, masks' values, split, channels), checking
 * that every label and mask has its image and every image its label and mask. Only reads.
 *
 * @param root The folder.
 * @returns What the loader needs; images and masks are decoded later (masks once here, for their values).
 * @throws {Error} Naming the file and what is wrong.
 */
export async function scanFolder(root: string): Promise<FolderScan> {
  await _checkRoot(root, "Folder dataset");
  const imagesDir = join(root, "images");
  const names = await _listNames(imagesDir);
  if (!names) {
    const found = (await _readNames(root)) ?? [];
    throw new Error(`Missing folder images/ in ${root}; found: ${_few(found) || "nothing"}`);
  }
  const images = _byId(names, imagesDir);
  if (images.size === 0) {
    throw new Error(`No images (PNG, JPEG, TIFF, NIfTI, MetaImage) in ${imagesDir}`);
  }
  const ids = [...images.keys()].sort();
  const scan: FolderScan = {
    root,
    ids,
    imagePaths: ids.map((id) => join(imagesDir, images.get(id)!)),
    channels: 1,
  };
  const labelsPath = join(root, "labels.csv");
  const maskNames = await _listNames(join(root, "masks"));
  const hasLabels = await Deno.stat(labelsPath).then((s) => s.isFile, () => false);
  if (!hasLabels && !maskNames) {
    throw new Error(
      `Expected labels.csv (diagnosis) and/or masks/ (segmentation) in ${root}; found: ${
        _few(await _readNames(root))
      }`,
    );
  }
  if (hasLabels) {
    const { header, byId } = await _perImageCsv(labelsPath, images, "label");
    const { labels, classes } = _labels(header, byId, ids, labelsPath);
    if (classes.length < 2) {
      throw new Error(
        `Expected at least two classes in ${labelsPath} but found ${classes.join(", ")}`,
      );
    }
    scan.labels = labels;
    scan.labelClasses = classes;
  }
  if (maskNames) {
    const masksDir = join(root, "masks");
    const masks = _byId(maskNames, masksDir);
    const noMask = ids.filter((id) => !masks.has(id));
    if (noMask.length) {
      throw new Error(
        `${noMask.length} images have no mask of their name in ${masksDir}: ${
          _few(noMask.map((id) => images.get(id)!))
        }`,
      );
    }
    const noImage = [...masks.keys()].filter((id) => !images.has(id));
    if (noImage.length) {
      throw new Error(
        `${noImage.length} masks in ${masksDir} have no image: ${
          _few(noImage.map((id) => masks.get(id)!))
        }`,
      );
    }
    scan.maskPaths = ids.map((id) => join(masksDir, masks.get(id)!));
    const values = await _pool(
      scan.maskPaths,
      4,
      async (p) => _distinct((await _readMaskValues(p)).data),
    );
    const { mode, classes } = _maskMode(values, scan.maskPaths);
    scan.maskMode = mode;
    scan.maskClasses = classes;
  }
  const splitPath = join(root, "split.csv");
  if (await Deno.stat(splitPath).then((s) => s.isFile, () => false)) {
    const { header, byId } = await _perImageCsv(splitPath, images, "split");
    const col = header.indexOf("split");
    if (col < 0) throw new Error(`Expected a column "split" in ${splitPath}`);
    scan.splitOf = ids.map((id) => {
      const s = byId.get(id)![col];
      if (s !== "train" && s !== "val" && s !== "test") {
        throw new Error(
          `Expected split train, val or test for ${id} in ${splitPath} but found "${s}"`,
        );
      }
      return s;
    });
  }
  const shapes = await _pool(scan.imagePaths, 8, async (p) => {
    try {
      return await _storedShape(p);
    } catch (err) {
      throw new Error(`Image ${p} does not read: ${(err as Error).message}`, { cause: err });
    }
  });
  scan.channels = shapes.some((s) => s.c === 3) ? 3 : 1;
  return scan;
}

/** The item indices of one split: `split.csv`'s, or the seeded, label-stratified draw. */
export function folderSplit(
  scan: FolderScan,
  split: "train" | "val" | "test",
  seed: number,
): number[] {
  if (scan.splitOf) return scan.ids.flatMap((_, i) => (scan.splitOf![i] === split ? [i] : []));
  return splitDataset(scan.ids, { ...(scan.labels ? { labels: scan.labels } : {}), seed })[split];
}

interface _Init extends _LazyInit {
  maskPaths: string[] | undefined;
  maskMode: "binary" | "index" | undefined;
  channels: 1 | 3;
}

class _FolderDataset extends _LazyDataset<_Entry & { id: string; label?: number }, LoadedSplit> {
  #maskPaths: string[] | undefined;
  #maskMode: "binary" | "index" | undefined;
  #channels: 1 | 3;

  constructor(init: _Init) {
    super(init, { channels: init.channels, masks: init.maskPaths !== undefined, concurrency: 4 });
    this.#maskPaths = init.maskPaths;
    this.#maskMode = init.maskMode;
    this.#channels = init.channels;
  }

  protected async decode(index: number): Promise<_Entry> {
    const size = this.size;
    const [img, mask] = await Promise.all([
      _readImage(this.imagePaths[index], this.#channels, size, this.fit),
      this.#maskPaths
        ? _readMaskValues(this.#maskPaths[index], size, this.fit)
        : Promise.resolve(undefined),
    ]);
    let m = mask?.data;
    if (m && this.#maskMode === "binary") m = m.map((v) => (v > 127 ? 1 : 0));
    return { image: img.data, mask: m };
  }
}

/** Loads one split of a folder dataset for `tasks` as tensors (the experiments' entry). */
async function _loadSplit(
  o: Parameters<DatasetDescriptor["loadSplit"]>[0],
): Promise<LoadedSplit> {
  const scan = await scanFolder(o.root);
  const wantLabels = o.tasks.includes("diagnosis"), wantMasks = o.tasks.includes("segmentation");
  if (wantLabels && !scan.labels) throw new Error(`No labels.csv in ${o.root} (task diagnosis)`);
  if (wantMasks && !scan.maskPaths) throw new Error(`No masks/ in ${o.root} (task segmentation)`);
  let chosen = folderSplit(scan, o.split, o.seed);
  if (o.limit !== null && o.limit < chosen.length) chosen = chosen.slice(0, o.limit);
  const ds = new _FolderDataset({
    root: o.root,
    size: [o.size[0], o.size[1]],
    fit: "fill",
    seed: o.seed,
    cacheBytes: 0,
    ids: chosen.map((i) => scan.ids[i]),
    labels: wantLabels ? Int32Array.from(chosen, (i) => scan.labels![i]) : undefined,
    imagePaths: chosen.map((i) => scan.imagePaths[i]),
    maskPaths: wantMasks ? chosen.map((i) => scan.maskPaths![i]) : undefined,
    maskMode: scan.maskMode,
    channels: scan.channels,
  });
  return await ds.loadAll();
}

// ---------------------------------------------------------------- verify and inspect

const _verify: DatasetDescriptor["verify"] = async (root, _manifest, options) => {
  const checks: VerifyCheck[] = [];
  const names = await _listNames(join(root, "images"));
  if (!names) {
    checks.push({ name: "images/", status: "fail", detail: `missing folder images/ in ${root}` });
    return checks;
  }
  // Every image file decodes (before the layout, so that a corrupt one is named by its path).
  const files = names.filter((n) => _FILE.test(n)).map((n) => join(root, "images", n));
  const ignored = names.filter((n) => !_FILE.test(n) && !/\.(z?raw)$/i.test(n));
  const sizes = new Map<string, string>();
  const bad: string[] = [];
  await _pool(files, 4, async (p) => {
    try {
      const img = await _readImage(p, 3);
      sizes.set(p, `${img.h}x${img.w}`);
    } catch (err) {
      bad.push(`${relative(root, p)} (${(err as Error).message})`);
    }
  });
  bad.sort();
  checks.push(
    bad.length
      ? {
        name: "images: decodable",
        status: "fail",
        detail: `${bad.length} of ${files.length} images do not decode: ${_few(bad)}`,
      }
      : { name: "images: decodable", status: "pass", detail: `${files.length} images decode` },
  );
  if (ignored.length) {
    checks.push({
      name: "images: other files",
      status: "info",
      detail: `ignored: ${_few(ignored)}`,
    });
  }
  checks.push(
    _countCheck("images", files.length, undefined, "data-manifests/folder.json"),
  );
  let scan: FolderScan;
  try {
    scan = await scanFolder(root);
  } catch (err) {
    checks.push({ name: "layout", status: "fail", detail: (err as Error).message });
    return checks;
  }
  const parts = [
    scan.labelClasses ? `labels.csv (classes ${scan.labelClasses.join(", ")})` : "",
    scan.maskPaths ? `masks/ (${scan.maskMode}: classes ${scan.maskClasses!.join(", ")})` : "",
    scan.splitOf ? "split.csv" : "seeded split",
    `${scan.channels} channel${scan.channels === 1 ? "" : "s"}`,
  ].filter(Boolean);
  checks.push({
    name: "layout",
    status: "pass",
    detail: `${scan.ids.length} images; ${parts.join("; ")}`,
  });
  if (options.task === "diagnosis" && !scan.labels) {
    checks.push({ name: "diagnosis", status: "fail", detail: `no labels.csv in ${root}` });
  }
  if (options.task === "segmentation" && !scan.maskPaths) {
    checks.push({ name: "segmentation", status: "fail", detail: `no masks/ in ${root}` });
  }
  if (scan.maskPaths && options.task !== "diagnosis") {
    const mismatched: string[] = [], unreadable: string[] = [];
    await _pool(scan.maskPaths.map((p, i) => [p, scan.imagePaths[i]]), 4, async ([m, img]) => {
      try {
        const v = await _readMaskValues(m);
        const a = sizes.get(img), b = `${v.h}x${v.w}`;
        if (a && a !== b) mismatched.push(`${relative(root, m)} (${b}, image ${a})`);
      } catch (err) {
        unreadable.push(`${relative(root, m)} (${(err as Error).message})`);
      }
    });
    checks.push(
      unreadable.length
        ? { name: "masks: decodable", status: "fail", detail: _few(unreadable.sort()) }
        : {
          name: "masks: decodable",
          status: "pass",
          detail: `${scan.maskPaths.length} masks decode`,
        },
      mismatched.length
        ? {
          name: "masks: sizes",
          status: "fail",
          detail: `${mismatched.length} masks differ in size from their image: ${
            _few(mismatched.sort())
          }`,
        }
        : { name: "masks: sizes", status: "pass", detail: "every mask has its image's size" },
      {
        name: "masks: values",
        status: "pass",
        detail: (scan.maskMode === "binary"
          ? "0 / 255 (read as 0 / 1)"
          : `class indices 0 … ${scan.maskClasses!.length - 1}`) +
          (scan.maskPaths.some((p) =>
              _JPEG.test(p)
            )
            ? "; JPEG masks: each pixel to the nearer of 0 and 255 (JPEG is lossy)"
            : ""),
      },
    );
  }
  return checks;
};

const _inspectSplit: DatasetInspection["split"] = async (root, task, split, seed) => {
  const scan = await scanFolder(root);
  const chosen = folderSplit(scan, split, seed);
  const imagePaths = chosen.map((i) => scan.imagePaths[i]);
  const storedSize = async (p: string) => {
    const img = await _readImage(p, scan.channels);
    return `${img.h}x${img.w}x${scan.channels}`;
  };
  if (task === "segmentation") {
    if (!scan.maskPaths) throw new Error(`No masks/ in ${root} (task segmentation)`);
    const binary = scan.maskMode === "binary";
    return {
      imagePaths,
      storedSize,
      maskPixels: _maskPixels(
        scan.maskClasses!,
        chosen.map((i) => scan.maskPaths![i]),
        async (p) => {
          const { data } = await _readMaskValues(p);
          return binary ? data.map((v) => (v > 127 ? 1 : 0)) : data;
        },
      ),
    };
  }
  if (!scan.labels) throw new Error(`No labels.csv in ${root} (task diagnosis)`);
  return {
    imagePaths,
    storedSize,
    labels: { names: scan.labelClasses!, values: chosen.map((i) => scan.labels![i]) },
  };
};

/** The descriptor of one read folder: its channels, tasks and classes. */
async function _forRoot(root: string): Promise<DatasetDescriptor> {
  const scan = await scanFolder(root);
  const tasks: { diagnosis?: DatasetTaskInfo; segmentation?: DatasetTaskInfo } = {};
  if (scan.labelClasses) {
    tasks.diagnosis = { classes: scan.labelClasses, about: `labels.csv of ${root}` };
  }
  if (scan.maskClasses) {
    tasks.segmentation = { classes: scan.maskClasses, about: `masks/ of ${root}` };
  }
  const defaultTask: RecognitionTask = tasks.diagnosis ? "diagnosis" : "segmentation";
  return {
    ...FOLDER_DATASET,
    channels: scan.channels,
    tasks,
    pairedTasks: !!(tasks.diagnosis && tasks.segmentation),
    inspect: { ...FOLDER_DATASET.inspect, defaultTask },
    forRoot: undefined,
  };
}

/**
 * Your own images as a dataset (see the module doc for the layout). Its `channels` and
 * `tasks` here are placeholders (3, both tasks with no classes yet); `forRoot(root)` (through
 * `resolveDataset`) gives those of one folder. It has no synthetic copy: `synthetic.root`
 * throws `dataset folder needs --data DIR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FOLDER_DATASET } from "./folder.ts";
 * assert.equal(typeof FOLDER_DATASET.forRoot, "function");
 * ```
 */
export const FOLDER_DATASET: DatasetDescriptor<"folder"> = {
  id: "folder",
  name: "Folder",
  channels: 3,
  tasks: {
    diagnosis: { classes: [], about: "classes from labels.csv" },
    segmentation: { classes: [], about: "classes from the values of masks/" },
  },
  pairedTasks: true,
  loadSplit: _loadSplit,
  synthetic: {
    version: 0,
    marker: ".synthetic-folder.json",
    embedded: {},
    root: () => Promise.reject(new TypeError("dataset folder needs --data DIR (data.root)")),
  },
  verify: _verify,
  inspect: {
    defaultTask: "diagnosis",
    note: "your own images/ with labels.csv and/or masks/; tasks as the folder has them",
    split: _inspectSplit,
  },
  forRoot: _forRoot,
};
