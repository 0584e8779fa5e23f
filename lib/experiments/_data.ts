/**
 * Data for the experiment runner: the configured dataset's train and test
 * splits as tensors, and a fingerprint of the data for cache keys.
 *
 * Every dataset is read by its own loader (its descriptor's `loadSplit`, see
 * `DATASETS` in `lib/data/registry.ts`) from the published layout: the user's
 * folder (`data.root`), or the embedded synthetic copy in the same layout,
 * generated on first use under `.cache/data/`. The descriptors say which
 * tasks, classes and image channels each dataset has; `diagnosis+segmentation`
 * (both auxiliaries on the same images) exists where every image has both.
 *
 * A user's folder is verified against its manifest, and its checksum lock
 * written (outside the folder), when a run first loads it; once it has a lock,
 * every run re-checks it cheaply against the lock first ({@link ensureDataLock}).
 * Computing a cache key ({@link dataFingerprint}) only ever reads.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { _few } from "../data/_checks.ts";
import type { DatasetDescriptor, LoadedSplit } from "../data/dataset_descriptor.ts";
import {
  assertOutsideDataset,
  type DataLock,
  datasetChecksums,
  defaultLockPath,
  lockChanges,
  MANIFEST_DIR,
  readDataLock,
  verifyCommand,
  verifyDataset,
} from "../data/manifest.ts";
import {
  DATASET_IDS,
  datasetFor,
  datasetIds,
  DATASETS,
  datasetTasks,
  getDataset,
  resolveDataset,
} from "../data/registry.ts";
import type { Dataset, ExperimentConfig, Task } from "./config.ts";
import { defaultCacheDir } from "./results_cache.ts";

/** Tasks each dataset supports in experiments (from its descriptor). */
export const DATASET_TASKS: Record<Dataset, Task[]> = Object.fromEntries(
  DATASET_IDS.map((id) => [id, datasetTasks(DATASETS[id])]),
) as Record<Dataset, Task[]>;

/** Image channels and class counts of each dataset's tasks, for the models (from its descriptor). */
export const DATASET_SHAPES: Record<
  Dataset,
  { channels: number; diagnosisClasses: number; segmentationClasses: number }
> = Object.fromEntries(DATASET_IDS.map((id) => {
  const d: DatasetDescriptor = DATASETS[id];
  return [id, {
    channels: d.channels,
    diagnosisClasses: d.tasks.diagnosis?.classes.length ?? 0,
    segmentationClasses: d.tasks.segmentation?.classes.length ?? 0,
  }];
})) as Record<Dataset, { channels: number; diagnosisClasses: number; segmentationClasses: number }>;

/** Image channels and class counts of a dataset's tasks, for the models. */
export interface DatasetShapes {
  channels: number;
  diagnosisClasses: number;
  segmentationClasses: number;
}

/**
 * The tasks and shapes of a dataset id (a built-in or one added by
 * `registerDataset`), from its descriptor, or undefined for an unknown id.
 */
export function datasetInfo(
  id: string,
  root?: string | null,
): { tasks: Task[]; shapes: DatasetShapes } | undefined {
  try {
    getDataset(id);
  } catch {
    return undefined;
  }
  // A dataset read from its folder (`folder`): the folder's, once `resolveConfigDataset` read it.
  const d: DatasetDescriptor = datasetFor(id, root);
  return {
    tasks: datasetTasks(d),
    shapes: {
      channels: d.channels,
      diagnosisClasses: d.tasks.diagnosis?.classes.length ?? 0,
      segmentationClasses: d.tasks.segmentation?.classes.length ?? 0,
    },
  };
}

/**
 * Reads the folder of a config's dataset when its channels and classes come from the folder
 * (`folder`, see `resolveDataset`), so that the synchronous checks (`checkConfig`) and
 * `datasetOverrides` see them; nothing to do for the other datasets.
 *
 * @param data The dataset and its folder.
 * @throws {TypeError} `dataset folder needs --data DIR` without a folder; the folder's errors.
 */
export async function resolveConfigDataset(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<void> {
  if (getDataset(data.dataset).forRoot) await resolveDataset(data.dataset, data.root);
}

/**
 * One split in memory: images, and the recognition targets of the task:
 * class labels `[N]` (`diagnosis`) and/or masks `[N, H, W, 1]` (`segmentation`).
 */
export interface Split {
  images: tf.Tensor4D;
  targets: { diagnosis?: tf.Tensor1D; segmentation?: tf.Tensor4D };
  ids: string[];
}

/** Train and test splits; `dispose()` frees both. */
export interface DataSplits {
  train: Split;
  test: Split;
  root: string;
  dispose(): void;
}

/** The subtasks of a task: `diagnosis+segmentation` → both. */
export function subtasks(task: Task): ("diagnosis" | "segmentation")[] {
  return task === "diagnosis+segmentation" ? ["diagnosis", "segmentation"] : [task];
}

/** The dataset folder of a config: the user's, or the embedded synthetic one (generated on first use). */
export async function dataRoot(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<string> {
  if (data.root) return data.root;
  const { synthetic } = getDataset(data.dataset);
  return await synthetic.root(synthetic.embedded);
}

/** The settings {@link loadSplits} reads. */
export type DataSelection = Pick<
  ExperimentConfig["data"],
  "dataset" | "root" | "task" | "size" | "splitSeed" | "trainLimit" | "testLimit"
>;

/**
 * Loads the train and test splits of a config's dataset (held out: the test
 * split is never seen in training; the val split is left for model selection).
 */
export async function loadSplits(data: DataSelection): Promise<DataSplits> {
  // A dataset read from its folder (`folder`) has that folder's tasks.
  const dataset = getDataset(data.dataset).forRoot
    ? await resolveDataset(data.dataset, data.root)
    : getDataset(data.dataset);
  const tasks = datasetTasks(dataset);
  if (!tasks.includes(data.task)) {
    const paired = datasetIds().filter((id) =>
      !getDataset(id).forRoot && getDataset(id).pairedTasks
    );
    throw new TypeError(
      `Expected task ${tasks.join(" or ")} for ${data.dataset} but found ${data.task}` +
        (data.task === "diagnosis+segmentation" && dataset.tasks.segmentation
          ? ` (${dataset.name}'s labels and masks are on different images; use ${
            paired.join(" or ")
          })`
          : ""),
    );
  }
  await ensureDataLock(data);
  const root = await dataRoot(data);
  const memoKey = _memo && JSON.stringify([await dataFingerprint(data), root, data]);
  const memoHit = memoKey ? _memo?.get(memoKey) : undefined;
  if (memoHit) return _fromRaw(memoHit);
  const train = await loadSplit(dataset, data, root, "train", data.trainLimit);
  let test: Split;
  try {
    test = await loadSplit(dataset, data, root, "test", data.testLimit);
  } catch (e) {
    disposeSplit(train);
    throw e;
  }
  const splits = { train, test, root, dispose: () => (disposeSplit(train), disposeSplit(test)) };
  if (memoKey && _memo) _remember(memoKey, splits);
  return splits;
}

/** A split's tensors as arrays (what {@link memoizeSplits} keeps). */
interface _RawTensor {
  values: tf.TypedArray;
  shape: number[];
  dtype: tf.DataType;
}
interface _RawSplits {
  train: { images: _RawTensor; targets: Record<string, _RawTensor>; ids: string[] };
  test: _RawSplits["train"];
  root: string;
  bytes: number;
}

/** Decoded splits by data fingerprint, folder and selection; `null`: not memoized. */
let _memo: Map<string, _RawSplits> | null = null;
/** The most bytes of decoded splits {@link memoizeSplits} keeps (the oldest go first). */
const _MEMO_BYTES = 512 * 2 ** 20;

/**
 * Keeps the splits {@link loadSplits} decodes in this process, so that the next load of the same
 * data (same fingerprint, folder and selection) skips reading and decoding the files; a user's
 * folder is still checked against its lock first, each time. The grid's serving workers turn it
 * on (a quick-profile run spends about a second decoding its dataset); at most 512 MB is kept,
 * the oldest entry going first. Each load returns fresh tensors, equal to a fresh decode.
 *
 * @param on Keep them (true) or drop what is kept and stop (false).
 */
export function memoizeSplits(on: boolean): void {
  _memo = on ? (_memo ?? new Map()) : null;
}

function _remember(key: string, s: DataSplits): void {
  const raw = (t: tf.Tensor): _RawTensor => ({
    values: t.dataSync().slice(),
    shape: [...t.shape],
    dtype: t.dtype,
  });
  const part = (p: Split) => ({
    images: raw(p.images),
    targets: Object.fromEntries(
      Object.entries(p.targets).filter(([, t]) => t).map(([k, t]) => [k, raw(t!)]),
    ),
    ids: [...p.ids],
  });
  const train = part(s.train), test = part(s.test);
  const bytes = [train, test].reduce(
    (n, p) =>
      n + p.images.values.byteLength +
      Object.values(p.targets).reduce((m, t) => m + t.values.byteLength, 0),
    0,
  );
  if (bytes > _MEMO_BYTES) return;
  _memo!.set(key, { train, test, root: s.root, bytes });
  let total = [..._memo!.values()].reduce((n, r) => n + r.bytes, 0);
  for (const [k, r] of _memo!) {
    if (total <= _MEMO_BYTES) break;
    _memo!.delete(k);
    total -= r.bytes;
  }
}

function _fromRaw(r: _RawSplits): DataSplits {
  const make = (t: _RawTensor) => tf.tensor(t.values.slice(), t.shape, t.dtype);
  const part = (p: _RawSplits["train"]): Split => ({
    images: make(p.images) as tf.Tensor4D,
    targets: Object.fromEntries(
      Object.entries(p.targets).map(([k, t]) => [k, make(t)]),
    ) as Split["targets"],
    ids: [...p.ids],
  });
  const train = part(r.train), test = part(r.test);
  return { train, test, root: r.root, dispose: () => (disposeSplit(train), disposeSplit(test)) };
}

function disposeSplit(s: Split): void {
  tf.dispose([s.images, ...Object.values(s.targets).filter((t) => t !== undefined)]);
}

async function loadSplit(
  dataset: DatasetDescriptor,
  data: DataSelection,
  root: string,
  split: "train" | "test",
  limit: number | null,
): Promise<Split> {
  const want = subtasks(data.task);
  const b: LoadedSplit = await dataset.loadSplit({
    root,
    tasks: want,
    size: data.size,
    split,
    seed: data.splitSeed,
    limit,
  });
  const targets: Split["targets"] = {};
  for (const t of want) {
    const target = t === "diagnosis" ? b.labels : b.masks;
    if (!target) {
      tf.dispose([b.images, b.labels, b.masks].filter((x) => x !== undefined) as tf.Tensor[]);
      throw new Error(
        `Expected ${t === "diagnosis" ? "class labels" : "masks"} in the ${split} split of ${root}`,
      );
    }
    (targets as Record<string, tf.Tensor>)[t] = target;
  }
  // Free what the task does not use.
  if (!want.includes("diagnosis")) b.labels?.dispose();
  if (!want.includes("segmentation")) b.masks?.dispose();
  const out: Split = { images: b.images, targets, ids: b.ids };
  return limit && limit < b.ids.length ? takeFirst(out, limit) : out;
}

/** The first `n` items of a split (the loaders' order is deterministic). */
function takeFirst(s: Split, n: number): Split {
  const cut = <T extends tf.Tensor>(t: T): T => {
    const r = tf.slice(t, 0, n) as T;
    t.dispose();
    return r;
  };
  return {
    images: cut(s.images),
    targets: Object.fromEntries(
      Object.entries(s.targets).map(([k, t]) => [k, cut(t as tf.Tensor)]),
    ) as Split["targets"],
    ids: s.ids.slice(0, n),
  };
}

const fingerprints = new Map<string, string>();

/**
 * A fingerprint of the data a config reads, for cache keys; it only reads.
 * For the embedded data: the generator's version and settings. For a user's
 * folder: a hash of the SHA-256 checksums of its files — those of the
 * dataset's lock when it has one (`deno task data:verify`, or the first run,
 * writes it: {@link ensureDataLock}), else computed now, which gives the same
 * value the lock will hold — together with the relative path, size and
 * modification time of every file, so that a file changed after the lock was
 * written also changes the key. Computed once per process and folder (a grid
 * asks for every run's key). When the lock records counts that differ from the
 * manifest (accepted with `data:verify --update-lock`), it says so, once.
 */
export async function dataFingerprint(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<string> {
  if (!data.root) {
    const { synthetic } = getDataset(data.dataset);
    return `synthetic-${data.dataset}-v${synthetic.version}:${JSON.stringify(synthetic.embedded)}`;
  }
  const root = resolve(data.root);
  // Once per process and folder: a grid asks for every one of its runs' keys.
  const memo = `${data.dataset}\0${root}`;
  const hit = fingerprints.get(memo);
  if (hit) return hit;
  const stat = await statFingerprint(root);
  const lockPath = defaultLockPath(data.dataset, root);
  const lock = await readDataLock(lockPath);
  if (lock) warnAcceptedCounts(data.dataset, root, lockPath, lock);
  const sums = lock?.files ?? await datasetChecksums(root);
  const h = createHash("sha256").update(JSON.stringify(sums)).digest("hex");
  const fp = `sha256-lock:${h}:${stat}`;
  fingerprints.set(memo, fp);
  return fp;
}

/**
 * Makes sure a user's data folder may be trained on, before a run loads it
 * ({@link loadSplits} calls it); nothing to do for the embedded data.
 *
 * - **No lock yet** (`data-manifests/locks/`, keyed by the folder's real path):
 *   the folder is verified against its manifest, as `deno task data:verify`
 *   does, and its lock written (outside the folder) when it passes. When it
 *   fails, the run stops with the failing checks; when only counts differ from
 *   the manifest (a partial or variant copy), the message names the command
 *   that accepts the copy as it is: `deno task data:verify <id> DIR --update-lock`.
 *   A failed verification is remembered per real path, folder state (file list,
 *   sizes, mtimes), manifest and lock state: once per process, and once per grid
 *   (the worker processes of one parent share it for ten minutes through a small
 *   file under `.cache/data/verify/`, outside the dataset, and take turns), so a
 *   grid reports it once rather than once per run.
 * - **A lock**: the folder is re-checked cheaply against it (file list, sizes
 *   and mtimes; only changed files are read again, see `lockChanges`); a
 *   changed, missing or new file stops the run, naming the files and the
 *   command to verify the copy again. Counts that the lock accepted as
 *   differing from the manifest are printed as a warning (once per process).
 *
 * @param data The dataset and its folder (`root`; null for the embedded data).
 * @throws {Error} When the folder does not verify, or changed since its lock.
 */
export async function ensureDataLock(
  data: Pick<ExperimentConfig["data"], "dataset" | "root">,
): Promise<void> {
  if (!data.root) return;
  const given = resolve(data.root);
  const root = await Deno.realPath(given).catch((err) => {
    throw new Error(`Dataset folder not found: ${given}`, { cause: err });
  });
  // The results cache is written during the run: never inside the dataset either.
  assertOutsideDataset(defaultCacheDir(), root, "Results cache folder");
  for (;;) {
    const lockPath = defaultLockPath(data.dataset, root);
    const lock = await readDataLock(lockPath);
    if (lock) {
      await checkAgainstLock(data.dataset, given, root, lockPath, lock);
      warnAcceptedCounts(data.dataset, given, lockPath, lock);
      return;
    }
    // No lock: verify (once per process and grid), which writes the lock when the folder passes.
    const key = JSON.stringify([
      data.dataset,
      root,
      await statFingerprint(root),
      await manifestHash(data.dataset),
    ]);
    let once = verifications.get(key);
    if (!once) {
      once = verifyOncePerGrid(data.dataset, given, root, key);
      verifications.set(key, once);
    }
    // Only a failure is remembered (it throws here): a verified folder now has its lock.
    const outcome = await once;
    verifications.delete(key);
    if (outcome === "verified") return;
    // Another process of this grid verified the folder meanwhile and wrote its lock: read it.
  }
}

/** Verifications of folders without a lock in this process, by dataset, real path and state. */
const verifications = new Map<string, Promise<"verified" | "locked">>();
/** Warnings printed in this process (accepted counts, old locks). */
const warned = new Set<string>();

/**
 * How long a failed verification stands for the other processes of a grid (same parent): long
 * enough for a grid's workers, which start within seconds of each other once one fails.
 */
const MEMO_LIFETIME_MS = 10 * 60_000;

/** Where processes of one grid share failed verifications: `<repo>/.cache/data/verify/`. */
const VERIFY_MEMO_DIR = fileURLToPath(new URL("../../.cache/data/verify/", import.meta.url));

/**
 * Verifies `root` once for this process's grid: the worker processes of one parent take turns
 * (an exclusive file), and a failure one of them found (same key, same parent) is thrown again
 * without verifying. Returns `locked` when the lock appeared while waiting (another verified it).
 */
async function verifyOncePerGrid(
  dataset: string,
  given: string,
  root: string,
  key: string,
): Promise<"verified" | "locked"> {
  const hash = createHash("sha256").update(`${dataset}\0${root}`).digest("hex").slice(0, 16);
  const memoPath = join(VERIFY_MEMO_DIR, `${dataset}.${hash}.json`);
  // Never write inside the dataset (a dataset holding the repository): then only in-process.
  let shared = true;
  try {
    assertOutsideDataset(memoPath, root, "Verification memo");
  } catch {
    shared = false;
  }
  const gridKey = createHash("sha256").update(`${key}\0${Deno.ppid}`).digest("hex");
  const release = shared ? await takeTurn(`${memoPath}.turn`) : () => {};
  try {
    if (await readDataLock(defaultLockPath(dataset, root))) return "locked";
    if (shared) {
      const memo = await Deno.readTextFile(memoPath).then(JSON.parse, () => undefined);
      const age = Date.now() - Date.parse(memo?.at);
      if (memo?.key === gridKey && typeof memo.message === "string" && age < MEMO_LIFETIME_MS) {
        console.error(
          `data: ${given} failed verification in another process of this grid at ${memo.at} ` +
            `(nothing changed since); not verified again (${memoPath})`,
        );
        throw new Error(memo.message);
      }
    }
    console.error(
      `data: no checksum lock for ${given} yet; verifying it (once) against the manifest`,
    );
    const report = await verifyDataset(dataset, given);
    if (report.ok) {
      if (shared) await Deno.remove(memoPath).catch(() => {});
      return "verified";
    }
    const failed = report.checks.filter((c) => c.status === "fail");
    const onlyCounts = failed.every((c) => c.kind === "count");
    const message = `${given} does not verify as ${dataset}: ` +
      failed.map((c) => `${c.name}: ${c.detail}`).join("; ") +
      (onlyCounts
        ? `. Only counts differ from the manifest (a partial or variant copy?); to accept ` +
          `this copy as it is (its files and counts recorded in a lock outside the folder), ` +
          `run: ${verifyCommand(dataset, given, "--update-lock")}`
        : ` (see ${verifyCommand(dataset, given)})`);
    if (shared) {
      const at = new Date().toISOString();
      await Deno.mkdir(VERIFY_MEMO_DIR, { recursive: true });
      const tmp = `${memoPath}.tmp-${Deno.pid}`;
      await Deno.writeTextFile(tmp, JSON.stringify({ key: gridKey, at, message }) + "\n");
      await Deno.rename(tmp, memoPath);
      await pruneMemos();
    }
    throw new Error(message);
  } finally {
    release();
  }
}

/** Removes memos of failed verifications that no grid can use any more (and forgotten turns). */
async function pruneMemos(): Promise<void> {
  for await (const e of Deno.readDir(VERIFY_MEMO_DIR)) {
    const path = join(VERIFY_MEMO_DIR, e.name);
    const st = await Deno.stat(path).catch(() => undefined);
    if (st?.mtime && Date.now() - st.mtime.getTime() > 6 * MEMO_LIFETIME_MS) {
      await Deno.remove(path).catch(() => {});
    }
  }
}

/**
 * Waits for this process's turn at `path` (an exclusive file holding the holder's pid) and
 * returns its release. A turn whose holder is gone (no `/proc/<pid>`) or older than an hour
 * is taken over.
 */
async function takeTurn(path: string): Promise<() => void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      const f = await Deno.open(path, { createNew: true, write: true });
      await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
      f.close();
      return () => {
        try {
          Deno.removeSync(path);
        } catch { /* taken over as stale meanwhile */ }
      };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const holder = Number((await Deno.readTextFile(path).catch(() => "")).trim());
    const st = await Deno.stat(path).catch(() => undefined);
    const gone = Number.isInteger(holder) && holder > 0 && haveProc() &&
      !(await Deno.stat(`/proc/${holder}`).then(() => true, () => false));
    const old = st?.mtime ? Date.now() - st.mtime.getTime() > 3600_000 : false;
    if (st && (gone || old)) await Deno.remove(path).catch(() => {});
    else await new Promise((r) => setTimeout(r, 100));
  }
}

function haveProc(): boolean {
  try {
    return Deno.statSync(`/proc/${Deno.pid}`).isDirectory;
  } catch {
    return false;
  }
}

/** SHA-256 of the dataset's manifest file (part of the verification's key). */
async function manifestHash(dataset: string): Promise<string> {
  const text = await Deno.readTextFile(join(MANIFEST_DIR, `${dataset}.json`)).catch(() => "");
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Stops the run when `root` changed since its lock: the file list, sizes and mtimes against the
 * lock's, reading again only the files whose size or mtime changed.
 */
async function checkAgainstLock(
  dataset: string,
  given: string,
  root: string,
  lockPath: string,
  lock: DataLock,
): Promise<void> {
  if (!lock.stats && !warned.has(`stats\0${lockPath}`)) {
    warned.add(`stats\0${lockPath}`);
    console.error(
      `data: the lock ${lockPath} records no sizes and times, so every file of ${given} is ` +
        `read to check it; ${verifyCommand(dataset, given)} records them`,
    );
  }
  const diff = await lockChanges(root, lock);
  const parts = [];
  if (diff.changed.length) parts.push(`changed: ${_few(diff.changed, 20)}`);
  if (diff.missing.length) parts.push(`missing: ${_few(diff.missing, 20)}`);
  if (diff.added.length) parts.push(`new: ${_few(diff.added, 20)}`);
  if (!parts.length) return;
  throw new Error(
    `${given} changed since it was verified (lock ${lockPath}): ${parts.join("; ")}. ` +
      `The run stops. To verify the copy as it is now (every check again; a corrupt file is ` +
      `still refused) and record it, run: ${verifyCommand(dataset, given, "--update-lock")}`,
  );
}

/** Prints, once per process and lock, the counts a lock accepted as differing from the manifest. */
function warnAcceptedCounts(
  dataset: string,
  given: string,
  lockPath: string,
  lock: DataLock,
): void {
  const differs = (lock.counts ?? []).filter((c) => c.differs);
  if (!differs.length) return;
  const memo = `${lockPath}\0${JSON.stringify(differs)}`;
  if (warned.has(memo)) return;
  warned.add(memo);
  console.error(
    `data: warning: the counts of ${given} differ from the manifest (accepted with ` +
      `${verifyCommand(dataset, given, "--update-lock")}; lock ${lockPath}): ` +
      differs.map((c) => `${c.name}: ${c.detail}`).join("; "),
  );
}

/** A hash of the relative path, size and mtime of every file under `root`. */
async function statFingerprint(root: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch (e) {
      throw new Error(
        `Expected a readable dataset folder at ${dir} but found: ${(e as Error).message}`,
      );
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        const st = await Deno.stat(p);
        h.update(`${relative(root, p)}\t${st.size}\t${st.mtime?.getTime()}\n`);
      }
    }
  };
  await walk(root);
  return h.digest("hex").slice(0, 32);
}
