// The kernel runs are in tests/notebook_exec_test.ts; these check the argument handling.
import assert from "node:assert/strict";
import { checkNotebookTooling, executeNotebook } from "./execute_notebook.ts";

Deno.test("executeNotebook() refuses to write over its input", async () => {
  await assert.rejects(
    executeNotebook("a/b.ipynb", "a/../a/b.ipynb"),
    /Expected an output path other than the input but found .*a\/b\.ipynb/,
  );
});

Deno.test("executeNotebook() names a missing input", async () => {
  await assert.rejects(
    executeNotebook("/nonexistent/nb.ipynb", "/tmp/nb_out.ipynb"),
    /Expected a notebook file at \/nonexistent\/nb\.ipynb but found none/,
  );
});

Deno.test("executeNotebook() validates its options", async () => {
  await assert.rejects(
    executeNotebook("x.ipynb", "y.ipynb", { timeoutSeconds: 0 }),
    /Expected timeoutSeconds > 0 but found 0/,
  );
  await assert.rejects(
    executeNotebook("x.ipynb", "y.ipynb", { quietWindowSeconds: -1 }),
    /Expected quietWindowSeconds >= 0 but found -1/,
  );
});

Deno.test("checkNotebookTooling() lists missing Debian packages", async () => {
  const { ok, missing } = await checkNotebookTooling();
  assert.equal(ok, missing.length === 0);
  for (const name of missing) assert.match(name, /^python3(-[a-z-]+)?$/);
});
