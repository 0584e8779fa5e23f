/**
 * Every notebook's code type-checks, and defines no function of its own (a
 * notebook only loads results and shows them through library calls, so that
 * notebooks, exported figures and the reproduce report cannot disagree). The
 * Deno kernel does not report type errors, so each notebook's code cells are
 * joined into one module (beside the notebook, so relative imports resolve)
 * and `deno check`ed together. A cell's last expression is its display value;
 * as a statement it type-checks the same.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { NOTEBOOKS } from "../lib/experiments/notebook_index.ts";
import { cellSource, readCells } from "./_notebook_testing.ts";

const dir = join(REPO_ROOT, "notebooks");
const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".ipynb"))
  .sort();

Deno.test("every notebook is in the notebook index that reproduce runs", () => {
  assert.deepEqual(
    names.map((n) => n.replace(/\.ipynb$/, "")),
    NOTEBOOKS.map((n) => n.name).sort(),
  );
});

Deno.test("notebooks only load and show: their code defines no function of its own", async () => {
  for (const name of names) {
    for (const cell of (await readCells(join(dir, name))).filter((c) => c.cell_type === "code")) {
      const code = cellSource(cell);
      assert.doesNotMatch(
        code,
        /\bfunction\b|=>/,
        `${name}: a cell defines a function; put it in the library (lib/experiments/report.ts) ` +
          `and call it:\n${code}`,
      );
    }
  }
});

Deno.test("every notebook's code type-checks", async () => {
  const files: string[] = [];
  try {
    for (const name of names) {
      const code = (await readCells(join(dir, name))).filter((c) => c.cell_type === "code")
        .map(cellSource);
      const file = join(
        dir,
        `.typecheck_${name.replace(/\.ipynb$/, "")}_${crypto.randomUUID().slice(0, 8)}.ts`,
      );
      await Deno.writeTextFile(file, code.join(";\n\n") + "\nexport {};\n");
      files.push(file);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", ...files],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    for (const f of files) await Deno.remove(f).catch(() => {});
  }
});
