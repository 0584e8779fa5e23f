/**
 * The notebook executor fails on errors that a cell's own run does not report (an error thrown
 * from a timer, an unhandled rejection) and names malformed notebooks without a traceback.
 *
 * Kernel runs are skipped (with the reason printed) only when `/usr/bin/python3` lacks nbclient.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";

const NBEXEC = fileURLToPath(new URL("../tools/nbexec.py", import.meta.url));

const tooling = await checkNotebookTooling();
if (!tooling.ok) {
  console.log(
    `notebook_errors_test: skipped, /usr/bin/python3 lacks ${tooling.missing.join(", ")} ` +
      `(apt-get install -y --no-install-recommends ${tooling.missing.join(" ")})`,
  );
}

/** A notebook of code cells on the Deno kernel. */
function notebook(sources: string[]): string {
  return JSON.stringify({
    cells: sources.map((source, i) => ({
      cell_type: "code",
      id: `c${i}`,
      execution_count: null,
      metadata: {},
      outputs: [],
      source,
    })),
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function withNotebook(
  text: string,
  fn: (input: string, output: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nbexec_errors_" });
  try {
    await Deno.writeTextFile(join(dir, "nb.ipynb"), text);
    await fn(join(dir, "nb.ipynb"), join(dir, "out.ipynb"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const quiet = { timeoutSeconds: 120, onStderrLine: () => {} };

Deno.test({
  name: "executeNotebook() fails on an error thrown from a timer after the last cell finished",
  ignore: !tooling.ok,
  async fn() {
    const nb = notebook(['console.log("a")', 'setTimeout(() => { throw new Error("late") }, 10)']);
    await withNotebook(nb, async (input, output) => {
      await assert.rejects(executeNotebook(input, output, quiet), (e: Error) => {
        assert.match(
          e.message,
          /^Notebook .* failed: cell 1 raised Error: late \(uncaught, in a timer, callback or promise; /,
        );
        return true;
      });
      // The executed copy shows the error on the cell that started the timer.
      const cells: Json[] = JSON.parse(await Deno.readTextFile(output)).cells;
      const errors = cells[1].outputs.filter((o: Json) => o.output_type === "error");
      assert.equal(errors.length, 1);
      assert.equal(errors[0].evalue, "late");
    });
  },
});

Deno.test({
  name: "executeNotebook() fails at the cell whose timer threw, and runs no cell after it",
  ignore: !tooling.ok,
  async fn() {
    const nb = notebook([
      'setTimeout(() => { throw new Error("late") }, 10); 1',
      "await new Promise((r) => setTimeout(r, 50)); 2",
      'console.log("never")',
    ]);
    await withNotebook(nb, async (input, output) => {
      await assert.rejects(
        executeNotebook(input, output, quiet),
        /cell 0 raised Error: late \(uncaught/,
      );
      const cells: Json[] = JSON.parse(await Deno.readTextFile(output)).cells;
      assert.deepEqual(cells[2].outputs, []);
    });
  },
});

Deno.test({
  name: "executeNotebook() fails on a promise rejected with no handler",
  ignore: !tooling.ok,
  async fn() {
    await withNotebook(notebook(['Promise.reject(new Error("nobody waits")); 3']), async (i, o) => {
      await assert.rejects(executeNotebook(i, o, quiet), /cell 0 raised Error: nobody waits/);
    });
  },
});

Deno.test({
  name: "executeNotebook() still passes a notebook whose timers end quietly",
  ignore: !tooling.ok,
  async fn() {
    const nb = notebook(['setTimeout(() => console.log("tick"), 10); 1', "2"]);
    await withNotebook(nb, async (input, output) => {
      const { cells } = await executeNotebook(input, output, quiet);
      assert.equal(cells, 2);
    });
  },
});

for (
  const [what, text, reason] of [
    ["invalid JSON", "{not json", /: not a valid notebook: invalid JSON: .*line 1 column 2/],
    ["an nbformat error", '{"cells": [], "nbformat": 4}', /: not a valid notebook: .*metadata/],
    [
      "a cell missing its source",
      '{"cells": [{"cell_type": "code", "metadata": {}, "outputs": []}], "metadata": {}, ' +
      '"nbformat": 4, "nbformat_minor": 5}',
      /: not a valid notebook: .*source/,
    ],
    ["JSON that is no notebook", "[1, 2]", /: not a valid notebook: /],
  ] as const
) {
  Deno.test({
    name: `nbexec.py and executeNotebook() report ${what} in one line, with no traceback`,
    ignore: !tooling.ok,
    async fn() {
      await withNotebook(text, async (input, output) => {
        const { code, stderr } = await new Deno.Command("/usr/bin/python3", {
          args: [NBEXEC, input, output],
          stdout: "null",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(stderr).trim();
        assert.notEqual(code, 0);
        assert.equal(err.split("\n").length, 1, err);
        assert.ok(err.startsWith(`${input}: not a valid notebook: `), err);
        assert.match(err, reason);
        assert.doesNotMatch(err, /Traceback/);
        await assert.rejects(executeNotebook(input, output, quiet), (e: Error) => {
          assert.equal(e.message, err);
          return true;
        });
      });
    },
  });
}
