/**
 * Executes the fixture notebooks on the real Deno kernel through `tools/nbexec.py`.
 *
 * Skipped (with the reason printed) only when `/usr/bin/python3` lacks nbclient.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";
import { Rng } from "../lib/util/rng.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/notebooks/", import.meta.url));
const NBEXEC = fileURLToPath(new URL("../tools/nbexec.py", import.meta.url));
const RUNS = 5;

const tooling = await checkNotebookTooling();
if (!tooling.ok) {
  console.log(
    `notebook_exec_test: skipped, /usr/bin/python3 lacks ${tooling.missing.join(", ")} ` +
      `(apt-get install -y --no-install-recommends ${tooling.missing.join(" ")})`,
  );
}

// deno-lint-ignore no-explicit-any
type Output = Record<string, any>;
// deno-lint-ignore no-explicit-any
type Cell = Record<string, any>;

/** A cell's outputs reduced to what the checks compare: stream texts and rich outputs. */
function summarize(cell: Cell): { stdout: string; stderr: string; rich: Output[] } {
  const text = (name: string) =>
    cell.outputs
      .filter((o: Output) => o.output_type === "stream" && o.name === name)
      .map((o: Output) => (Array.isArray(o.text) ? o.text.join("") : o.text))
      .join("");
  return {
    stdout: text("stdout"),
    stderr: text("stderr"),
    rich: cell.outputs.filter((o: Output) => o.output_type !== "stream"),
  };
}

function joined(value: string | string[]): string {
  return Array.isArray(value) ? value.join("") : value;
}

/** Checks every code cell of an executed smoke.ipynb; returns the problems found. */
function smokeProblems(cells: Cell[]): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => ok || problems.push(what);
  const rngLine = `rng ${new Rng(7).int(1000)}\n`;
  const s = cells.map((c) => (c.cell_type === "code" ? summarize(c) : undefined));

  check(s[1]?.stdout === "hello from deno\n" && s[1].rich.length === 0, "cell 1 console.log");
  check(
    s[2]?.rich.length === 1 && s[2].rich[0].output_type === "execute_result" &&
      joined(s[2].rich[0].data["text/plain"]) === "10",
    "cell 2 execute_result 10",
  );
  const plot = s[3]?.rich[0] ?? {};
  check(
    s[3]?.rich.length === 1 && plot.output_type === "display_data" &&
      plot.data["application/vnd.plotly.v1+json"]?.data?.[0]?.y?.join(",") === "2,4,8" &&
      joined(plot.data["text/html"] ?? "").includes("smoke plot"),
    "cell 3 plotly + html display",
  );
  check(
    s[4]?.rich.length === 1 && s[4].rich[0].output_type === "display_data" &&
      joined(s[4].rich[0].data["text/markdown"] ?? "").includes("Markdown from **Deno**"),
    "cell 4 markdown display",
  );
  check(
    s[5]?.stdout === rngLine && s[5].stderr === "to stderr\n" && s[5].rich.length === 0,
    "cell 5 lib import, stdout and stderr",
  );
  check(cells[6]?.outputs.length === 0, "cell 6 has no output");
  check(
    s[7]?.rich.length === 1 && s[7].rich[0].output_type === "execute_result" &&
      joined(s[7].rich[0].data["text/plain"]).includes("late value 2"),
    "cell 7 awaited execute_result",
  );
  for (const [i, c] of cells.entries()) {
    if (c.cell_type !== "code") continue;
    check(typeof c.execution_count === "number", `cell ${i} execution_count`);
    check(!JSON.stringify(c.outputs).includes("\\u001b["), `cell ${i} has no ANSI codes`);
  }
  return problems;
}

Deno.test({
  name: "executeNotebook() keeps every output of smoke.ipynb, run after run",
  ignore: !tooling.ok,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nbexec_smoke_" });
    try {
      const failures: string[] = [];
      for (let run = 0; run < RUNS; run++) {
        const output = join(dir, `smoke_${run}.ipynb`);
        const lines: string[] = [];
        const result = await executeNotebook(join(FIXTURES, "smoke.ipynb"), output, {
          timeoutSeconds: 120,
          onStderrLine: (line) => lines.push(line),
        });
        assert.equal(result.cells, 7);
        assert.ok(result.seconds > 0);
        assert.equal(lines.filter((l) => /^nbexec: cell \d+ [\d.]+ s$/.test(l)).length, 7);
        const nb = JSON.parse(await Deno.readTextFile(output));
        for (const problem of smokeProblems(nb.cells)) failures.push(`run ${run}: ${problem}`);
      }
      assert.deepEqual(failures, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "executeNotebook() names the failing cell and still writes the partial notebook",
  ignore: !tooling.ok,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nbexec_failing_" });
    try {
      const output = join(dir, "failing.ipynb");
      const lines: string[] = [];
      await assert.rejects(
        executeNotebook(join(FIXTURES, "failing.ipynb"), output, {
          timeoutSeconds: 120,
          onStderrLine: (line) => lines.push(line),
        }),
        (err: Error) => {
          assert.match(err.message, /cell 1 raised Error: deliberate failure in the second cell/);
          assert.match(err.message, /partially executed notebook/);
          return true;
        },
      );
      const nb = JSON.parse(await Deno.readTextFile(output));
      assert.equal(summarize(nb.cells[0]).stdout, "before the failure\n");
      const errors = nb.cells[1].outputs.filter((o: Output) => o.output_type === "error");
      assert.equal(errors.length, 1);
      assert.equal(errors[0].ename, "Error");
      assert.deepEqual(nb.cells[2].outputs, []);
      assert.equal(nb.cells[2].execution_count, null);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nbexec.py refuses to write over its input",
  ignore: !tooling.ok,
  async fn() {
    const smoke = join(FIXTURES, "smoke.ipynb");
    const { code, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: [NBEXEC, smoke, smoke],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 2);
    assert.match(new TextDecoder().decode(stderr), /output must differ from the input/);
  },
});
