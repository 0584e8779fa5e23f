/**
 * Notebooks are formatted with `deno fmt` like the code. They are excluded from
 * `deno fmt --check` in deno.json because Deno 2.9's check reports a formatted
 * notebook as "not formatted" (with an empty diff) on a fresh checkout, while
 * `deno fmt` itself changes nothing; so this test formats a copy and compares.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";

const NOTEBOOKS = [
  ...[...Deno.readDirSync(join(REPO_ROOT, "notebooks"))].map((e) =>
    join(REPO_ROOT, "notebooks", e.name)
  ),
  ...[...Deno.readDirSync(join(REPO_ROOT, "tests", "fixtures", "notebooks"))].map((e) =>
    join(REPO_ROOT, "tests", "fixtures", "notebooks", e.name)
  ),
].filter((p) => p.endsWith(".ipynb"));

Deno.test("notebooks are deno-fmt formatted", async () => {
  assert.ok(NOTEBOOKS.length >= 3);
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-fmt-" });
  try {
    for (const nb of NOTEBOOKS) {
      const copy = join(tmp, basename(nb));
      await Deno.copyFile(nb, copy);
      const out = await new Deno.Command(Deno.execPath(), {
        // The copy lives outside the repository: give it deno.json's line width explicitly.
        args: ["fmt", "--no-config", "--line-width", "100", copy],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(
        await Deno.readTextFile(copy),
        await Deno.readTextFile(nb),
        `${nb} is not formatted: run deno fmt ${nb}`,
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
