/**
 * Headless notebook execution on the Deno kernel, through `tools/nbexec.py` (Jupyter's own
 * executor, nbclient, run by Debian's `/usr/bin/python3`).
 *
 * Why not stock `jupyter nbconvert --execute`: Deno 2.9's kernel sometimes publishes
 * `status: idle` before a cell's outputs and stock nbclient then drops them and still exits 0;
 * `nbexec.py` keeps reading until IOPub has been quiet for a short window after `idle`.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeDenoKernelspec } from "./kernelspec.ts";

/** The interpreter that has Debian's nbclient (the `python3` first on PATH may not). */
const _PYTHON = "/usr/bin/python3";

/** Python module → the Debian package that provides it. */
const _MODULE_PACKAGES: Record<string, string> = {
  nbclient: "python3-nbclient",
  nbformat: "python3-nbformat",
  jupyter_client: "python3-jupyter-client",
};

const _INSTALL_HINT = "install the Debian packages with: apt-get install -y " +
  `--no-install-recommends ${Object.values(_MODULE_PACKAGES).join(" ")}`;

const _REPO_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const _NBEXEC = join(_REPO_ROOT, "tools", "nbexec.py");
const _SUMMARY_PREFIX = "nbexec-summary ";
/** How many of nbexec's last stderr lines a failure message quotes. */
const _TAIL_LINES = 30;

/** Options of {@linkcode executeNotebook}. */
export interface ExecuteNotebookOptions {
  /** Per-cell timeout in seconds (default 1800). */
  timeoutSeconds?: number;
  /** Extra environment variables for the executor and the kernel (added to the current ones). */
  env?: Record<string, string>;
  /** Seconds of IOPub silence after a cell's `idle` that end the cell (default 0.3). */
  quietWindowSeconds?: number;
  /** Where the kernelspec folder goes (default `<repo>/results/.jupyter`). */
  kernelspecDir?: string;
  /** Receives each stderr line of the executor (default: written to this process's stderr). */
  onStderrLine?: (line: string) => void;
}

/** What {@linkcode executeNotebook} reports on success. */
export interface ExecuteNotebookResult {
  /** Code cells executed. */
  cells: number;
  /** Wall time of the execution in seconds, kernel start included. */
  seconds: number;
}

/**
 * Executes a notebook on the Deno kernel and writes the executed copy to `output`.
 *
 * Writes a project kernelspec (see `writeDenoKernelspec`) under `<repo>/results/.jupyter`, puts
 * it first on `JUPYTER_PATH` and runs `/usr/bin/python3 tools/nbexec.py`. The kernel runs in
 * the notebook's folder. The executor's stderr (one progress line per code cell) is streamed.
 *
 * @param input Path of the notebook to run; it is never modified.
 * @param output Path of the executed notebook; must differ from `input`. On failure it holds the
 *   partially executed notebook.
 * @param options Per-cell timeout, extra environment, quiet window, stderr sink.
 * @returns The number of code cells executed and the seconds it took.
 * @throws {Error} If a cell raised, timed out or the kernel died (the message names the cell
 *   index and the error, and quotes the end of the executor's stderr); an error thrown in a
 *   timer, callback or promise that nothing awaited fails the cell after which it was found
 *   (the Deno kernel itself drops such errors; `tools/nbexec.py` records them). If the input is
 *   not a valid notebook: `<input>: not a valid notebook: <reason>` (invalid JSON, an nbformat
 *   error), nothing else. If `/usr/bin/python3` lacks nbclient (the message says which Debian
 *   packages to install).
 * @example
 * ```ts ignore
 * import { executeNotebook } from "./execute_notebook.ts";
 * const { cells, seconds } = await executeNotebook(
 *   "notebooks/table1.ipynb",
 *   "results/notebooks/table1.ipynb",
 *   { timeoutSeconds: 3600 },
 * );
 * console.log(`${cells} cells in ${seconds.toFixed(1)} s`);
 * ```
 */
export async function executeNotebook(
  input: string,
  output: string,
  options: ExecuteNotebookOptions = {},
): Promise<ExecuteNotebookResult> {
  const timeout = options.timeoutSeconds ?? 1800;
  const quiet = options.quietWindowSeconds ?? 0.3;
  if (!(timeout > 0)) {
    throw new RangeError(`Expected timeoutSeconds > 0 but found ${timeout}`);
  }
  if (!(quiet >= 0)) {
    throw new RangeError(`Expected quietWindowSeconds >= 0 but found ${quiet}`);
  }
  const inputPath = resolve(input);
  const outputPath = resolve(output);
  if (inputPath === outputPath) {
    throw new RangeError(`Expected an output path other than the input but found ${inputPath}`);
  }
  try {
    if (!(await Deno.stat(inputPath)).isFile) throw new Deno.errors.NotFound();
  } catch {
    throw new Error(`Expected a notebook file at ${inputPath} but found none`);
  }
  await Deno.mkdir(dirname(outputPath), { recursive: true });

  const jupyterDir = await writeDenoKernelspec(
    options.kernelspecDir ?? join(_REPO_ROOT, "results", ".jupyter"),
  );
  const inherited = Deno.env.get("JUPYTER_PATH");
  const env = {
    ...options.env,
    JUPYTER_PATH: inherited ? `${jupyterDir}:${inherited}` : jupyterDir,
    NO_COLOR: "1",
    PYTHONDONTWRITEBYTECODE: "1",
  };
  const args = [
    _NBEXEC,
    inputPath,
    outputPath,
    "--kernel",
    "deno",
    "--timeout",
    String(timeout),
    "--quiet-window",
    String(quiet),
    "--cwd",
    dirname(inputPath),
  ];

  const sink = options.onStderrLine ?? ((line: string) => console.error(line));
  const tail: string[] = [];
  const started = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(_PYTHON, { args, env, stdout: "piped", stderr: "piped" }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Expected ${_PYTHON} to run notebooks but found none; ${_INSTALL_HINT}`);
    }
    throw err;
  }
  const stdoutLines: string[] = [];
  const outReader = child.stdout.getReader();
  const errReader = child.stderr.getReader();
  const readers = Promise.all([
    _readLines(outReader, (line) => stdoutLines.push(line)),
    _readLines(errReader, (line) => {
      tail.push(line);
      if (tail.length > _TAIL_LINES) tail.shift();
      sink(line);
    }),
  ]);
  const status = await child.status;
  // The kernel inherits the executor's pipes; if the executor died abruptly an orphaned kernel
  // could keep them open, so stop reading shortly after the executor itself has exited.
  await _settleWithin(readers, 2000, () => {
    outReader.cancel().catch(() => {});
    errReader.cancel().catch(() => {});
  });
  const seconds = (performance.now() - started) / 1000;

  if (status.code === 0) {
    const summaryLine = stdoutLines.findLast((l) => l.startsWith(_SUMMARY_PREFIX));
    const summary = summaryLine ? JSON.parse(summaryLine.slice(_SUMMARY_PREFIX.length)) : {};
    return { cells: Number(summary.cells ?? 0), seconds };
  }
  const quoted = tail.join("\n");
  const invalid = tail.findLast((l) => l.startsWith(`${inputPath}: not a valid notebook: `));
  if (status.code === 2 && invalid) throw new Error(invalid);
  if (status.code === 3) {
    throw new Error(
      `Expected ${_PYTHON} with nbclient, nbformat and jupyter_client but found some missing; ` +
        `${_INSTALL_HINT}\n${quoted}`,
    );
  }
  const failure = tail.findLast((l) => l.startsWith("nbexec: FAILED: "))?.slice(16) ??
    `nbexec exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
  const partial = status.code === 1 ? ` (partially executed notebook: ${outputPath})` : "";
  throw new Error(
    `Notebook ${inputPath} failed: ${failure}${partial}\n` +
      `--- last lines of nbexec's stderr ---\n${quoted}`,
  );
}

/**
 * Reports whether `/usr/bin/python3` can run notebooks (imports nbclient, nbformat and
 * jupyter_client).
 *
 * @returns `ok`, and in `missing` the Debian packages to install (`python3` itself if the
 *   interpreter is absent).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkNotebookTooling } from "./execute_notebook.ts";
 * const { ok, missing } = await checkNotebookTooling();
 * assert.equal(ok, missing.length === 0);
 * assert.ok(missing.every((deb) => deb.startsWith("python3")));
 * if (!ok) console.log(`apt-get install -y --no-install-recommends ${missing.join(" ")}`);
 * ```
 */
export async function checkNotebookTooling(): Promise<{ ok: boolean; missing: string[] }> {
  const modules = Object.keys(_MODULE_PACKAGES);
  const script = [
    "import importlib, json",
    "missing = []",
    `for name in ${JSON.stringify(modules)}:`,
    "    try:",
    "        importlib.import_module(name)",
    "    except Exception:",
    "        missing.append(name)",
    "print(json.dumps(missing))",
  ].join("\n");
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(_PYTHON, {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONDONTWRITEBYTECODE: "1" },
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { ok: false, missing: ["python3", ...Object.values(_MODULE_PACKAGES)] };
    }
    throw err;
  }
  let missingModules: string[] = modules;
  if (result.success) {
    try {
      missingModules = JSON.parse(new TextDecoder().decode(result.stdout).trim());
    } catch {
      missingModules = modules;
    }
  }
  const missing = missingModules.map((m) => _MODULE_PACKAGES[m] ?? m);
  return { ok: missing.length === 0, missing };
}

/** Calls `onLine` for each line read from `reader` (without the newline), until it ends. */
async function _readLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      const parts = (rest + decoder.decode(value, { stream: true })).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) onLine(part.replace(/\r$/, ""));
    }
  } catch {
    // Cancelled after the executor exited (see executeNotebook).
  }
  rest += decoder.decode();
  if (rest) onLine(rest);
}

/** Awaits `promise` for at most `ms`, calling `onTimeout` (which should settle it) if late. */
async function _settleWithin(
  promise: Promise<unknown>,
  ms: number,
  onTimeout: () => void,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((done) => {
    timer = setTimeout(() => done("late"), ms);
  });
  const first = await Promise.race([promise.then(() => "done" as const), late]);
  clearTimeout(timer);
  if (first === "late") {
    onTimeout();
    await promise;
  }
}
