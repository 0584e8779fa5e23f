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
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { _decode, _few, _pool } from "./_checks.ts";
import type {
  DatasetManifest,
  DatasetToolOptions,
  SplitSummary,
  VerifyCheck,
} from "./dataset_descriptor.ts";
import { getDataset, resolveDataset, resolveTask } from "./registry.ts";

export type { DatasetManifest, DatasetToolOptions, SplitSummary, VerifyCheck };

/** `<repo>/data-manifests/`, where manifests (and, by default, lock files) live. */
export const MANIFEST_DIR: string = fileURLToPath(
  new URL("../../data-manifests/", import.meta.url),
);

/** Result of {@linkcode verifyDataset}. */
export interface VerifyReport {
  dataset: string;
  /** The dataset folder, its real path (symbolic links resolved). */
  folder: string;
  ok: boolean;
  checks: VerifyCheck[];
  lockPath: string;
  /** `created`: first verified copy, lock written; `matched`; `updated`; `mismatch`; `not-written` (other checks failed). */
  lock: "created" | "matched" | "updated" | "mismatch" | "not-written";
  changed: string[];
  missing: string[];
  added: string[];
  /**
   * The command that accepts this copy's counts (`… --update-lock`), when only counts differ
   * from the manifest and they were not accepted; else undefined.
   */
  acceptCommand?: string;
}

/** Result of {@linkcode inspectDataset}. */
export interface InspectReport {
  dataset: string;
  task: string;
  folder: string;
  splits: Record<string, SplitSummary>;
  /** `<path> (<reason>)` of every counted image or mask that does not read (empty when all do). */
  unreadable: string[];
}

/**
 * A lock file's contents: what `data:verify` recorded about a copy.
 *
 * - `files`: SHA-256 of every file by `/`-separated relative path;
 * - `stats`: `[size in bytes, mtime in ms]` of every file when it was hashed, for the cheap
 *   re-check before a run ({@linkcode lockChanges}); absent in locks written before they were
 *   recorded (every file is then read again);
 * - `counts`: the copy's count checks as verified; `differs` marks a count that differs from
 *   the manifest, accepted for this copy with `--update-lock` (a partial or variant copy).
 */
export interface DataLock {
  dataset: string;
  folder: string;
  algorithm: "sha256";
  files: Record<string, string>;
  stats?: Record<string, [number, number]>;
  counts?: { name: string; detail: string; differs: boolean }[];
}

/** What changed in a folder since its lock: relative paths. */
export interface LockChanges {
  changed: string[];
  missing: string[];
  added: string[];
  /** Files read again (size or mtime differed from the lock's, or the lock has no stats). */
  reread: number;
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
  // The real path: a folder and a symbolic link to it share one lock.
  const hash = createHash("sha256").update(realPathOf(folder)).digest("hex").slice(0, 16);
  return resolve(manifestDir, "locks", `${name}.${hash}.sha256.json`);
}

/**
 * The real path of `path` (symbolic links resolved) where it exists; for a path that does not
 * exist yet (a lock or cache file about to be written), the real path of its nearest existing
 * ancestor joined with the rest.
 *
 * @param path Any path (made absolute).
 * @returns The real absolute path.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { realPathOf } from "./manifest.ts";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.symlink(dir, `${dir}-link`);
 * assert.equal(realPathOf(`${dir}-link/not/yet.json`), `${dir}/not/yet.json`);
 * await Deno.remove(`${dir}-link`);
 * await Deno.remove(dir);
 * ```
 */
export function realPathOf(path: string): string {
  const abs = resolve(path);
  const rest: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return join(Deno.realPathSync(at), ...rest);
    } catch {
      const up = dirname(at);
      if (up === at) return abs;
      rest.unshift(basename(at));
      at = up;
    }
  }
}

/**
 * Throws when `path` (a lock, a cache or any file about to be written) lies inside the dataset
 * folder `root`, both compared by real path, so that no symbolic link leads a write into a
 * dataset.
 *
 * @param path The file or folder to be written.
 * @param root The dataset folder.
 * @param what What `path` is, for the message (`Lock file`, `Cache folder`).
 * @throws {Error} `<what> <path> is inside the dataset folder <root> (real paths <…>); choose another`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertOutsideDataset } from "./manifest.ts";
 * assertOutsideDataset("/data/locks/a.json", "/data/isic");
 * assert.throws(() => assertOutsideDataset("/data/isic/a.json", "/data/isic"), /inside the dataset/);
 * ```
 */
export function assertOutsideDataset(path: string, root: string, what = "File"): void {
  const realRoot = realPathOf(root), realPath = realPathOf(path);
  const rel = relative(realRoot, realPath);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
    const real = realPath === resolve(path) && realRoot === resolve(root)
      ? ""
      : ` (real paths ${realPath} and ${realRoot})`;
    throw new Error(
      `${what} ${resolve(path)} is inside the dataset folder ${
        resolve(root)
      }${real}; choose another`,
    );
  }
}

/**
 * The `deno task data:verify` command line for a folder (arguments quoted for a POSIX shell
 * where needed).
 *
 * @param name Dataset id.
 * @param folder The folder as the user gave it.
 * @param extra Further arguments (`--update-lock`, `--lock FILE`).
 * @returns E.g. `deno task data:verify covid_ct /data/COVID-CT --update-lock`.
 */
export function verifyCommand(name: string, folder: string, ...extra: string[]): string {
  const q = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
  return ["deno", "task", "data:verify", name, folder, ...extra].map(q).join(" ");
}

/**
 * Verifies a dataset copy against its manifest: the dataset's checks (folders, file
 * name patterns, counts, decodability, CSV columns), then the SHA-256 of every file.
 * On the first verified copy the checksums (with every file's size and mtime, and the
 * copy's counts) are written to the lock file (outside the folder, compared by real
 * path); later runs report every changed, missing or new file by name and fail.
 * The folder is only read.
 *
 * Counts that differ from the manifest (a partial or variant copy) fail, naming the
 * command that accepts them (`report.acceptCommand`); with `updateLock` they become
 * warnings (`warn`) and the lock records the copy as it is, after which later runs
 * accept the same counts as warnings. Any other failing check (a missing folder, a
 * corrupt file) is never accepted.
 *
 * @param name Dataset id (see `DATASETS`).
 * @param folder Dataset folder.
 * @param options Task, synthetic counts, lock file, `updateLock`.
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
  const given = resolve(folder);
  await _checkFolder(given);
  const root = await Deno.realPath(given);
  const lockPath = realPathOf(options.lockPath ?? defaultLockPath(name, root, manifestDir));
  assertOutsideDataset(lockPath, root, "Lock file");

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
  const previous = await readDataLock(lockPath);

  // Counts that differ from the manifest: accepted with --update-lock, or as the lock records them.
  const counted = new Map(checks.filter((c) => c.kind === "count").map((c) => [c, c.detail]));
  const countFails = checks.filter((c) => c.status === "fail" && c.kind === "count");
  const otherFails = checks.filter((c) => c.status === "fail" && c.kind !== "count");
  if (countFails.length && !otherFails.length) {
    const recorded = new Set(
      (previous?.counts ?? []).filter((c) => c.differs).map((c) => `${c.name}\0${c.detail}`),
    );
    const byLock = countFails.every((c) => recorded.has(`${c.name}\0${c.detail}`));
    if (options.updateLock || byLock) {
      const why = options.updateLock ? "accepted with --update-lock" : `accepted in ${lockPath}`;
      for (const c of countFails) {
        c.status = "warn";
        c.detail += ` (differs from the manifest; ${why})`;
      }
    } else {
      const lockArg = options.lockPath === undefined ? [] : ["--lock", options.lockPath];
      report.acceptCommand = verifyCommand(name, folder, ...lockArg, "--update-lock");
      checks.push({
        name: "counts",
        status: "info",
        detail: `only counts differ from the manifest (a partial or variant copy?); ` +
          `to accept this copy as it is, run: ${report.acceptCommand}`,
      });
    }
  }

  const scan = await _hashFolder(root);
  const sums = scan.files;
  const others = checks.every((c) => c.status !== "fail");
  const body: DataLock = {
    dataset: name,
    folder: root,
    algorithm: "sha256",
    files: sums,
    stats: scan.stats,
    counts: [...counted].map(([c, detail]) => ({
      name: c.name,
      detail,
      differs: c.status === "warn",
    })),
  };
  if (previous) {
    for (const [file, sum] of Object.entries(previous.files)) {
      if (!(file in sums)) report.missing.push(file);
      else if (sums[file] !== sum) report.changed.push(file);
    }
    for (const file of Object.keys(sums)) if (!(file in previous.files)) report.added.push(file);
    const same = !report.missing.length && !report.changed.length && !report.added.length;
    if (same) {
      // Sizes, mtimes (a file touched) or counts recorded differently: refresh them.
      const refresh = others &&
        JSON.stringify([previous.stats, previous.counts]) !==
          JSON.stringify([body.stats, body.counts]);
      if (refresh) await _writeLock(lockPath, body);
      checks.push({
        name: "checksums",
        status: "pass",
        detail: `${Object.keys(sums).length} files match ${lockPath}` +
          (refresh ? " (sizes, times and counts recorded again)" : ""),
      });
      report.lock = "matched";
    } else if (options.updateLock && others) {
      await _writeLock(lockPath, body);
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
    await _writeLock(lockPath, body);
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
 * resizing), the class histogram and, for masks, the pixel count per class. Every
 * image (and mask) counted is decoded in full: one that does not read (truncated,
 * not an image) is listed in `unreadable` by path and left out of the sizes. Works on
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
 * console.log(r.splits.train.samples, r.splits.train.maskPixels, r.unreadable);
 * ```
 */
export async function inspectDataset(
  name: string,
  folder: string,
  options: DatasetToolOptions = {},
): Promise<InspectReport> {
  const root = resolve(folder);
  await _checkFolder(root);
  // A dataset read from its folder (`folder`) has the tasks of that folder.
  const dataset = getDataset(name).forRoot ? await resolveDataset(name, root) : getDataset(name);
  const task = resolveTask(dataset, options.task ?? dataset.inspect.defaultTask);
  const splits: Record<string, SplitSummary> = {};
  const unreadable: string[] = [];
  const bad = (path: string, reason: string) => unreadable.push(`${path} (${reason})`);
  for (const split of ["train", "val", "test"] as const) {
    const s = await dataset.inspect.split(root, task, split, options.seed ?? 0);
    const size = s.storedSize ?? _storedSize;
    const sizes = await _pool(s.imagePaths, 4, async (p) => {
      try {
        return await size(p);
      } catch (err) {
        bad(p, (err as Error).message);
        return undefined;
      }
    });
    const stored = _sizeSummary(sizes.filter((x) => x !== undefined));
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
      const counts = await s.maskPixels.count(bad);
      summary.maskPixels = Object.fromEntries(s.maskPixels.names.map((c, i) => [c, counts[i]]));
    }
    if (stored.sizes) summary.sizes = stored.sizes;
    splits[split] = summary;
  }
  return { dataset: name, task, folder: root, splits, unreadable };
}

/**
 * The JSON form of an inspect report: exactly
 * `{"dataset", "splits": {"<split>": {"samples", "height", "width", "channels", "classes"?, "maskPixels"?}}}`,
 * and `"unreadable"` (`<path> (<reason>)` each) when some file does not read.
 *
 * @param report From {@linkcode inspectDataset}.
 * @returns A plain object for `JSON.stringify`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspectJson } from "./manifest.ts";
 * const r = { dataset: "d", task: "t", folder: "/x", unreadable: [], splits: {
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
  unreadable?: string[];
} {
  const splits: Record<string, Omit<SplitSummary, "sizes">> = {};
  for (const [split, s] of Object.entries(report.splits)) {
    const { sizes: _sizes, ...rest } = s;
    splits[split] = rest;
  }
  return report.unreadable.length
    ? { dataset: report.dataset, splits, unreadable: report.unreadable }
    : { dataset: report.dataset, splits };
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
  return (await _hashFolder(resolve(folder))).files;
}

/**
 * The checksums a lock file records, or undefined when there is no such file.
 *
 * @param path A lock file (see {@linkcode defaultLockPath}).
 * @returns Hex digests by relative path.
 * @throws {Error} When the file holds no `files` object.
 */
export async function readLock(path: string): Promise<Record<string, string> | undefined> {
  return (await readDataLock(path))?.files;
}

/**
 * Everything a lock file records ({@linkcode DataLock}), or undefined when there is no such
 * file.
 *
 * @param path A lock file (see {@linkcode defaultLockPath}).
 * @returns The lock.
 * @throws {Error} When the file is not JSON or holds no `files` object.
 */
export async function readDataLock(path: string): Promise<DataLock | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  let lock;
  try {
    lock = JSON.parse(text);
  } catch (err) {
    throw new Error(`Expected JSON in lock file ${path} but found: ${(err as Error).message}`);
  }
  if (!lock || typeof lock.files !== "object") {
    throw new Error(`Expected a "files" object in lock file ${path}`);
  }
  return lock;
}

/**
 * What changed in `folder` since `lock` was written, cheaply: the file list, and each file's
 * size and mtime against the lock's `stats`; only a file whose size or mtime differs is read
 * again (and counts as changed when its SHA-256 differs, or at once when its size does).
 * Without `stats` (an older lock) every file is read. Only reads.
 *
 * @param folder The dataset folder.
 * @param lock Its lock ({@linkcode readDataLock}).
 * @returns Changed, missing and new files (relative paths), and how many files were read.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetChecksums, lockChanges } from "./manifest.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "a");
 * const lock = { dataset: "d", folder: dir, algorithm: "sha256" as const,
 *   files: await datasetChecksums(dir) };
 * await Deno.writeTextFile(`${dir}/a.txt`, "b");
 * assert.deepEqual((await lockChanges(dir, lock)).changed, ["a.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockChanges(folder: string, lock: DataLock): Promise<LockChanges> {
  const root = resolve(folder);
  const out: LockChanges = { changed: [], missing: [], added: [], reread: 0 };
  const found = await _listFiles(root);
  const present = new Set<string>();
  await _pool(found, 4, async ({ rel, size, mtime }) => {
    present.add(rel);
    const sum = lock.files[rel];
    if (sum === undefined) return void out.added.push(rel);
    const st = lock.stats?.[rel];
    if (st && st[0] === size && st[1] === mtime) return;
    if (st && st[0] !== size) return void out.changed.push(rel);
    out.reread++;
    if (await _sha256(join(root, rel)) !== sum) out.changed.push(rel);
  });
  for (const rel of Object.keys(lock.files)) if (!present.has(rel)) out.missing.push(rel);
  for (const list of [out.changed, out.missing, out.added]) list.sort();
  return out;
}

// ---------------------------------------------------------------- helpers

async function _checkFolder(root: string): Promise<void> {
  const info = await Deno.stat(root).catch(() => undefined);
  if (!info) throw new Error(`Dataset folder not found: ${root}`);
  if (!info.isDirectory) throw new Error(`Expected a dataset folder but found a file: ${root}`);
}

/** Every regular file under `root` (links followed), by relative path, with size and mtime (ms). */
async function _listFiles(
  root: string,
): Promise<{ rel: string; size: number; mtime: number }[]> {
  const files: { rel: string; size: number; mtime: number }[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const info = e.isFile || e.isDirectory ? e : await Deno.stat(path);
      if (info.isDirectory) await walk(path);
      else if (info.isFile) {
        const st = await Deno.stat(path);
        const rel = relative(root, path).split("\\").join("/");
        files.push({ rel, size: st.size, mtime: st.mtime?.getTime() ?? 0 });
      }
    }
  };
  await walk(root);
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

async function _sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

/** SHA-256, size and mtime of every file under `root` (the size and mtime read before the bytes). */
async function _hashFolder(
  root: string,
): Promise<{ files: Record<string, string>; stats: Record<string, [number, number]> }> {
  const list = await _listFiles(root);
  const sums = await _pool(list, 4, (f) => _sha256(join(root, f.rel)));
  const files: Record<string, string> = {}, stats: Record<string, [number, number]> = {};
  list.forEach((f, i) => {
    files[f.rel] = sums[i];
    stats[f.rel] = [f.size, f.mtime];
  });
  return { files, stats };
}

async function _writeLock(path: string, lock: DataLock): Promise<void> {
  await Deno.mkdir(resolve(path, ".."), { recursive: true });
  // One line per file in `stats`: the lock of a real copy lists thousands.
  const { stats, ...rest } = lock;
  let text = JSON.stringify(rest, null, 2);
  if (stats) {
    const lines = Object.entries(stats).map(([f, st]) => `    ${JSON.stringify(f)}: [${st}]`);
    text = text.replace(/\n}$/, `,\n  "stats": {\n${lines.join(",\n")}\n  }\n}`);
  }
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text + "\n");
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

/**
 * Stored `HxWxC` of an image file, from its header (sharp), after decoding the whole file
 * (which fails on a truncated or corrupt file, or one that is no image).
 */
async function _storedSize(path: string): Promise<string> {
  const m = await sharp(path).metadata();
  const decoded = await _decode(path);
  if (typeof decoded === "string") throw new Error(decoded);
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
