/**
 * The one registry of datasets: {@linkcode DATASETS}, one descriptor per
 * dataset (see `dataset_descriptor.ts`), each defined in its loader file.
 * Experiments, config validation, the manifest checks and `tools/data.ts`
 * read the datasets from here.
 *
 * Adding a dataset takes its loader (with the descriptor), its synthetic
 * generator, its manifest `data-manifests/<id>.json`, its tests, and one
 * entry below. {@linkcode registerDataset} adds one at run time instead.
 *
 * @module
 */
import { CAMUS_DATASET } from "./camus.ts";
import { resolve } from "node:path";
import { COVID_CT_DATASET } from "./covid_ct.ts";
import { type DatasetDescriptor, type DatasetTask, TASK_ALIASES } from "./dataset_descriptor.ts";
import { FOLDER_DATASET } from "./folder.ts";
import { ISIC2018_DATASET } from "./isic2018.ts";
import { LIZARD_DATASET } from "./lizard.ts";

export { TASK_ALIASES };

/**
 * Every dataset by id, in the order the library lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATASETS } from "./registry.ts";
 * assert.equal(DATASETS.covid_ct.channels, 1);
 * assert.equal(DATASETS.lizard.name, "Lizard");
 * ```
 */
export const DATASETS: {
  readonly isic2018: DatasetDescriptor<"isic2018">;
  readonly covid_ct: DatasetDescriptor<"covid_ct">;
  readonly lizard: DatasetDescriptor<"lizard">;
  readonly camus: DatasetDescriptor<"camus">;
  readonly folder: DatasetDescriptor<"folder">;
} = {
  isic2018: ISIC2018_DATASET,
  covid_ct: COVID_CT_DATASET,
  lizard: LIZARD_DATASET,
  camus: CAMUS_DATASET,
  folder: FOLDER_DATASET,
};

/** A dataset id. */
export type DatasetId = keyof typeof DATASETS;

/** The dataset ids, in registry order. */
export const DATASET_IDS: readonly DatasetId[] = Object.keys(DATASETS) as DatasetId[];

/**
 * The descriptor of a dataset id.
 *
 * @param id A dataset id.
 * @returns Its descriptor.
 * @throws {TypeError} For an unknown id, listing the known ones.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getDataset } from "./registry.ts";
 * assert.equal(getDataset("camus").name, "CAMUS");
 * assert.throws(() => getDataset("mnist"), /Expected dataset isic2018, .* but found "mnist"/);
 * ```
 */
export function getDataset(id: string): DatasetDescriptor<DatasetId> {
  if (Object.hasOwn(DATASETS, id)) return DATASETS[id as DatasetId];
  const registered = _registered.get(id);
  if (registered) return registered;
  throw new TypeError(
    `Expected dataset ${datasetIds().join(", ")} but found ${JSON.stringify(id)}`,
  );
}

/** Descriptors of datasets read from their folder (`forRoot`), by id and absolute folder. */
const _resolved = new Map<string, DatasetDescriptor<DatasetId>>();

function _needsRoot(id: string): TypeError {
  return new TypeError(
    `dataset ${id} needs --data DIR (data.root): its classes and channels are read from the folder`,
  );
}

/**
 * The descriptor of a dataset for the copy at `root`: the registry's, or, for a dataset whose
 * channels and classes are read from its folder (`folder`, see `forRoot`), the one read from
 * `root` (read once per folder and process; {@linkcode datasetFor} returns it afterwards).
 *
 * @param id A dataset id.
 * @param root The dataset folder (`data.root`); null for the embedded copy.
 * @returns The descriptor.
 * @throws {TypeError} For an unknown id, or a `forRoot` dataset without a folder
 *   (`dataset folder needs --data DIR`); whatever `forRoot` throws for a malformed folder.
 */
export async function resolveDataset(
  id: string,
  root?: string | null,
): Promise<DatasetDescriptor<DatasetId>> {
  const d = getDataset(id);
  if (!d.forRoot) return d;
  if (!root) throw _needsRoot(id);
  const key = `${id}\0${resolve(root)}`;
  let r = _resolved.get(key);
  if (!r) {
    r = await d.forRoot(resolve(root)) as DatasetDescriptor<DatasetId>;
    _resolved.set(key, r);
  }
  return r;
}

/**
 * {@linkcode getDataset}, or for a dataset read from its folder, the descriptor
 * {@linkcode resolveDataset} read from `root` (synchronous: resolve it first).
 *
 * @param id A dataset id.
 * @param root The dataset folder (`data.root`).
 * @returns The descriptor.
 * @throws {TypeError} As {@linkcode resolveDataset}, or when that folder was not read yet.
 */
export function datasetFor(id: string, root?: string | null): DatasetDescriptor<DatasetId> {
  const d = getDataset(id);
  if (!d.forRoot) return d;
  if (!root) throw _needsRoot(id);
  const r = _resolved.get(`${id}\0${resolve(root)}`);
  if (!r) {
    throw new TypeError(
      `dataset ${id} at ${root} is not read yet: await resolveDataset(id, root) first`,
    );
  }
  return r;
}

/** Datasets added at run time by {@link registerDataset}, by id. */
const _registered = new Map<string, DatasetDescriptor<DatasetId>>();

/**
 * Every dataset id: the built-ins of {@link DATASETS}, then those added by
 * {@link registerDataset}, in registration order.
 *
 * @returns The ids.
 */
export function datasetIds(): DatasetId[] {
  return [...DATASET_IDS, ...(_registered.keys() as Iterable<DatasetId>)];
}

/**
 * Adds a dataset at run time (a notebook, a test, a script), without editing
 * {@link DATASETS}: afterwards {@link getDataset} returns it, so configs may
 * name it as `data.dataset` (config validation and the runner accept it).
 * Built-in ids, run keys and numbers are unchanged.
 *
 * The id is typed as a {@link DatasetId} afterwards (so that a typed config
 * takes it); it is one only in this process, after this call. Worker
 * processes do not see it: run grids of it with `runGrid(configs, { workers: 0 })`.
 * A run without `data.root` reads `descriptor.synthetic.root(embedded)` and is
 * keyed by `synthetic.version` and `embedded`; a run with a `data.root` is
 * verified once with `descriptor.verify` against `data-manifests/<id>.json`,
 * so a run-time dataset without a manifest is best run without a root. To add
 * a dataset for good, see this module's note.
 *
 * @param descriptor The dataset (its `id` must be new).
 * @returns `descriptor.id`, as a dataset id.
 * @throws {RangeError} For an id already taken.
 * @throws {TypeError} For a malformed descriptor (name, channels, tasks, loadSplit, synthetic).
 */
export function registerDataset(descriptor: DatasetDescriptor): DatasetId {
  const id = descriptor?.id;
  if (typeof id !== "string" || !/^[a-z0-9_-]+$/i.test(id)) {
    throw new TypeError(
      `Expected a dataset id of letters, digits, _ and - but found ${JSON.stringify(id)}`,
    );
  }
  if (Object.hasOwn(DATASETS, id) || _registered.has(id)) {
    throw new RangeError(`Expected a new dataset id but found "${id}", already registered`);
  }
  const bad = (field: string, want: string, found: unknown) =>
    new TypeError(
      `Expected ${field} of dataset "${id}" to be ${want} but found ${JSON.stringify(found)}`,
    );
  if (typeof descriptor.name !== "string" || !descriptor.name.trim()) {
    throw bad("name", "a non-empty string", descriptor.name);
  }
  if (descriptor.channels !== 1 && descriptor.channels !== 3) {
    throw bad("channels", "1 or 3", descriptor.channels);
  }
  for (const task of ["diagnosis", "segmentation"] as const) {
    const info = descriptor.tasks?.[task];
    if (info && (!Array.isArray(info.classes) || info.classes.length < 2)) {
      throw bad(`tasks.${task}.classes`, "at least two class names", info.classes);
    }
  }
  if (!descriptor.tasks?.diagnosis && !descriptor.tasks?.segmentation) {
    throw bad("tasks", "diagnosis and/or segmentation", descriptor.tasks);
  }
  if (typeof descriptor.loadSplit !== "function") {
    throw bad("loadSplit", "a function", typeof descriptor.loadSplit);
  }
  if (typeof descriptor.synthetic?.root !== "function") {
    throw bad("synthetic.root", "a function", typeof descriptor.synthetic?.root);
  }
  _registered.set(id, descriptor as DatasetDescriptor<DatasetId>);
  return id as DatasetId;
}

/**
 * The experiment tasks of a dataset: `diagnosis`, `segmentation` (those it
 * has) and `diagnosis+segmentation` (when every image has both).
 *
 * @param dataset A descriptor.
 * @returns Its tasks, in that order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATASETS, datasetTasks } from "./registry.ts";
 * assert.deepEqual(datasetTasks(DATASETS.covid_ct), ["diagnosis"]);
 * ```
 */
export function datasetTasks(dataset: DatasetDescriptor): DatasetTask[] {
  const tasks: DatasetTask[] = [];
  if (dataset.tasks.diagnosis) tasks.push("diagnosis");
  if (dataset.tasks.segmentation) tasks.push("segmentation");
  if (dataset.pairedTasks) tasks.push("diagnosis+segmentation");
  return tasks;
}

/**
 * The words `tools/data.ts` takes for `--task` on a dataset: its recognition
 * tasks and the other image labels its inspection counts.
 *
 * @param dataset A descriptor.
 * @returns The words, the inspection's default first.
 */
export function inspectionTasks(dataset: DatasetDescriptor): string[] {
  const tasks = datasetTasks(dataset).filter((t) => t !== "diagnosis+segmentation");
  const first = dataset.inspect.defaultTask;
  return [first, ...tasks.filter((t) => t !== first), ...(dataset.inspect.labels ?? [])];
}

/**
 * A task word as a user typed it, in the one vocabulary: `classification`
 * (and a dataset's own aliases, such as CAMUS's `view`) becomes `diagnosis`.
 *
 * @param dataset A descriptor.
 * @param word The word typed.
 * @returns The task or label word of {@linkcode inspectionTasks}.
 * @throws {TypeError} For a word the dataset does not take, listing the ones it does.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATASETS, resolveTask } from "./registry.ts";
 * assert.equal(resolveTask(DATASETS.lizard, "classification"), "diagnosis");
 * assert.equal(resolveTask(DATASETS.camus, "view"), "diagnosis");
 * ```
 */
export function resolveTask(dataset: DatasetDescriptor, word: string): string {
  const words = inspectionTasks(dataset);
  const alias = (m: Readonly<Record<string, string>> = {}) =>
    Object.hasOwn(m, word) ? m[word] : undefined;
  const task = alias(dataset.taskAliases) ?? alias(TASK_ALIASES) ?? word;
  if (!words.includes(task)) {
    throw new TypeError(
      `Expected task ${words.join(" or ")} for ${dataset.id} but found ${JSON.stringify(word)}`,
    );
  }
  return task;
}
