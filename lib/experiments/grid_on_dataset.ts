/**
 * A paper experiment's grid run on another dataset: `--dataset ID` of `deno task experiment`
 * and `GRADPROM_DATASET` of the notebooks (your own images: `folder` with its folder).
 *
 * @module
 */
import { datasetIds, getDataset } from "../data/registry.ts";
import { type Dataset, type ExperimentConfig, mergeConfig } from "./config.ts";
import { datasetInfo, resolveConfigDataset } from "./_data.ts";
import { datasetOverrides } from "./registry.ts";

/** Where the dataset and its folder were given, for errors (e.g. `--dataset`, `--data DIR`). */
export interface DatasetSource {
  /** The name of the dataset id's option or variable (e.g. `--dataset`). */
  dataset: string;
  /** The name of the folder's option or variable (e.g. `--data DIR`). */
  data: string;
}

/** The command line's names of the two, the default {@link DatasetSource}. */
export const CLI_DATASET_SOURCE: DatasetSource = { dataset: "--dataset", data: "--data DIR" };

/**
 * Checks a dataset id given to run a grid on, before anything is read: that the id is known
 * and that a dataset read from its folder (`folder`) has one.
 *
 * @param id A dataset id.
 * @param dataRoot Its folder; null for the embedded copy.
 * @param from Where the two were given (named in the errors).
 * @throws {RangeError} For an unknown id, listing the known ones. {TypeError} For `folder`
 *   (or another dataset read from its folder) without a folder.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDatasetId } from "./grid_on_dataset.ts";
 * checkDatasetId("covid_ct", null);
 * assert.throws(
 *   () => checkDatasetId("mnist", null),
 *   /Expected --dataset to be one of isic2018, covid_ct, .* but found "mnist"/,
 * );
 * assert.throws(() => checkDatasetId("folder", null), /--dataset folder needs --data DIR/);
 * ```
 */
export function checkDatasetId(
  id: string,
  dataRoot: string | null,
  from: DatasetSource = CLI_DATASET_SOURCE,
): void {
  if (!datasetIds().includes(id as Dataset)) {
    throw new RangeError(
      `Expected ${from.dataset} to be one of ${datasetIds().join(", ")} but found ${
        JSON.stringify(id)
      }`,
    );
  }
  if (getDataset(id).forRoot && !dataRoot) {
    throw new TypeError(
      `${from.dataset} ${id} needs ${from.data}: the folder of your images ` +
        `(its classes and channels are read from it)`,
    );
  }
}

/**
 * A grid's runs on dataset `id`: each run's `data.dataset` set to `id` and `data.root` to
 * `dataRoot` (null: the dataset's embedded copy), with the networks fitted to the dataset
 * (`datasetOverrides`: image channels and class counts; for `folder`, those read from
 * `dataRoot`). Each run keeps its task, and everything else of its config.
 *
 * @param configs The grid (e.g. `getExperiment(id).grid(profile)`).
 * @param id A dataset id (see `datasetIds()`).
 * @param dataRoot The dataset's folder, or null for its embedded copy (`folder` needs one).
 * @param from Where `id` and `dataRoot` were given, for errors (default the command line's).
 * @returns The runs, in the grid's order.
 * @throws {RangeError} For an unknown id, listing the known ones.
 * @throws {TypeError} For a dataset without a task of the grid (naming both), `folder` without
 *   a folder; a malformed folder's errors (naming the file).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gridOnDataset } from "./grid_on_dataset.ts";
 * import { getExperiment } from "./registry.ts";
 * const grid = getExperiment("table1-isic-denoise").grid("smoke");
 * const runs = await gridOnDataset(grid, "covid_ct", null);
 * assert.equal(runs[0].data.dataset, "covid_ct");
 * assert.equal(runs[0].vr.imageChannels, 1);
 * await assert.rejects(
 *   gridOnDataset(getExperiment("table2-isic-seg-denoise").grid("smoke"), "covid_ct", null),
 *   /Expected dataset covid_ct to have task segmentation \(of the grid\) but it has diagnosis/,
 * );
 * ```
 */
export async function gridOnDataset(
  configs: ExperimentConfig[],
  id: string,
  dataRoot: string | null,
  from: DatasetSource = CLI_DATASET_SOURCE,
): Promise<ExperimentConfig[]> {
  checkDatasetId(id, dataRoot, from);
  await resolveConfigDataset({ dataset: id as Dataset, root: dataRoot });
  const tasks = datasetInfo(id, dataRoot)!.tasks;
  return configs.map((c) => {
    if (!tasks.includes(c.data.task)) {
      throw new TypeError(
        `Expected dataset ${id} to have task ${c.data.task} (of the grid) but it has ${
          tasks.join(", ")
        }`,
      );
    }
    const fit = datasetOverrides(id as Dataset, c.data.task, dataRoot);
    return mergeConfig(c, { ...fit, data: { ...fit.data, root: dataRoot } });
  });
}
