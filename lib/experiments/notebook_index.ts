/**
 * Every notebook of `notebooks/` and the experiments whose grids it shows:
 * what `deno task reproduce` runs, in order. Notebooks without experiments
 * compute their own content. The one list of notebooks: the figures of
 * `deno task figures` (`lib/figures/registry.ts`) and the notebook tests are
 * derived from it. A paper table added to `EXPERIMENTS` (`registry.ts`) and
 * shown by no notebook below gets one at the end, named after its id
 * (`my-table` → `notebooks/my_table.ipynb`), so adding a table touches only
 * its spec and its notebook.
 *
 * @module
 */
import { EXPERIMENTS } from "./registry.ts";

/** One notebook of `notebooks/`. */
export interface NotebookEntry {
  /** File name without `.ipynb`. */
  name: string;
  /** Ids of the experiments (see `registry.ts`) whose grids the notebook shows. */
  experiments: string[];
  /**
   * Run only with `reproduce --all` or `--only`, not by default (to keep the
   * default run within its time budget).
   */
  extra?: boolean;
}

/** The notebooks written down here, in order. */
const _LISTED: NotebookEntry[] = [
  { name: "fig1_gradient_promotion", experiments: [] },
  { name: "table1_isic_denoise", experiments: ["table1-isic-denoise"] },
  // Reads Table 1's seed-0 runs (cached by the line above).
  { name: "qualitative_results", experiments: [] },
  // Reads the Benchmark-i runs of Tables 1 and 2 (trains Table 2's with its U-Net if missing).
  { name: "fig2_task_attention", experiments: [] },
  { name: "table2_isic_seg_denoise", experiments: ["table2-isic-seg-denoise"] },
  { name: "other_datasets_denoise", experiments: ["datasets-denoise"] },
  { name: "super_resolution", experiments: ["sr-isic"] },
  { name: "table5_methods", experiments: ["table5-methods"] },
  {
    name: "ablations",
    experiments: [
      "ablation-unsupervised",
      "ablation-multitask",
      "ablation-composite",
      "ablation-cross-domain",
    ],
  },
  { name: "lambda_sensitivity", experiments: ["lambda-sweep"] },
  { name: "sgd_vs_adam", experiments: ["optimizer-sgd-vs-adam"] },
  { name: "gradient_dynamics", experiments: ["gradient-dynamics"] },
];

/**
 * The notebook of an experiment that no listed notebook shows: its id with
 * `_` for `-`.
 *
 * @param id An experiment id.
 * @returns The notebook's file name without `.ipynb`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNotebookName } from "./notebook_index.ts";
 * assert.equal(defaultNotebookName("table9-my-table"), "table9_my_table");
 * ```
 */
export function defaultNotebookName(id: string): string {
  return id.replaceAll("-", "_");
}

/**
 * The notebooks, in the order `deno task reproduce` runs them: the listed
 * ones, then one per experiment of `EXPERIMENTS` that none of them shows.
 */
export const NOTEBOOKS: NotebookEntry[] = [
  ..._LISTED,
  ...Object.keys(EXPERIMENTS)
    .filter((id) => !_LISTED.some((n) => n.experiments.includes(id)))
    .map((id) => ({ name: defaultNotebookName(id), experiments: [id] })),
];
