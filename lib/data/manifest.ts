/**
 * Dataset manifests (`data-manifests/<name>.json`) and the checks behind
 * `tools/data.ts`: {@linkcode verifyDataset} (layout, counts, decodability, CSV header,
 * and SHA-256 checksums recorded in a lock file outside the dataset) and
 * {@linkcode inspectDataset} (per-split counts, stored image sizes, class histograms,
 * mask pixels). Both only read the dataset folder; nothing is ever written into it.
 *
 * Datasets plug in through {@linkcode DATASET_ADAPTERS}: an adapter knows its layout
 * and returns {@linkcode VerifyCheck}s and per-split {@linkcode SplitSummary}s; the
 * manifest, lock file and report handling here are shared.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { readMask } from "../io/read_mask.ts";
import { type IsicTask, loadIsic2018 } from "./isic2018.ts";
import { ISIC2018_CLASSES, ISIC2018_LAYOUT } from "./isic2018_classes.ts";
import { SYNTHETIC_ISIC2018_MARKER } from "./synthetic_isic2018.ts";

/** `<repo>/data-manifests/`, where manifests (and, by default, lock files) live. */
export const MANIFEST_DIR: string = fileURLToPath(
  new URL("../../data-manifests/", import.meta.url),
);

/** A dataset manifest: the fields read here; the rest is documentation. */
export interface DatasetManifest {
  id: string;
  name: string;
  expected_counts?: Record<string, number | Record<string, number>>;
  synthetic?: { completion_marker?: string; defaults?: Record<string, number> };
  [key: string]: unknown;
}

/** One check of {@linkcode verifyDataset}: `pass`, `fail`, or `info` (reported, never failing). */
export interface VerifyCheck {
  name: string;
  status: "pass" | "fail" | "info";
  detail: string;
}

/** Options of {@linkcode verifyDataset} and {@linkcode inspectDataset}. */
export interface DatasetToolOptions {
  /** Task (ISIC 2018: `diagnosis` or `segmentation`). verify: default every task present; inspect: default `diagnosis`. */
  task?: string;
  /** Compare counts with the manifest's synthetic counts (also implied by the synthetic marker file). */
  synthetic?: boolean;
  /** Lock file (default {@linkcode defaultLockPath}); must lie outside the dataset folder. */
  lockPath?: string;
  /** Rewrite the lock from the current files once every other check passes. */
  updateLock?: boolean;
  /** Folder of the manifests (default {@linkcode MANIFEST_DIR}). */
  manifestDir?: string;
  /** Split seed for inspect (default 0, the loader's). */
  seed?: number;
}

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

/** Per-split summary of {@linkcode inspectDataset}; sizes are as stored on disk. */
export interface SplitSummary {
  samples: number;
  /** Most common stored size (null for an empty split). */
  height: number | null;
  width: number | null;
  channels: number | null;
  /** Images per class (classification datasets). */
  classes?: Record<string, number>;
  /** Mask pixels per class, at stored size (segmentation datasets). */
  maskPixels?: Record<string, number>;
  /** Distinct stored sizes `"HxWxC"` with their image counts, when more than one. */
  sizes?: Record<string, number>;
}

/** Result of {@linkcode inspectDataset}. */
export interface InspectReport {
  dataset: string;
  task: string;
  folder: string;
  splits: Record<string, SplitSummary>;
}

/** What a dataset contributes to {@linkcode verifyDataset} and {@linkcode inspectDataset}. */
export interface DatasetAdapter {
  /** Tasks the dataset has; the first is inspect's default. */
  tasks: readonly string[];
  /** Layout, counts, decodability and format checks of `folder` (read-only). */
  verify(
    folder: string,
    manifest: DatasetManifest,
    options: DatasetToolOptions,
  ): Promise<VerifyCheck[]>;
  /** Per-split summaries of `folder` for one task (read-only). */
  inspect(folder: string, task: string, options: DatasetToolOptions): Promise<
    Record<string, SplitSummary>
  >;
}

/**
 * Reads and minimally validates `data-manifests/<name>.json`.
 *
 * @param name Dataset id (file name without `.json`).
 * @param manifestDir Folder of the manifests.
 * @returns The parsed manifest.
 * @example
 * ```ts
 * import { readManifest } from "./manifest.ts";
 * const m = await readManifest("isic2018");
 * console.log(m.id); // isic2018
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
 * import { defaultLockPath } from "./manifest.ts";
 * console.log(defaultLockPath("isic2018", "/data/ISIC2018").endsWith(".sha256.json")); // true
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
 * Verifies a dataset copy against its manifest: the adapter's checks (folders, file
 * name patterns, counts, decodability, CSV header), then the SHA-256 of every file.
 * On the first verified copy the checksums are written to the lock file (outside the
 * folder); later runs report every changed, missing or new file by name and fail.
 * The folder is only read.
 *
 * @param name Dataset id with a manifest and an adapter.
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
  const adapter = _adapter(name);
  const manifestDir = options.manifestDir ?? MANIFEST_DIR;
  const manifest = await readManifest(name, manifestDir);
  const root = resolve(folder);
  await _checkFolder(root);
  const lockPath = resolve(options.lockPath ?? defaultLockPath(name, root, manifestDir));
  const rel = relative(root, lockPath);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
    throw new Error(`Lock file ${lockPath} is inside the dataset folder ${root}; choose another`);
  }

  const checks = await adapter.verify(root, manifest, options);
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
  const sums = await _checksums(root);
  const others = checks.every((c) => c.status !== "fail");
  const previous = await _readLock(lockPath);
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
 * @param name Dataset id with an adapter.
 * @param folder Dataset folder.
 * @param options Task (default the adapter's first) and split seed.
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
  const adapter = _adapter(name);
  const root = resolve(folder);
  await _checkFolder(root);
  const task = options.task ?? adapter.tasks[0];
  if (!adapter.tasks.includes(task)) {
    throw new TypeError(
      `Expected task ${adapter.tasks.join(" or ")} for ${name} but found "${task}"`,
    );
  }
  return { dataset: name, task, folder: root, splits: await adapter.inspect(root, task, options) };
}

/**
 * The JSON form of an inspect report: exactly
 * `{"dataset", "splits": {"<split>": {"samples", "height", "width", "channels", "classes"?, "maskPixels"?}}}`.
 *
 * @param report From {@linkcode inspectDataset}.
 * @returns A plain object for `JSON.stringify`.
 * @example
 * ```ts
 * import { inspectJson } from "./manifest.ts";
 * const r = { dataset: "d", task: "t", folder: "/x", splits: {
 *   train: { samples: 1, height: 2, width: 3, channels: 3, sizes: { "2x3x3": 1 } } } };
 * console.log(JSON.stringify(inspectJson(r)));
 * // {"dataset":"d","splits":{"train":{"samples":1,"height":2,"width":3,"channels":3}}}
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

// ---------------------------------------------------------------- shared helpers

function _adapter(name: string): DatasetAdapter {
  const adapter = DATASET_ADAPTERS[name];
  if (!adapter) {
    throw new TypeError(
      `No dataset adapter for "${name}"; supported: ${Object.keys(DATASET_ADAPTERS).join(", ")}`,
    );
  }
  return adapter;
}

async function _checkFolder(root: string): Promise<void> {
  const info = await Deno.stat(root).catch(() => undefined);
  if (!info) throw new Error(`Dataset folder not found: ${root}`);
  if (!info.isDirectory) throw new Error(`Expected a dataset folder but found a file: ${root}`);
}

/** SHA-256 of every regular file under `root` (hidden ones too), by `/`-separated relative path. */
async function _checksums(root: string): Promise<Record<string, string>> {
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

async function _readLock(path: string): Promise<Record<string, string> | undefined> {
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

function _few(names: readonly string[], n = 5): string {
  const head = names.slice(0, n).join(", ");
  return names.length > n ? `${head} (and ${names.length - n} more)` : head;
}

async function _listNames(dir: string): Promise<string[] | undefined> {
  try {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (!e.name.startsWith(".")) names.push(e.name);
    return names.sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw err;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function _pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Decodes a file fully with sharp; returns its stored size or the error text. */
async function _decode(
  path: string,
): Promise<{ width: number; height: number; channels: number } | string> {
  try {
    const { info } = await sharp(path, { failOn: "warning" }).raw().toBuffer({
      resolveWithObject: true,
    });
    return { width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    return (err as Error).message;
  }
}

function _countCheck(
  name: string,
  found: number,
  expected: number | undefined,
  source: string,
): VerifyCheck {
  if (expected === undefined) {
    return { name, status: "info", detail: `${found} (no expected count in ${source})` };
  }
  return found === expected
    ? { name, status: "pass", detail: `${found} (${source})` }
    : { name, status: "fail", detail: `expected ${expected} (${source}) but found ${found}` };
}

// ---------------------------------------------------------------- ISIC 2018

const _ISIC_IMAGE = /^ISIC_\d{7}\.jpg$/;
const _ISIC_MASK = /^ISIC_\d{7}_segmentation\.png$/;
const _IMAGE_EXT = /\.(jpe?g|png|tiff?|bmp|gif|webp)$/i;

/** Expected counts for a copy: from its synthetic marker, the manifest's synthetic defaults, or the real counts. */
async function _isicExpected(
  root: string,
  manifest: DatasetManifest,
  synthetic: boolean | undefined,
): Promise<{
  source: string;
  task1?: number;
  task3?: number;
  perClass?: Record<string, number>;
}> {
  const markerName = manifest.synthetic?.completion_marker ?? SYNTHETIC_ISIC2018_MARKER;
  const marker = await Deno.readTextFile(join(root, markerName)).then(JSON.parse, () => undefined);
  if (marker && typeof marker === "object") {
    const per = marker.task3PerClass, t1 = marker.task1Count;
    return {
      source: `synthetic marker ${markerName}`,
      task1: typeof t1 === "number" ? t1 : undefined,
      task3: typeof per === "number" ? per * ISIC2018_CLASSES.length : undefined,
      perClass: typeof per === "number"
        ? Object.fromEntries(ISIC2018_CLASSES.map((c) => [c, per]))
        : undefined,
    };
  }
  if (synthetic) {
    const d = manifest.synthetic?.defaults ?? {};
    const per = d.task3PerClass;
    return {
      source: "manifest synthetic.defaults",
      task1: d.task1Count,
      task3: per === undefined ? undefined : per * ISIC2018_CLASSES.length,
      perClass: per === undefined
        ? undefined
        : Object.fromEntries(ISIC2018_CLASSES.map((c) => [c, per])),
    };
  }
  const e = manifest.expected_counts ?? {};
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  return {
    source: "manifest expected_counts",
    task1: num(e.task1_training_images),
    task3: num(e.task3_training_images),
    perClass: typeof e.task3_training_class_counts === "object"
      ? e.task3_training_class_counts as Record<string, number>
      : undefined,
  };
}

/** Checks that image-like files in `names` match `pattern`; returns the matching names. */
function _patternCheck(
  checks: VerifyCheck[],
  folder: string,
  names: string[],
  pattern: RegExp,
  what: string,
): string[] {
  const matching = names.filter((n) => pattern.test(n));
  const bad = names.filter((n) => !pattern.test(n) && _IMAGE_EXT.test(n));
  checks.push(
    bad.length
      ? {
        name: `${folder}: file names`,
        status: "fail",
        detail: `${bad.length} image files do not match ${what}: ${_few(bad)}`,
      }
      : {
        name: `${folder}: file names`,
        status: "pass",
        detail: `${matching.length} files match ${what}`,
      },
  );
  return matching;
}

async function _decodeCheck(
  checks: VerifyCheck[],
  folder: string,
  paths: string[],
): Promise<Map<string, string>> {
  const results = await _pool(paths, 4, _decode);
  const sizes = new Map<string, string>();
  const bad: string[] = [];
  results.forEach((r, i) => {
    if (typeof r === "string") bad.push(`${paths[i].split("/").pop()} (${r})`);
    else sizes.set(paths[i], `${r.height}x${r.width}`);
  });
  checks.push(
    bad.length
      ? {
        name: `${folder}: decodable`,
        status: "fail",
        detail: `${bad.length} of ${paths.length} files do not decode: ${_few(bad)}`,
      }
      : { name: `${folder}: decodable`, status: "pass", detail: `${paths.length} files decode` },
  );
  return sizes;
}

async function _isicVerify(
  root: string,
  manifest: DatasetManifest,
  options: DatasetToolOptions,
): Promise<VerifyCheck[]> {
  const L = ISIC2018_LAYOUT;
  const checks: VerifyCheck[] = [];
  const present = {
    diagnosis: (await _listNames(join(root, L.task3Input))) !== undefined,
    segmentation: (await _listNames(join(root, L.task1Input))) !== undefined,
  };
  let tasks: IsicTask[];
  if (options.task !== undefined) {
    if (options.task !== "diagnosis" && options.task !== "segmentation") {
      throw new TypeError(`Expected task diagnosis or segmentation but found "${options.task}"`);
    }
    tasks = [options.task];
  } else {
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
  const expected = await _isicExpected(root, manifest, options.synthetic);
  checks.push({ name: "expected counts", status: "info", detail: `from ${expected.source}` });

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
    let labels: Int32Array | undefined;
    try {
      const ds = await loadIsic2018({ root, task, size: [1, 1], cacheBytes: 0 });
      labels = ds.labels;
      checks.push({
        name: `${task}: loader`,
        status: "pass",
        detail: `loadIsic2018 reads ${ds.length} items`,
      });
    } catch (err) {
      checks.push({ name: `${task}: loader`, status: "fail", detail: (err as Error).message });
    }

    if (task === "diagnosis") {
      const csvPath = join(root, gtName, L.task3Csv);
      const header = ["image", ...ISIC2018_CLASSES].join(",");
      const text = await Deno.readTextFile(csvPath).catch(() => undefined);
      const first = text?.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0].trim();
      checks.push(
        text === undefined
          ? { name: "diagnosis: CSV header", status: "fail", detail: `missing ${csvPath}` }
          : first === header
          ? { name: "diagnosis: CSV header", status: "pass", detail: header }
          : {
            name: "diagnosis: CSV header",
            status: "fail",
            detail: `expected "${header}" but found "${first}"`,
          },
      );
      checks.push(_countCheck("diagnosis: images", images.length, expected.task3, expected.source));
      if (labels) {
        const hist: Record<string, number> = {};
        for (const c of ISIC2018_CLASSES) hist[c] = 0;
        for (const l of labels) hist[ISIC2018_CLASSES[l]]++;
        const text = ISIC2018_CLASSES.map((c) => `${c} ${hist[c]}`).join(", ");
        const per = expected.perClass;
        const wrong = per ? ISIC2018_CLASSES.filter((c) => per[c] !== hist[c]) : [];
        checks.push(
          !per ? { name: "diagnosis: classes", status: "info", detail: text } : wrong.length
            ? {
              name: "diagnosis: classes",
              status: "fail",
              detail: `expected ${
                wrong.map((c) => `${c} ${per[c]}`).join(", ")
              } (${expected.source}) but found ${text}`,
            }
            : { name: "diagnosis: classes", status: "pass", detail: text },
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
      checks.push(
        _countCheck("segmentation: images", images.length, expected.task1, expected.source),
      );
      checks.push(
        _countCheck("segmentation: masks", masks.length, expected.task1, expected.source),
      );
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
      checks.push(
        mismatched.length
          ? {
            name: "segmentation: mask sizes",
            status: "fail",
            detail: `${mismatched.length} masks differ in size from their image: ${
              _few(mismatched)
            }`,
          }
          : {
            name: "segmentation: mask sizes",
            status: "pass",
            detail: "every mask has its image's size",
          },
      );
    }
  }
  return checks;
}

async function _isicInspect(
  root: string,
  task: string,
  options: DatasetToolOptions,
): Promise<Record<string, SplitSummary>> {
  const out: Record<string, SplitSummary> = {};
  for (const split of ["train", "val", "test"] as const) {
    const ds = await loadIsic2018({
      root,
      task: task as IsicTask,
      size: [1, 1],
      split,
      seed: options.seed ?? 0,
      cacheBytes: 0,
    });
    const metas = await _pool(ds.imagePaths, 4, async (p) => {
      const m = await sharp(p).metadata();
      return `${m.height}x${m.width}x${m.channels}`;
    });
    const sizes: Record<string, number> = {};
    for (const s of metas) sizes[s] = (sizes[s] ?? 0) + 1;
    const common = Object.entries(sizes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    const [height, width, channels] = common
      ? common[0].split("x").map(Number)
      : [null, null, null];
    const summary: SplitSummary = { samples: ds.length, height, width, channels };
    if (ds.labels) {
      summary.classes = Object.fromEntries(ds.classNames.map((c) => [c, 0]));
      for (const l of ds.labels) summary.classes[ds.classNames[l]]++;
    }
    if (ds.maskPaths) {
      const counts = ds.classNames.map(() => 0);
      await _pool(ds.maskPaths, 4, async (p) => {
        const mask = await readMask(p);
        for (const v of mask) counts[v]++;
      });
      summary.maskPixels = Object.fromEntries(ds.classNames.map((c, i) => [c, counts[i]]));
    }
    if (Object.keys(sizes).length > 1) summary.sizes = sizes;
    out[split] = summary;
  }
  return out;
}

/** Adapters by dataset id; add one (and a manifest) to support another dataset. */
export const DATASET_ADAPTERS: Record<string, DatasetAdapter> = {
  isic2018: { tasks: ["diagnosis", "segmentation"], verify: _isicVerify, inspect: _isicInspect },
};
