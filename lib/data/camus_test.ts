import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { describeCamusLayout, loadCamus } from "./camus.ts";
import { generateSyntheticCamus } from "./synthetic_camus.ts";

await setupBackend({ quiet: true });
const paths = await generateSyntheticCamus();

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else out.push(`${p}:${(await Deno.stat(p)).mtime?.getTime()}`);
    }
  };
  await walk(dir);
  return out.sort();
}

Deno.test("loadCamus() reads the NIfTI release: counts, shapes, ranges, labels", async () => {
  const before = tf.memory().numTensors;
  const snap = await snapshot(paths.root);
  const ds = await loadCamus({ root: paths.nifti, size: [64, 48] });
  assert.equal(ds.release, "nifti");
  assert.equal(ds.length, 12 * 4);
  const b = await ds.loadAll();
  assert.deepEqual(b.images.shape, [48, 64, 48, 1]);
  assert.deepEqual(b.masks.shape, [48, 64, 48, 1]);
  const img = b.images.dataSync(), msk = b.masks.dataSync(), lab = b.labels.dataSync();
  assert.ok(img.every((v) => v >= 0 && v <= 1));
  assert.deepEqual([...new Set(msk)].sort(), [0, 1, 2, 3]);
  assert.deepEqual([...new Set(lab)].sort(), [0, 1]);
  assert.equal(b.ids[0], "patient0001_2CH_ED");
  tf.dispose(b);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(await snapshot(paths.root), snap, "nothing written into the dataset");
});

Deno.test("loadCamus() orientation: sector apex at the top, LV above LA", async () => {
  const ds = await loadCamus({ root: paths.nifti, size: [64, 48], views: ["2CH"] });
  for (let i = 0; i < 4; i++) {
    const { image, mask } = await ds.item(i);
    const [h, w] = ds.size;
    // top corners are outside the fan; the bottom row centre is inside it
    assert.equal(image[0], 0);
    assert.equal(image[w - 1], 0);
    let lvY = 0, lvN = 0, laY = 0, laN = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = mask[y * w + x];
        if (c === 1) (lvY += y, lvN++);
        if (c === 3) (laY += y, laN++);
      }
    }
    assert.ok(lvY / lvN < laY / laN, "LV centroid above LA centroid");
    assert.ok(lvY / lvN < h / 2);
  }
});

Deno.test("loadCamus() follows the official split lists, disjoint", async () => {
  const parts = await Promise.all(
    (["train", "val", "test"] as const).map((split) =>
      loadCamus({ root: paths.nifti, size: [32, 32], split })
    ),
  );
  const sets = parts.map((p) => new Set(p.patients));
  assert.deepEqual(parts.map((p) => sets[parts.indexOf(p)].size), [8, 2, 2]);
  for (const p of sets[0]) assert.ok(!sets[1].has(p) && !sets[2].has(p));
  const listed = (await Deno.readTextFile(
    join(paths.nifti, "database_split", "subgroup_testing.txt"),
  )).trim().split("\n");
  assert.deepEqual([...sets[2]].sort(), listed);
});

Deno.test("loadCamus() reads the legacy MetaImage release with a seeded patient split", async () => {
  const all = await loadCamus({ root: paths.mhd, size: [32, 32], label: "quality" });
  assert.equal(all.release, "mhd");
  assert.equal(all.length, 10 * 4); // testing/ (no masks) ignored
  assert.deepEqual([...new Set(all.labels)].sort(), [0, 1, 2]);
  const a = await describeCamusLayout(paths.mhd, { seed: 3 });
  const b = await describeCamusLayout(paths.mhd, { seed: 3 });
  assert.deepEqual(a.splits, b.splits);
  assert.equal(a.splits.train.length + a.splits.val.length + a.splits.test.length, 10);
  const test = await loadCamus({ root: paths.mhd, size: [32, 32], split: "test", seed: 3 });
  assert.deepEqual([...new Set(test.patients)], a.splits.test);
  // same pixels as the NIfTI copy of the same patient
  const n = await loadCamus({ root: paths.nifti, size: [32, 32], label: "quality" });
  const i = n.ids.indexOf("patient0001_4CH_ES"), j = all.ids.indexOf("patient0001_4CH_ES");
  assert.deepEqual((await n.item(i)).image, (await all.item(j)).image);
  assert.equal(n.labels[i], all.labels[j]);
});

Deno.test("loadCamus() errors name what is missing or wrong", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const small = await generateSyntheticCamus({
      dir: join(tmp, "gen"),
      patients: 3,
      width: 24,
      height: 32,
    });
    const copy = join(tmp, "copy");
    await Deno.mkdir(copy);
    await new Deno.Command("cp", {
      args: ["-r", join(small.nifti, "database_nifti"), join(small.nifti, "database_split"), copy],
    }).output();
    const victim = join(copy, "database_nifti", "patient0002", "patient0002_4CH_ES_gt.nii.gz");
    await Deno.remove(victim);
    await assert.rejects(
      loadCamus({ root: copy, size: [16, 16] }),
      /Missing patient0002_4CH_ES_gt\.nii\.gz in .*patient0002/,
    );
    await Deno.copyFile(
      join(copy, "database_nifti", "patient0002", "patient0002_4CH_ES.nii.gz"),
      victim,
    );
    const img = join(copy, "database_nifti", "patient0003", "patient0003_2CH_ED.nii.gz");
    await Deno.writeFile(img, (await Deno.readFile(img)).slice(0, 40));
    const ds = await loadCamus({ root: copy, size: [16, 16] });
    await assert.rejects(
      ds.item(ds.ids.indexOf("patient0003_2CH_ED")),
      /patient0003_2CH_ED\.nii\.gz/,
    );
    await assert.rejects(
      ds.item(ds.ids.indexOf("patient0002_4CH_ES")),
      /Expected mask values 0-3 in .*patient0002_4CH_ES_gt/,
    );
    await Deno.writeTextFile(
      join(copy, "database_split", "subgroup_validation.txt"),
      "patient0099\n",
    );
    await assert.rejects(
      loadCamus({ root: copy, size: [16, 16] }),
      /subgroup_validation\.txt names patient0099/,
    );
    await assert.rejects(
      loadCamus({ root: tmp, size: [16, 16] }),
      /Missing folder database_nifti .*found: copy, gen/,
    );
    await assert.rejects(
      loadCamus({ root: copy, size: [16, 16], views: ["3CH" as "2CH"] }),
      /Expected views/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadCamus() batches are seeded and leak-free", async () => {
  const ds = await loadCamus({ root: paths.nifti, size: [32, 32], split: "val" });
  const before = tf.memory().numTensors;
  const ids: string[][] = [];
  for await (const b of ds.batches(3, { shuffle: true, seed: 1 })) {
    ids.push(b.ids);
    tf.dispose(b);
  }
  const again: string[][] = [];
  for await (const b of ds.batches(3, { shuffle: true, seed: 1 })) {
    again.push(b.ids);
    tf.dispose(b);
  }
  assert.deepEqual(ids, again);
  assert.equal(ids.flat().length, 8);
  assert.equal(tf.memory().numTensors, before);
});
