import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { readMat } from "../io/mat_v5.ts";
import { LIZARD_DATASET } from "./lizard.ts";
import { generateSyntheticLizard } from "./synthetic_lizard.ts";
import { LIZARD_LAYOUT as L } from "./lizard.ts";

const TINY = { perSource: 2, minSize: 48, maxSize: 64 };

async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else {out.set(
          relative(root, p),
          createHash("sha256").update(await Deno.readFile(p)).digest("hex"),
        );}
    }
  };
  await walk(root);
  return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

Deno.test("generateSyntheticLizard() is byte-identical for a seed and differs across seeds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await hashTree(await generateSyntheticLizard({ ...TINY, dir: join(dir, "a") }));
    const b = await hashTree(await generateSyntheticLizard({ ...TINY, dir: join(dir, "b") }));
    const c = await hashTree(
      await generateSyntheticLizard({ ...TINY, seed: 7, dir: join(dir, "c") }),
    );
    assert.deepEqual(a, b);
    assert.equal(a.size, 10 + 10 + 1 + 2); // pngs, mats, info.csv, README, marker
    assert.notDeepEqual(
      a.get(join(L.labelDir, "crag_1.mat")),
      c.get(join(L.labelDir, "crag_1.mat")),
    );
    assert.ok(a.has(LIZARD_DATASET.synthetic.marker));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateSyntheticLizard() writes the published layout and consistent labels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = await generateSyntheticLizard({ ...TINY, dir: join(dir, "d") });
    const csv = (await Deno.readTextFile(join(root, L.infoCsv))).trim().split("\n");
    assert.equal(csv[0], "Filename,Source,Split");
    assert.equal(csv.length, 11);
    assert.ok(
      csv.includes("glas_2,glas," + csv.find((r) => r.startsWith("glas_2"))!.split(",")[2]),
    );
    await Deno.stat(join(root, L.imageDirs[0], "consep_1.png"));
    await Deno.stat(join(root, L.imageDirs[1], "pannuke_2.png"));
    const m = readMat(join(root, L.labelDir, "dpath_1.mat"));
    assert.deepEqual([...m.keys()], ["inst_map", "id", "class", "bbox", "centroid"]);
    const inst = m.get("inst_map")!, n = m.get("id")!.dims[0];
    assert.ok(n > 0);
    assert.deepEqual(m.get("bbox")!.dims, [n, 4]);
    const ids = new Set(Array.from(inst.data, Number));
    for (let k = 1; k <= n; k++) assert.ok(ids.has(k), `instance ${k} has pixels`);
    assert.equal(Math.max(...ids), n);
    for (const c of m.get("class")!.data) assert.ok(Number(c) >= 1 && Number(c) <= 6);
    // Reused when the marker matches; a foreign folder is refused.
    assert.equal(await generateSyntheticLizard({ ...TINY, dir: root }), root);
    const foreign = join(dir, "real");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "keep.txt"), "x");
    await assert.rejects(
      generateSyntheticLizard({ ...TINY, dir: foreign }),
      /Refusing to replace .*real.*keep\.txt/,
    );
    assert.equal(await Deno.readTextFile(join(foreign, "keep.txt")), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateSyntheticLizard() rejects unknown and bad options", async () => {
  await assert.rejects(generateSyntheticLizard({ bogus: 1 } as never), /Unknown option "bogus"/);
  await assert.rejects(generateSyntheticLizard({ perSource: 0 }), /perSource .* found 0/);
  await assert.rejects(
    generateSyntheticLizard({ minSize: 100, maxSize: 64 }),
    /minSize <= maxSize/,
  );
});
