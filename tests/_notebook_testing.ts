/**
 * Shared helpers of the notebook tests: reading cells, and executing a
 * notebook headlessly on the smoke profile with a given cache.
 */
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { executeNotebook } from "../lib/notebook/execute_notebook.ts";

/** A notebook cell as nbformat stores it. */
export interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: {
    output_type: string;
    data?: Record<string, unknown>;
    text?: string | string[];
    ename?: string;
    evalue?: string;
  }[];
}

/** A cell's source as one string. */
export const cellSource = (c: Cell): string =>
  Array.isArray(c.source) ? c.source.join("") : c.source;

/** The path of `notebooks/<name>.ipynb`. */
export const notebookPath = (name: string): string => join(REPO_ROOT, "notebooks", `${name}.ipynb`);

/** Reads a notebook's cells. */
export async function readCells(path: string): Promise<Cell[]> {
  return (JSON.parse(await Deno.readTextFile(path)) as { cells: Cell[] }).cells;
}

/**
 * Executes `notebooks/<name>.ipynb` headlessly on the smoke profile (one
 * seed) into `dir`, with the results cache `cache`, and returns the executed
 * cells.
 */
export async function executeSmoke(
  name: string,
  dir: string,
  cache: string,
  timeoutSeconds = 600,
): Promise<Cell[]> {
  const out = join(dir, `${name}.ipynb`);
  await executeNotebook(notebookPath(name), out, {
    env: { GRADPROM_PROFILE: "smoke", GRADPROM_CACHE: cache, GRADPROM_SEEDS: "1" },
    timeoutSeconds,
    onStderrLine: () => {},
  });
  return await readCells(out);
}
