/**
 * Shared helpers of the notebook tests: reading cells, and executing a
 * notebook headlessly on the smoke profile with a given cache.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";

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
 * seed) into `dir`, with the results cache `cache` and the variables `env` on top,
 * and returns the executed cells.
 */
export async function executeSmoke(
  name: string,
  dir: string,
  cache: string,
  timeoutSeconds = 600,
  env: Record<string, string> = {},
): Promise<Cell[]> {
  const out = join(dir, `${name}.ipynb`);
  await executeNotebook(notebookPath(name), out, {
    env: { GRADPROM_PROFILE: "smoke", GRADPROM_CACHE: cache, GRADPROM_SEEDS: "1", ...env },
    timeoutSeconds,
    onStderrLine: () => {},
  });
  return await readCells(out);
}

/** A cell's display outputs (execute results and display data). */
export const shown = (c: Cell): NonNullable<Cell["outputs"]> =>
  (c.outputs ?? []).filter((o) =>
    o.output_type === "execute_result" || o.output_type === "display_data"
  );

/**
 * The code cells of an executed notebook, after checking that each shows something and that
 * none raised an error.
 */
export function checkedCodeCells(cells: Cell[]): Cell[] {
  const code = cells.filter((c) => c.cell_type === "code");
  for (const [i, c] of code.entries()) {
    assert.ok(shown(c).length > 0, `code cell ${i} has no display output`);
  }
  const errors = code.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
  assert.equal(errors.length, 0, errors.map((e) => `${e.ename}: ${e.evalue}`).join("\n"));
  return code;
}

/** The Plotly figures the cells show, in order. */
export function shownFigures<T>(code: Cell[]): T[] {
  return code.flatMap(shown).map((o) => o.data?.["application/vnd.plotly.v1+json"] as T | undefined)
    .filter((f) => f !== undefined);
}

/** The Markdown the cells show, one string per output ("" for other outputs). */
export function shownMarkdown(code: Cell[]): string[] {
  return code.flatMap(shown).map((o) => String(o.data?.["text/markdown"] ?? ""));
}

/**
 * Registers a test that executes `notebooks/<notebook>.ipynb` headlessly on the smoke profile
 * (one seed, a temporary cache), checks that every code cell shows something and that none
 * raised an error, then runs `check` on the code cells. Ignored when the notebook tooling is
 * missing.
 */
export async function smokeNotebookTest(
  name: string,
  notebook: string,
  check: (code: Cell[]) => void,
  timeoutSeconds = 600,
): Promise<void> {
  const tooling = await checkNotebookTooling();
  Deno.test({
    name,
    ignore: !tooling.ok,
    async fn() {
      const tmp = await Deno.makeTempDir({ prefix: `gradprom-${notebook}-` });
      try {
        check(
          checkedCodeCells(await executeSmoke(notebook, tmp, join(tmp, "cache"), timeoutSeconds)),
        );
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}
