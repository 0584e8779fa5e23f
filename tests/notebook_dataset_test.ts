/**
 * The notebooks' dataset parameter: `GRADPROM_DATASET` (with `GRADPROM_DATA`) runs a notebook's
 * experiments on another dataset, here the generic `folder` (your own images) on a small folder
 * of PNGs written with sharp. Checks the parameter (an unknown id refused with the known ones,
 * `folder` without its folder, nothing set: no change), a table whose task the folder lacks,
 * and the Table 1 notebook executed end to end on the folder (smoke profile) with every run on
 * it and nothing written into the folder.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import sharp from "sharp";
import { notebookParams } from "../lib/experiments/report.ts";
import { experimentReport } from "../lib/experiments/report.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { defaultLockPath } from "../lib/data/manifest.ts";
import { datasetIds } from "../lib/data/registry.ts";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { checkedCodeCells, executeSmoke, shownMarkdown } from "./_notebook_testing.ts";

/** Writes `images/` (12 random 20×24 RGB PNGs) and `labels.csv` (two classes) under `root`. */
async function writeFolder(root: string): Promise<void> {
  await Deno.mkdir(join(root, "images"), { recursive: true });
  const rows = ["image,label"];
  let state = 7;
  const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) % 256;
  for (let k = 0; k < 12; k++) {
    const px = Uint8Array.from({ length: 20 * 24 * 3 }, rand);
    const name = `p${`${k}`.padStart(2, "0")}.png`;
    await sharp(px, { raw: { width: 24, height: 20, channels: 3 } }).png()
      .toFile(join(root, "images", name));
    rows.push(`${name},${k % 2 ? "nevus" : "melanoma"}`);
  }
  await Deno.writeTextFile(join(root, "labels.csv"), rows.join("\n") + "\n");
}

/** Every entry under `dir`, with the SHA-256 of every file. */
async function checksumListing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) {
        out.push(`${relative(dir, p)}/`);
        await walk(p);
      } else {
        const sum = createHash("sha256").update(await Deno.readFile(p)).digest("hex");
        out.push(`${relative(dir, p)} ${sum}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

/** Runs `fn` with the environment variables `vars` set (undefined: unset), then restores them. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      x === undefined ? Deno.env.delete(k) : Deno.env.set(k, x);
    }
  };
  set(vars);
  try {
    return fn();
  } finally {
    set(before);
  }
}

Deno.test("notebookParams() reads GRADPROM_DATASET: unknown ids and folder without GRADPROM_DATA refused", () => {
  const none = { GRADPROM_DATASET: undefined, GRADPROM_DATA: undefined };
  // Nothing set: the parameters are those of before (no dataset key).
  assert.deepEqual(
    withEnv(none, () => notebookParams({ profile: "smoke", seeds: 1 })),
    { profile: "smoke", seeds: 1, dataRoot: null },
  );
  assert.throws(
    () => withEnv({ ...none, GRADPROM_DATASET: "mnist" }, () => notebookParams()),
    (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^Expected GRADPROM_DATASET to be one of /);
      for (const id of datasetIds()) assert.ok(e.message.includes(id), id);
      assert.match(e.message, /but found "mnist"$/);
      return true;
    },
  );
  assert.throws(
    () => withEnv({ ...none, GRADPROM_DATASET: "folder" }, () => notebookParams()),
    /GRADPROM_DATASET folder needs GRADPROM_DATA/,
  );
  assert.deepEqual(
    withEnv(
      { GRADPROM_DATASET: "folder", GRADPROM_DATA: "/data/mine" },
      () => notebookParams({ profile: "smoke" }),
    ),
    { profile: "smoke", seeds: 1, dataRoot: "/data/mine", dataset: "folder" },
  );
});

Deno.test("experimentReport() on a dataset without the table's task says which task is missing", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-nb-dataset-" });
  try {
    const root = join(tmp, "mine");
    await writeFolder(root);
    await assert.rejects(
      experimentReport("table2-isic-seg-denoise", {
        profile: "smoke",
        dataset: "folder",
        dataRoot: root,
        cache: new ResultsCache(join(tmp, "cache")),
        runMissing: false,
      }),
      /Expected dataset folder to have task segmentation \(of the grid\) but it has diagnosis$/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

const tooling = await checkNotebookTooling();
Deno.test({
  name: "Table 1 notebook with GRADPROM_DATASET=folder runs every run on the folder (smoke)",
  ignore: !tooling.ok,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-nb-dataset-" });
    const root = join(tmp, "mine");
    try {
      await writeFolder(root);
      const before = await checksumListing(root);
      const cache = join(tmp, "cache");
      const cells = await executeSmoke("table1_isic_denoise", tmp, cache, 600, {
        GRADPROM_DATASET: "folder",
        GRADPROM_DATA: root,
        GRADPROM_WORKERS: "1",
      });
      const code = checkedCodeCells(cells);
      const md = shownMarkdown(code).join("\n");
      assert.match(md, /\| Setting \| Method \| PSNR \(dB\) \|/);
      assert.match(md, /GradProm/);
      const runs = [...Deno.readDirSync(join(cache, "runs"))].filter((e) =>
        e.name.endsWith(".json")
      );
      assert.ok(runs.length > 0);
      for (const e of runs) {
        const r = JSON.parse(await Deno.readTextFile(join(cache, "runs", e.name)));
        assert.equal(r.config.data.dataset, "folder", e.name);
        assert.equal(r.config.data.root, root, e.name);
        assert.equal(r.config.vr.classes, 2, e.name);
      }
      assert.deepEqual(
        await checksumListing(root),
        before,
        "something was written into the folder",
      );
    } finally {
      await Deno.remove(defaultLockPath("folder", root)).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
