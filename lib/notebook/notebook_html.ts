/**
 * HTML copies of executed notebooks, through Debian's `jupyter-nbconvert --to html` (its default
 * `lab` template; styles inlined, each chart's static `image/png` embedded as a `data:` URI, so a
 * copy shows every figure with no JavaScript and no network).
 *
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

/** Debian's nbconvert command (a `jupyter` first on PATH may be another installation). */
export const NBCONVERT = "/usr/bin/jupyter-nbconvert";

/** The Debian package that provides {@link NBCONVERT}. */
export const NBCONVERT_DEB = "jupyter-nbconvert";

/** How many of nbconvert's last stderr lines a failure message quotes. */
const _TAIL_LINES = 20;

/** Options of {@linkcode notebookToHtml} and {@linkcode notebookHtmlCopies}. */
export interface NotebookHtmlOptions {
  /** The nbconvert executable (default {@link NBCONVERT}). */
  nbconvert?: string;
}

/**
 * Converts one notebook to HTML with `jupyter-nbconvert --to html`, written atomically beside it
 * (`results/notebooks/table1.ipynb` → `results/notebooks/table1.html`).
 *
 * @param notebook Path of the `.ipynb` file.
 * @param options Another nbconvert executable.
 * @returns The path of the HTML file.
 * @throws {Deno.errors.NotFound} When the nbconvert executable is missing. {Error} When nbconvert
 *   fails (the message quotes the end of its stderr).
 * @example
 * ```ts ignore
 * import { notebookToHtml } from "./notebook_html.ts";
 * console.log(await notebookToHtml("results/notebooks/table1_isic_denoise.ipynb"));
 * // results/notebooks/table1_isic_denoise.html
 * ```
 */
export async function notebookToHtml(
  notebook: string,
  options: NotebookHtmlOptions = {},
): Promise<string> {
  const input = resolve(notebook);
  const output = join(dirname(input), `${basename(input, extname(input))}.html`);
  const out = await new Deno.Command(options.nbconvert ?? NBCONVERT, {
    args: ["--to", "html", "--stdout", input],
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  }).output();
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).trimEnd().split("\n").slice(-_TAIL_LINES);
    throw new Error(
      `nbconvert could not convert ${input} (exit code ${out.code})\n${tail.join("\n")}`,
    );
  }
  await writeFileAtomic(output, out.stdout);
  return output;
}

/** What {@linkcode notebookHtmlCopies} made. */
export interface NotebookHtmlCopies {
  /** The HTML copy of each notebook, in order; null where there is none. */
  html: (string | null)[];
  /**
   * Why some or all copies are missing (nbconvert not installed, or which notebooks it failed
   * on), in one sentence; null when every notebook has its copy.
   */
  note: string | null;
}

/**
 * HTML copies of executed notebooks, each beside its notebook (see {@linkcode notebookToHtml}).
 * Never throws for nbconvert: without it, or where it fails on a notebook, that notebook has no
 * copy and `note` says why.
 *
 * @param notebooks Paths of `.ipynb` files.
 * @param options Another nbconvert executable.
 * @returns The copies (null where missing) and a note on what is missing.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookHtmlCopies } from "./notebook_html.ts";
 * const r = await notebookHtmlCopies(["a.ipynb"], { nbconvert: "/nonexistent/nbconvert" });
 * assert.deepEqual(r.html, [null]);
 * assert.match(r.note!, /^No HTML copies of the notebooks: \/nonexistent\/nbconvert is not installed/);
 * ```
 */
export async function notebookHtmlCopies(
  notebooks: readonly string[],
  options: NotebookHtmlOptions = {},
): Promise<NotebookHtmlCopies> {
  const nbconvert = options.nbconvert ?? NBCONVERT;
  const html: (string | null)[] = [];
  const failed: string[] = [];
  for (const nb of notebooks) {
    try {
      html.push(await notebookToHtml(nb, { nbconvert }));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
        return {
          html: notebooks.map(() => null),
          note: `No HTML copies of the notebooks: ${nbconvert} is not installed (as root: ` +
            `apt-get install -y --no-install-recommends ${NBCONVERT_DEB}).`,
        };
      }
      html.push(null);
      failed.push(`${basename(nb)} (${(e as Error).message.split("\n").at(-1)})`);
    }
  }
  const note = failed.length
    ? `No HTML copy of ${failed.length} notebook(s): nbconvert failed on ${failed.join(", ")}.`
    : null;
  return { html, note };
}
