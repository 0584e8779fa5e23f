/**
 * Dataset manifests (`data-manifests/<id>.json`), checksum locks, and the two
 * checks behind `tools/data.ts`: {@linkcode verifyDataset} (the dataset's own
 * checks — layout, counts, decodability, formats — then the SHA-256 of every
 * file, recorded in a lock file outside the dataset) and
 * {@linkcode inspectDataset} (per-split counts, stored image sizes, class
 * histograms, mask pixels). Both only read the dataset folder; nothing is
 * ever written into it.
 *
 * What is particular to a dataset lives in its descriptor (`verify`,
 * `inspect.split`; see `dataset_descriptor.ts` and `DATASETS` in
 * `registry.ts`); the manifest, lock and report handling here is shared.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { _few, _pool } from "./_checks.ts";
import type {
  DatasetManifest,
  DatasetToolOptions,
  SplitSummary,
  VerifyCheck,
} from "./dataset_descriptor.ts";
import { getDataset, resolveTask } from "./registry.ts";

export type { DatasetManifest, DatasetToolOptions, SplitSummary, VerifyCheck };

/** `<repo>/data-manifests/`, where manifests (and, by default, lock files) live. */
export const MANIFEST_DIR: string = fileURLToPath(
  new URL("../../data-manifests/", import.meta.url),
);

/** Result of {@linkcode verifyDataset}. */
export interface VerifyReport {
  dataset: string;
  folder: string;
  ok: boolean;
  checks: VerifyCheck[];
  lockPath: string;
  /** `created`: first verified copy, lock written; `matched`; `updated`; `mismatch`; `not-written` (other checks failed). */
  lock: "created" | "matched" | "updated" | "mismatch" | "not-written";
  changed: string[];
  missing: string[];
  added: string[];
}

/** Result of {@linkcode inspectDataset}. */
export interface InspectReport {
  dataset: string;
  task: string;
  folder: string;
  splits: Record<string, SplitSummary>;
}

/**
 * Reads and minimally validates `data-manifests/<name>.json`.
 *
 * @param name Dataset id (file name without `.json`).
 * @param manifestDir Folder of the manifests.
 * @returns The parsed manifest.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readManifest } from "./manifest.ts";
 * const m = await readManifest("isic2018");
 * assert.equal(m.id, "isic2018");
 * ```
 */
export async function readManifest(
  name: string,
  manifestDir: string = MANIFEST_DIR,
): Promise<DatasetManifest> {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) {
    throw new TypeError(`Expected a dataset name of letters, digits, - or _ but found "${name}"`);
  }
  const path = join(manifestDir, `${name}.json`);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const known: string[] = [];
    for await (const e of Deno.readDir(manifestDir)) {
      if (e.isFile && e.name.endsWith(".json")) known.push(e.name.slice(0, -5));
    }
    throw new Error(
      `No manifest ${path} for dataset "${name}"; found: ${known.sort().join(", ") || "none"}`,
      { cause: err },
    );
  }
  const manifest = JSON.parse(text) as DatasetManifest;
  if (manifest.id !== name) {
    throw new Error(`Expected id "${name}" in ${path} but found ${JSON.stringify(manifest.id)}`);
  }
  return manifest;
}

/**
 * The default lock file of a dataset copy:
 * `<manifestDir>/locks/<name>.<first 16 hex of SHA-256 of the absolute folder path>.sha256.json`.
 *
 * @param name Dataset id.
 * @param folder Dataset folder (made absolute).
 * @param manifestDir Folder of the manifests.
 * @returns Absolute path of the lock file.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultLockPath } from "./manifest.ts";
 * assert.ok(defaultLockPath("isic2018", "/data/ISIC2018").endsWith(".sha256.json"));
 * ```
 */
export function defaultLockPath(
  name: string,
  folder: string,
  manifestDir: string = MANIFEST_DIR,
): string {
  const hash = createHash("sha256").update(resolve(folder)).digest("hex").slice(0, 16);
  return resolve(manifestDir, "locks", `${name}.${hash}.sha256.json`);
}

/**
 * Verifies a dataset copy against its manifest: the dataset's checks (folders, file
 * name patterns, counts, decodability, CSV header), then the SHA-256 of every file.
 * On the first verified copy the checksums are written to the lock file (outside the
 * folder); later runs report every changed, missing or new file by name and fail.
 * The folder is only read.
 *
 * @param name Dataset id (see `DATASETS`).
 * @param folder Dataset folder.
 * @param options Task, synthetic counts, lock file.
 * @returns The report; `ok` is false when any check fails.
 * @example
 * ```ts ignore
 * import { verifyDataset } from "./manifest.ts";
 * const report = await verifyDataset("isic2018", "/data/ISIC2018");
 * if (!report.ok) console.log(report.checks.filter((c) => c.status === "fail"));
 * ```
 */
export async function verifyDataset(
  name: string,
  folder: string,
  options: DatasetToolOptions = {},
): Promise<VerifyReport> {
  const dataset = getDataset(name);
  const manifestDir = options.manifestDir ?? MANIFEST_DIR;
  const manifest = await readManifest(name, manifestDir);
  const root = resolve(folder);
  await _checkFolder(root);
  const lockPath = resolve(options.lockPath ?? defaultLockPath(name, root, manifestDir));
  const rel = relative(root, lockPath);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
    throw new Error(`Lock file ${lockPath} is inside the dataset folder ${root}; choose another`);
  }

  const task = options.task === undefined ? undefined : resolveTask(dataset, options.task);
  const checks = await dataset.verify(root, manifest, { ...options, task });
  const report: VerifyReport = {
    dataset: name,
    folder: root,
    ok: false,
    checks,
    lockPath,
    lock: "not-written",
    changed: [],
    missing: [],
    added: [],
  };
  const sums = await datasetChecksums(root);
  const others = checks.every((c) => c.status !== "fail");
  const previous = await readLock(lockPath);
  if (previous) {
    for (const [file, sum] of Object.entries(previous)) {
      if (!(file in sums)) report.missing.push(file);
      else if (sums[file] !== sum) report.changed.push(file);
    }
    for (const file of Object.keys(sums)) if (!(file in previous)) report.added.push(file);
    const same = !report.missing.length && !report.changed.length && !report.added.length;
    if (same) {
      checks.push({
        name: "checksums",
        status: "pass",
        detail: `${Object.keys(sums).length} files match ${lockPath}`,
      });
      report.lock = "matched";
    } else if (options.updateLock && others) {
      await _writeLock(lockPath, name, root, sums);
      checks.push({
        name: "checksums",
        status: "pass",
        detail: `lock rewritten (${_diffText(report)})`,
      });
      report.lock = "updated";
    } else {
      checks.push({
        name: "checksums",
        status: "fail",
        detail: `differs from ${lockPath}: ${_diffText(report)}`,
      });
      report.lock = "mismatch";
    }
  } else if (others) {
    await _writeLock(lockPath, name, root, sums);
    checks.push({
      name: "checksums",
      status: "pass",
      detail: `first verified copy: SHA-256 of ${
        Object.keys(sums).length
      } files written to ${lockPath}`,
    });
    report.lock = "created";
  } else {
    checks.push({
      name: "checksums",
      status: "info",
      detail: `no lock written (other checks failed); it would go to ${lockPath}`,
    });
  }
  report.ok = checks.every((c) => c.status !== "fail");
  return report;
}

/**
 * Summarises a dataset copy per split (as its loader splits it): sample count, the
 * most common stored image size and channels (read from file headers, before any
 * resizing), the class histogram and, for masks, the pixel count per class. Works on
 * a partial copy (only the task's folders are needed). The folder is only read.
 *
 * @param name Dataset id (see `DATASETS`).
 * @param folder Dataset folder.
 * @param options Task (default the dataset's `inspect.defaultTask`) and split seed.
 * @returns The summary.
 * @example
 * ```ts ignore
 * import { inspectDataset } from "./manifest.ts";
 * const r = await inspectDataset("isic2018", "/data/ISIC2018", { task: "segmentation" });
 * console.log(r.splits.train.samples, r.splits.train.maskPixels);
 * ```
 */
export async function inspectDataset(
  name: string,
  folder: string,
  options: DatasetToolOptions = {},
): Promise<InspectReport> {
  const dataset = getDataset(name);
  const root = resolve(folder);
  await _checkFolder(root);
  const task = resolveTask(dataset, options.task ?? dataset.inspect.defaultTask);
  const splits: Record<string, SplitSummary> = {};
  for (const split of ["train", "val", "test"] as const) {
    const s = await dataset.inspect.split(root, task, split, options.seed ?? 0);
    const stored = _sizeSummary(await _pool(s.imagePaths, 4, s.storedSize ?? _storedSize));
    const summary: SplitSummary = {
      samples: s.imagePaths.length,
      height: stored.height,
      width: stored.width,
      channels: stored.channels,
    };
    if (s.labels) {
      const { names, values } = s.labels;
      summary.classes = Object.fromEntries(names.map((c) => [c, 0]));
      for (const l of Array.from(values)) summary.classes[names[l]]++;
    }
    if (s.maskPixels) {
      const counts = await s.maskPixels.count();
      summary.maskPixels = Object.fromEntries(s.maskPixels.names.map((c, i) => [c, counts[i]]));
    }
    if (stored.sizes) summary.sizes = stored.sizes;
    splits[split] = summary;
  }
  return { dataset: name, task, folder: root, splits };
}

/**
 * The JSON form of an inspect report: exactly
 * `{"dataset", "splits": {"<split>": {"samples", "height", "width", "channels", "classes"?, "maskPixels"?}}}`.
 *
 * @param report From {@linkcode inspectDataset}.
 * @returns A plain object for `JSON.stringify`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspectJson } from "./manifest.ts";
 * const r = { dataset: "d", task: "t", folder: "/x", splits: {
 *   train: { samples: 1, height: 2, width: 3, channels: 3, sizes: { "2x3x3": 1 } } } };
 * assert.deepEqual(inspectJson(r), {
 *   dataset: "d",
 *   splits: { train: { samples: 1, height: 2, width: 3, channels: 3 } },
 * });
 * ```
 */
export function inspectJson(report: InspectReport): {
  dataset: string;
  splits: Record<string, Omit<SplitSummary, "sizes">>;
} {
  const splits: Record<string, Omit<SplitSummary, "sizes">> = {};
  for (const [split, s] of Object.entries(report.splits)) {
    const { sizes: _sizes, ...rest } = s;
    splits[split] = rest;
  }
  return { dataset: report.dataset, splits };
}

// ---------------------------------------------------------------- locks and checksums

/**
 * The SHA-256 of every regular file under `folder` (hidden ones too), by
 * `/`-separated relative path, in path order: what a lock file records. Only reads.
 *
 * @param folder A dataset folder.
 * @returns Hex digests by relative path.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetChecksums } from "./manifest.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "");
 * assert.deepEqual(await datasetChecksums(dir), {
 *   "a.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function datasetChecksums(folder: string): Promise<Record<string, string>> {
  const root = resolve(folder);
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const info = e.isSymlink ? await Deno.stat(path) : e;
      if (info.isDirectory) await walk(path);
      else if (info.isFile) files.push(relative(root, path).split("\\").join("/"));
    }
  };
  await walk(root);
  files.sort();
  const out: Record<string, string> = {};
  for (const file of files) {
    out[file] = createHash("sha256").update(await Deno.readFile(join(root, file))).digest("hex");
  }
  return out;
}

/**
 * The checksums a lock file records, or undefined when there is no such file.
 *
 * @param path A lock file (see {@linkcode defaultLockPath}).
 * @returns Hex digests by relative path.
 * @throws {Error} When the file holds no `files` object.
 */
export async function readLock(path: string): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const lock = JSON.parse(text);
  if (!lock || typeof lock.files !== "object") {
    throw new Error(`Expected a "files" object in lock file ${path}`);
  }
  return lock.files;
}

// ---------------------------------------------------------------- helpers

async function _checkFolder(root: string): Promise<void> {
  const info = await Deno.stat(root).catch(() => undefined);
  if (!info) throw new Error(`Dataset folder not found: ${root}`);
  if (!info.isDirectory) throw new Error(`Expected a dataset folder but found a file: ${root}`);
}

async function _writeLock(
  path: string,
  name: string,
  folder: string,
  files: Record<string, string>,
): Promise<void> {
  await Deno.mkdir(resolve(path, ".."), { recursive: true });
  const body = { dataset: name, folder, algorithm: "sha256", files };
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(body, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

function _diffText(r: VerifyReport): string {
  const parts = [];
  if (r.changed.length) parts.push(`changed: ${_few(r.changed, 20)}`);
  if (r.missing.length) parts.push(`missing: ${_few(r.missing, 20)}`);
  if (r.added.length) parts.push(`new: ${_few(r.added, 20)}`);
  return parts.join("; ");
}

// ---------------------------------------------------------------- inspection

/** Stored `HxWxC` of an image file, from its header (sharp). */
async function _storedSize(path: string): Promise<string> {
  const m = await sharp(path).metadata();
  return `${m.height}x${m.width}x${m.channels}`;
}

/** The most common `HxWxC` of a split and, when they differ, every size with its count. */
function _sizeSummary(
  list: readonly string[],
): Pick<SplitSummary, "height" | "width" | "channels" | "sizes"> {
  const sizes: Record<string, number> = {};
  for (const s of list) sizes[s] = (sizes[s] ?? 0) + 1;
  const common = Object.entries(sizes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  const [height, width, channels] = common ? common[0].split("x").map(Number) : [null, null, null];
  return Object.keys(sizes).length > 1
    ? { height, width, channels, sizes }
    : { height, width, channels };
}
