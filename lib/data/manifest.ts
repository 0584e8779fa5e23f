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
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { readMask } from "../io/read_mask.ts";
import { type IsicTask, loadIsic2018 } from "./isic2018.ts";
import { ISIC2018_CLASSES, ISIC2018_LAYOUT } from "./isic2018_classes.ts";
import { SYNTHETIC_ISIC2018_MARKER } from "./synthetic_isic2018.ts";
import { readMat } from "../io/mat_v5.ts";
import { readMetaImage } from "../io/metaimage.ts";
import { readNifti } from "../io/nifti.ts";
import {
  COVID_CT_CLASSES,
  COVID_CT_SPLITS,
  describeCovidCtLayout,
  loadCovidCt,
} from "./covid_ct.ts";
import { SYNTHETIC_COVID_CT_MARKER } from "./synthetic_covid_ct.ts";
import { describeLizardLayout, LIZARD_CLASSES, type LizardTask, loadLizard } from "./lizard.ts";
import { LIZARD_SOURCES, SYNTHETIC_LIZARD_MARKER } from "./synthetic_lizard.ts";
import {
  CAMUS_CLASSES,
  CAMUS_LAYOUT,
  type CamusLabel,
  describeCamusLayout,
  loadCamus,
} from "./camus.ts";
import { SYNTHETIC_CAMUS_MARKER } from "./synthetic_camus.ts";

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

  if (options.task !== undefined && !adapter.tasks.includes(options.task)) {
    throw new TypeError(
      `Expected task ${adapter.tasks.join(" or ")} for ${name} but found "${options.task}"`,
    );
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
    const { sizes, ...stored } = _sizeSummary(await _pool(ds.imagePaths, 4, _storedSize));
    const summary: SplitSummary = { samples: ds.length, ...stored };
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
    if (sizes) summary.sizes = sizes;
    out[split] = summary;
  }
  return out;
}

// ---------------------------------------------------------------- shared by the adapters below

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

/** The parsed synthetic marker in `dir` (or undefined). */
async function _readMarker(
  dir: string,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const m = await Deno.readTextFile(join(dir, name)).then(JSON.parse, () => undefined);
  return m && typeof m === "object" ? m : undefined;
}

/** Runs `fn` and turns a throw into a failing check named `name`; returns undefined then. */
async function _attempt<T>(
  checks: VerifyCheck[],
  name: string,
  fn: () => Promise<T>,
  detail: (t: T) => string,
): Promise<T | undefined> {
  try {
    const t = await fn();
    checks.push({ name, status: "pass", detail: detail(t) });
    return t;
  } catch (err) {
    checks.push({ name, status: "fail", detail: (err as Error).message });
    return undefined;
  }
}

function _num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

// ---------------------------------------------------------------- COVID-CT

async function _covidVerify(
  root: string,
  manifest: DatasetManifest,
  options: DatasetToolOptions,
): Promise<VerifyCheck[]> {
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
  const markerName = manifest.synthetic?.completion_marker ?? SYNTHETIC_COVID_CT_MARKER;
  const marker = await _readMarker(root, markerName);
  let source: string;
  const expected: Record<string, number | undefined> = {};
  if (marker) {
    source = `synthetic marker ${markerName}`;
    for (const cls of COVID_CT_CLASSES) {
      const arr = marker[cls === "COVID" ? "covidCounts" : "nonCovidCounts"];
      COVID_CT_SPLITS.forEach((split, i) => {
        expected[`${cls} ${split}`] = Array.isArray(arr) ? _num(arr[i]) : undefined;
      });
    }
  } else if (options.synthetic) {
    source = "manifest synthetic.defaults";
    const d = manifest.synthetic?.defaults ?? {};
    for (const cls of COVID_CT_CLASSES) {
      for (const split of COVID_CT_SPLITS) {
        expected[`${cls} ${split}`] = d[`${cls.toLowerCase()}_${split}`];
      }
    }
  } else {
    source = "manifest expected_counts";
    const e = manifest.expected_counts ?? {};
    const per = (typeof e.split_counts === "object" ? e.split_counts : {}) as Record<
      string,
      number
    >;
    for (const cls of COVID_CT_CLASSES) {
      for (const split of COVID_CT_SPLITS) expected[`${cls} ${split}`] = per[`${cls}_${split}`];
      expected[`${cls} images`] = _num(e[`${cls.toLowerCase()}_images`]);
    }
  }
  checks.push({ name: "expected counts", status: "info", detail: `from ${source}` });
  for (const cls of COVID_CT_CLASSES) {
    let sum: number | undefined = 0;
    for (const split of COVID_CT_SPLITS) {
      const want = expected[`${cls} ${split}`];
      sum = sum === undefined || want === undefined ? undefined : sum + want;
      const found = layout.lists[cls]?.[split].length ?? 0;
      checks.push(_countCheck(`${cls} ${split}: listed`, found, want, source));
    }
    const files = layout.files[cls]?.length ?? 0;
    checks.push(_countCheck(`${cls}: images`, files, expected[`${cls} images`] ?? sum, source));
  }
  await _attempt(
    checks,
    "loader",
    () => loadCovidCt({ root, size: [1, 1], cacheBytes: 0 }),
    (ds) => `loadCovidCt reads ${ds.length} items`,
  );
  const folders = ["CT_NonCOVID", "CT_COVID"];
  for (const [label, cls] of COVID_CT_CLASSES.entries()) {
    const dir = join("Images-processed", folders[label]);
    const names = layout.files[cls] ?? [];
    if (names.length) await _decodeCheck(checks, dir, names.map((n) => join(root, dir, n)));
  }
  return checks;
}

async function _covidInspect(
  root: string,
  _task: string,
  _options: DatasetToolOptions,
): Promise<Record<string, SplitSummary>> {
  const out: Record<string, SplitSummary> = {};
  for (const split of COVID_CT_SPLITS) {
    const ds = await loadCovidCt({ root, size: [1, 1], split, cacheBytes: 0 });
    const stored = _sizeSummary(await _pool(ds.imagePaths, 4, _storedSize));
    const classes = Object.fromEntries(COVID_CT_CLASSES.map((c) => [c, 0]));
    for (const l of ds.labels) classes[COVID_CT_CLASSES[l]]++;
    out[split] = _ordered(ds.length, stored, classes);
  }
  return out;
}

/** A split summary with keys in the order of the JSON contract. */
function _ordered(
  samples: number,
  stored: Pick<SplitSummary, "height" | "width" | "channels" | "sizes">,
  classes?: Record<string, number>,
  maskPixels?: Record<string, number>,
): SplitSummary {
  const s: SplitSummary = {
    samples,
    height: stored.height,
    width: stored.width,
    channels: stored.channels,
  };
  if (classes) s.classes = classes;
  if (maskPixels) s.maskPixels = maskPixels;
  if (stored.sizes) s.sizes = stored.sizes;
  return s;
}

// ---------------------------------------------------------------- Lizard

/** Pixels per class (0 background, 1–6) of a Lizard `.mat`, with its `inst_map` size. */
function _lizardPixels(path: string): { counts: number[]; height: number; width: number } {
  const vars = readMat(path, { variables: ["inst_map", "id", "class"] });
  const missing = ["inst_map", "id", "class"].filter((v) => !vars.has(v));
  if (missing.length) {
    throw new Error(`no variable ${missing.join(", ")} (found ${[...vars.keys()].join(", ")})`);
  }
  const inst = vars.get("inst_map")!, id = vars.get("id")!, cls = vars.get("class")!;
  if (inst.dims.slice(2).some((d) => d !== 1)) {
    throw new Error(`expected a 2-D inst_map but found dims [${inst.dims.join(", ")}]`);
  }
  if (id.data.length !== cls.data.length) {
    throw new Error(`'id' has ${id.data.length} values but 'class' has ${cls.data.length}`);
  }
  const lookup = new Map<number, number>();
  for (let k = 0; k < id.data.length; k++) {
    const c = Number(cls.data[k]);
    if (!(Number.isInteger(c) && c >= 1 && c <= 6)) {
      throw new Error(`expected class values 1-6 but found ${c}`);
    }
    lookup.set(Number(id.data[k]), c);
  }
  const counts = new Array(7).fill(0);
  for (const raw of inst.data) {
    const v = Number(raw);
    const c = v === 0 ? 0 : lookup.get(v);
    if (c === undefined) throw new Error(`inst_map has instance id ${v} that is not in 'id'`);
    counts[c]++;
  }
  return { counts, height: inst.dims[0], width: inst.dims[1] };
}

async function _lizardVerify(
  root: string,
  manifest: DatasetManifest,
  options: DatasetToolOptions,
): Promise<VerifyCheck[]> {
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
  const markerName = manifest.synthetic?.completion_marker ?? SYNTHETIC_LIZARD_MARKER;
  const marker = await _readMarker(root, markerName);
  let source: string, tiles: number | undefined, perSource: number | undefined;
  if (marker) {
    source = `synthetic marker ${markerName}`;
    perSource = _num(marker.perSource);
  } else if (options.synthetic) {
    source = "manifest synthetic.defaults";
    perSource = manifest.synthetic?.defaults?.perSource;
  } else {
    source = "manifest expected_counts";
    tiles = _num(manifest.expected_counts?.images);
  }
  if (perSource !== undefined) tiles = perSource * LIZARD_SOURCES.length;
  checks.push({ name: "expected counts", status: "info", detail: `from ${source}` });
  if (!layout) return checks;
  checks.push(_countCheck("tiles", layout.tiles, tiles, source));
  if (perSource !== undefined) {
    const wrong = LIZARD_SOURCES.filter((s) => layout.sources[s] !== perSource);
    checks.push(
      wrong.length
        ? {
          name: "tiles per source",
          status: "fail",
          detail: `expected ${perSource} of each of ${LIZARD_SOURCES.join(", ")} (${source}) ` +
            `but found ${wrong.map((s) => `${s} ${layout.sources[s] ?? 0}`).join(", ")}`,
        }
        : { name: "tiles per source", status: "pass", detail: `${perSource} of each source` },
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
      const m = _lizardPixels(p);
      const img = imageSizes.get(ds.imagePaths[i]);
      if (img && img !== `${m.height}x${m.width}`) {
        mismatched.push(`${name} (${m.height}x${m.width}, image ${img})`);
      }
    } catch (err) {
      bad.push(`${name} (${(err as Error).message})`);
    }
  });
  checks.push(
    bad.length
      ? {
        name: "labels: decodable",
        status: "fail",
        detail: `${bad.length} of ${ds.labelPaths.length} .mat files do not read: ${_few(bad)}`,
      }
      : {
        name: "labels: decodable",
        status: "pass",
        detail: `${ds.labelPaths.length} .mat files read (inst_map, id, class 1-6)`,
      },
  );
  checks.push(
    mismatched.length
      ? {
        name: "labels: sizes",
        status: "fail",
        detail: `${mismatched.length} inst_maps differ in size from their image: ${
          _few(mismatched)
        }`,
      }
      : { name: "labels: sizes", status: "pass", detail: "every inst_map has its image's size" },
  );
  return checks;
}

async function _lizardInspect(
  root: string,
  task: string,
  options: DatasetToolOptions,
): Promise<Record<string, SplitSummary>> {
  const out: Record<string, SplitSummary> = {};
  for (const split of ["train", "val", "test"] as const) {
    const ds = await loadLizard({
      root,
      size: [1, 1],
      task: task as LizardTask,
      split,
      seed: options.seed ?? 0,
      cacheBytes: 0,
    });
    const stored = _sizeSummary(await _pool(ds.imagePaths, 4, _storedSize));
    let classes: Record<string, number> | undefined, maskPixels: Record<string, number> | undefined;
    if (ds.labels) {
      classes = Object.fromEntries(LIZARD_CLASSES.map((c) => [c, 0]));
      for (const l of ds.labels) classes[LIZARD_CLASSES[l]]++;
    } else {
      const counts = new Array(7).fill(0);
      for (const p of ds.labelPaths) {
        _lizardPixels(p).counts.forEach((n, c) => (counts[c] += n));
      }
      maskPixels = Object.fromEntries(ds.classNames.map((c, i) => [c, counts[i]]));
    }
    out[split] = _ordered(ds.length, stored, classes, maskPixels);
  }
  return out;
}

// ---------------------------------------------------------------- CAMUS

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

/**
 * Expected CAMUS counts: the synthetic marker (in the folder, or in its parent for the
 * generator's `nifti/` and `mhd/` copies), the manifest's synthetic defaults, or the real ones.
 */
async function _camusExpected(
  root: string,
  release: "nifti" | "mhd",
  manifest: DatasetManifest,
  synthetic: boolean | undefined,
): Promise<{ source: string; patients?: number; testing?: number; parts?: number[] }> {
  const markerName = manifest.synthetic?.completion_marker ?? SYNTHETIC_CAMUS_MARKER;
  let marker = await _readMarker(root, markerName), where = markerName;
  if (!marker && ["nifti", "mhd"].includes(basename(root))) {
    marker = await _readMarker(dirname(root), markerName);
    where = `../${markerName}`;
  }
  const n = marker
    ? _num(marker.patients)
    : synthetic
    ? manifest.synthetic?.defaults?.patients
    : undefined;
  if (n !== undefined) {
    // As generateSyntheticCamus: test and val max(1, round(n / 6)) patients each.
    const k = Math.max(1, Math.round(n / 6));
    const source = marker ? `synthetic marker ${where}` : "manifest synthetic.defaults";
    return release === "nifti"
      ? { source, patients: n, parts: [n - 2 * k, k, k] }
      : { source, patients: n - k, testing: k };
  }
  const e = manifest.expected_counts ?? {};
  return release === "nifti"
    ? { source: "manifest expected_counts", patients: _num(e.nifti_patients) }
    : {
      source: "manifest expected_counts",
      patients: _num(e.legacy_training_patients),
      testing: _num(e.legacy_testing_patients),
    };
}

async function _camusVerify(
  root: string,
  manifest: DatasetManifest,
  options: DatasetToolOptions,
): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const layout = await _attempt(
    checks,
    "layout",
    () => describeCamusLayout(root, { seed: options.seed }),
    (s) =>
      `${s.release} release: ${s.patients.length} complete patients, split ${s.splits.train.length} / ${s.splits.val.length} / ${s.splits.test.length}`,
  );
  if (!layout) return checks;
  const expected = await _camusExpected(root, layout.release, manifest, options.synthetic);
  checks.push({ name: "expected counts", status: "info", detail: `from ${expected.source}` });
  checks.push(_countCheck("patients", layout.patients.length, expected.patients, expected.source));
  if (expected.parts) {
    (["train", "val", "test"] as const).forEach((part, i) => {
      checks.push(
        _countCheck(
          `split ${part}: patients`,
          layout.splits[part].length,
          expected.parts![i],
          expected.source,
        ),
      );
    });
  }
  const L = CAMUS_LAYOUT;
  const folders = layout.release === "nifti" ? [L.niftiPatients] : [L.legacyPatients, "testing"];
  const ext = layout.release === "nifti" ? L.niftiExt : L.legacyExt;
  if (layout.release === "mhd") {
    const testing = ((await _listNames(join(root, "testing"))) ?? [])
      .filter((n) => /^patient\d+$/.test(n));
    checks.push(
      _countCheck(
        "testing: patients (no masks)",
        testing.length,
        expected.testing,
        expected.source,
      ),
    );
  }
  await _attempt(
    checks,
    "loader",
    () => loadCamus({ root, size: [1, 1], label: "quality", cacheBytes: 0, seed: options.seed }),
    (ds) => `loadCamus reads ${ds.length} items (every Info_*.cfg has an ImageQuality)`,
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
  checks.push(
    bad.length
      ? {
        name: "files: decodable",
        status: "fail",
        detail: `${bad.length} of ${files.length} ${ext} files do not read: ${_few(bad)}`,
      }
      : { name: "files: decodable", status: "pass", detail: `${files.length} ${ext} files read` },
  );
  for (const f of files) {
    if (!f.endsWith(L.maskSuffix + ext)) continue;
    const image = f.slice(0, -(L.maskSuffix + ext).length) + ext;
    const a = sizes.get(image), b = sizes.get(f);
    if (a && b && a !== b) mismatched.push(`${f} (${b}, image ${a}, WxH)`);
  }
  checks.push(
    badMask.length
      ? {
        name: "masks: values",
        status: "fail",
        detail: `${badMask.length} masks hold values outside 0-3: ${_few(badMask)}`,
      }
      : { name: "masks: values", status: "pass", detail: "every mask holds 0-3" },
  );
  checks.push(
    mismatched.length
      ? {
        name: "masks: sizes",
        status: "fail",
        detail: `${mismatched.length} masks differ in size from their image: ${_few(mismatched)}`,
      }
      : { name: "masks: sizes", status: "pass", detail: "every mask has its image's size" },
  );
  return checks;
}

async function _camusInspect(
  root: string,
  task: string,
  options: DatasetToolOptions,
): Promise<Record<string, SplitSummary>> {
  const out: Record<string, SplitSummary> = {};
  const label: CamusLabel = task === "segmentation" ? "view" : task as CamusLabel;
  for (const split of ["train", "val", "test"] as const) {
    const ds = await loadCamus({
      root,
      size: [1, 1],
      split,
      label,
      seed: options.seed ?? 0,
      cacheBytes: 0,
    });
    const stored = _sizeSummary(ds.imagePaths.map((p) => {
      const img = _camusRead(p);
      return `${img.h}x${img.w}x${img.c}`;
    }));
    if (task === "segmentation") {
      const counts = CAMUS_CLASSES.map(() => 0);
      for (const p of ds.maskPaths) for (const v of _camusRead(p).data) counts[v]++;
      const maskPixels = Object.fromEntries(CAMUS_CLASSES.map((c, i) => [c, counts[i]]));
      out[split] = _ordered(ds.length, stored, undefined, maskPixels);
    } else {
      const classes = Object.fromEntries(ds.labelNames.map((c) => [c, 0]));
      for (const l of ds.labels) classes[ds.labelNames[l]]++;
      out[split] = _ordered(ds.length, stored, classes);
    }
  }
  return out;
}

/** Adapters by dataset id; add one (and a manifest) to support another dataset. */
export const DATASET_ADAPTERS: Record<string, DatasetAdapter> = {
  isic2018: { tasks: ["diagnosis", "segmentation"], verify: _isicVerify, inspect: _isicInspect },
  covid_ct: { tasks: ["classification"], verify: _covidVerify, inspect: _covidInspect },
  lizard: {
    tasks: ["segmentation", "classification"],
    verify: _lizardVerify,
    inspect: _lizardInspect,
  },
  camus: {
    tasks: ["segmentation", "view", "phase", "quality"],
    verify: _camusVerify,
    inspect: _camusInspect,
  },
};
