import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { readMat } from "../io/mat_v5.ts";
import { writeMat } from "../io/mat_v5_write.ts";
import { describeLizardLayout, LIZARD_LAYOUT as L, loadLizard } from "./lizard.ts";
import { generateSyntheticLizard } from "./synthetic_lizard.ts";

await setupBackend({ quiet: true });

const TMP = await Deno.makeTempDir();
const ROOT = await generateSyntheticLizard({
  perSource: 3,
  minSize: 48,
  maxSize: 72,
  dir: join(TMP, "set"),
});
globalThis.addEventListener("unload", () => Deno.removeSync(TMP, { recursive: true }));

async function listing(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const s = await Deno.stat(p);
      out.push(`${p} ${s.size} ${s.mtime?.getTime()}`);
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(root);
  return out.sort();
}

async function copy(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copy(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

Deno.test("loadLizard() reads masks with classes 0-6 at the requested size, without leaks", async () => {
  const before = await listing(ROOT);
  const tensors = tf.memory().numTensors;
  const ds = await loadLizard({ root: ROOT, size: [32, 40] });
  assert.equal(ds.length, 15);
  assert.equal(ds.classNames.length, 7);
  const batch = await ds.loadAll();
  assert.deepEqual(batch.images.shape, [15, 32, 40, 3]);
  assert.deepEqual(batch.masks!.shape, [15, 32, 40, 1]);
  const px = await batch.images.data(), m = await batch.masks!.data();
  assert.ok(px.every((v) => v >= 0 && v <= 1));
  const seen = new Set(m);
  assert.ok([...seen].every((v) => Number.isInteger(v) && v >= 0 && v <= 6));
  assert.ok(seen.size >= 6, `classes seen: ${[...seen]}`);
  tf.dispose(batch);
  let n = 0;
  for await (const b of ds.batches(4, { shuffle: true })) {
    n += b.ids.length;
    tf.dispose(b);
  }
  assert.equal(n, 15);
  assert.equal(tf.memory().numTensors, tensors);
  assert.deepEqual(await listing(ROOT), before, "nothing written into the dataset folder");
});

/**
 * The majority nucleus class of a label file, counted here from its pixels: each
 * `inst_map` pixel counts for its instance's `class`; ties go to the lower class; 0 if the
 * tile has no nucleus pixels.
 */
function pixelMajority(path: string): number {
  const v = readMat(path, { variables: ["inst_map", "id", "class"] });
  const inst = v.get("inst_map")!, id = v.get("id")!, cls = v.get("class")!;
  const pixels = new Map<number, number>(); // instance id → its pixel count
  for (const x of inst.data) {
    if (Number(x) !== 0) pixels.set(Number(x), (pixels.get(Number(x)) ?? 0) + 1);
  }
  const perClass = new Array(7).fill(0);
  for (let k = 0; k < id.data.length; k++) {
    perClass[Number(cls.data[k])] += pixels.get(Number(id.data[k])) ?? 0;
  }
  let best = 0;
  for (let c = 1; c <= 6; c++) if (perClass[c] > perClass[best]) best = c;
  return best;
}

Deno.test("loadLizard() diagnosis label of every tile is its majority class by pixels", async () => {
  const root = join(TMP, "majority");
  await copy(ROOT, root);
  const mat = (name: string) => join(root, L.labelDir, `${name}.mat`);
  const dims = (name: string) => readMat(mat(name)).get("inst_map")!.dims.slice(0, 2);
  // glas_1: one class-2 nucleus of 10 pixels against five class-4 nuclei of 9 pixels in all
  // (two of them without pixels): class 2 by pixels, class 4 by instances.
  const [h, w] = dims("glas_1");
  const inst = new Array(h * w).fill(0);
  for (let k = 0; k < 10; k++) inst[k] = 1;
  for (let k = 0; k < 9; k++) inst[20 + k] = 2 + Math.floor(k / 3);
  await Deno.writeFile(
    mat("glas_1"),
    writeMat({
      inst_map: { className: "double", dims: [h, w], data: inst },
      id: { className: "double", dims: [6, 1], data: [1, 2, 3, 4, 5, 6] },
      class: { className: "double", dims: [6, 1], data: [2, 4, 4, 4, 4, 4] },
    }),
  );
  assert.equal(pixelMajority(mat("glas_1")), 2);
  // dpath_3: 6 pixels of class 5 and 6 of class 3, a tie: the lower class, 3.
  const [h3, w3] = dims("dpath_3");
  const tie = new Array(h3 * w3).fill(0);
  for (let k = 0; k < 12; k++) tie[k] = k < 6 ? 1 : 2;
  await Deno.writeFile(
    mat("dpath_3"),
    writeMat({
      inst_map: { className: "double", dims: [h3, w3], data: tie },
      id: { className: "double", dims: [2, 1], data: [1, 2] },
      class: { className: "double", dims: [2, 1], data: [5, 3] },
    }),
  );
  assert.equal(pixelMajority(mat("dpath_3")), 3);
  // crag_2: an instance listed in `id` but no nucleus pixel: left out of diagnosis.
  const [h2, w2] = dims("crag_2");
  await Deno.writeFile(
    mat("crag_2"),
    writeMat({
      inst_map: { className: "double", dims: [h2, w2], data: new Array(h2 * w2).fill(0) },
      id: { className: "double", dims: [1, 1], data: [1] },
      class: { className: "double", dims: [1, 1], data: [3] },
    }),
  );

  const ds = await loadLizard({ root, size: [16, 16], task: "diagnosis" });
  assert.equal(ds.classNames.length, 6);
  // `classification`, the old name of the task, reads the same labels.
  const old = await loadLizard({ root, size: [16, 16], task: "classification" });
  assert.equal(old.task, "diagnosis");
  assert.deepEqual([...old.labels!], [...ds.labels!]);
  const all = await loadLizard({ root, size: [16, 16] });
  const expected = all.ids.map((id) => ({ id, c: pixelMajority(mat(id)) }));
  assert.deepEqual(ds.ids, expected.filter((e) => e.c > 0).map((e) => e.id));
  assert.deepEqual([...ds.labels!], expected.filter((e) => e.c > 0).map((e) => e.c - 1));
  assert.deepEqual(ds.excludedIds, ["crag_2"]);
  assert.equal(ds.labels![ds.ids.indexOf("glas_1")], 1);
  assert.equal(ds.labels![ds.ids.indexOf("dpath_3")], 2);
  assert.ok(new Set(ds.labels).size >= 5, `labels ${[...ds.labels!]}`);
});

Deno.test("loadLizard() splits by fold: disjoint, covering, deterministic", async () => {
  const get = async (split: "train" | "val" | "test", seed = 0) =>
    (await loadLizard({ root: ROOT, size: [8, 8], split, seed })).ids;
  const [train, val, test] = [await get("train"), await get("val"), await get("test")];
  const all = [...train, ...val, ...test];
  assert.equal(new Set(all).size, 15);
  assert.equal(all.length, 15);
  const t = await loadLizard({ root: ROOT, size: [8, 8], split: "test" });
  assert.ok(t.folds.every((f) => f === 3));
  assert.deepEqual(await get("val"), val);
  const byFold = await loadLizard({ root: ROOT, size: [8, 8], split: "val", valFolds: [2] });
  assert.ok(byFold.folds.every((f) => f === 2));
  await assert.rejects(
    loadLizard({ root: ROOT, size: [8, 8], valFolds: [3] }),
    /valFolds and testFolds to be disjoint/,
  );
  const r = await describeLizardLayout(ROOT);
  assert.equal(r.tiles, 15);
  assert.equal(Object.values(r.sources).reduce((a, b) => a + b, 0), 15);
});

Deno.test("loadLizard() errors name the broken file", async (t) => {
  const broken = async (name: string, breakIt: (root: string) => Promise<void>, re: RegExp) => {
    await t.step(name, async () => {
      const root = join(TMP, `broken-${name.replace(/\W+/g, "-")}`);
      await copy(ROOT, root);
      await breakIt(root);
      const load = async () => {
        const ds = await loadLizard({ root, size: [8, 8] });
        for (let i = 0; i < ds.length; i++) await ds.item(i);
      };
      await assert.rejects(load, re);
    });
  };
  await broken(
    "missing mat",
    (r) => Deno.remove(join(r, L.labelDir, "crag_2.mat")),
    /no label file .*crag_2\.mat/,
  );
  await broken(
    "both image folders missing",
    async (r) => {
      await Deno.remove(join(r, "lizard_images1"), { recursive: true });
      await Deno.remove(join(r, "lizard_images2"), { recursive: true });
    },
    /Missing image folder lizard_images1\/Lizard_Images1 and lizard_images2\/Lizard_Images2 .*found at the top: .*lizard_labels/,
  );
  await broken(
    "an image missing while both image folders are there",
    async (r) => {
      const dir = join(r, "lizard_images2", "Lizard_Images2");
      const first = [...Deno.readDirSync(dir)].map((e) => e.name).sort()[0];
      await Deno.remove(join(dir, first));
    },
    /1 tiles listed in .*info\.csv have no image/,
  );
  await broken(
    "bad header",
    async (r) => {
      const p = join(r, L.infoCsv);
      await Deno.writeTextFile(p, (await Deno.readTextFile(p)).replace("Split", "Fold"));
    },
    /info\.csv .*lacks Split/,
  );
  await broken(
    "bad class",
    (r) =>
      Deno.writeFile(
        join(r, L.labelDir, "glas_1.mat"),
        writeMat({
          inst_map: { className: "double", dims: [2, 2], data: [0, 1, 1, 0] },
          id: { className: "double", dims: [1, 1], data: [1] },
          class: { className: "double", dims: [1, 1], data: [9] },
        }),
      ),
    /glas_1\.mat: expected class values 1-6 but found 9/,
  );
  await broken(
    "size mismatch",
    (r) =>
      Deno.writeFile(
        join(r, L.labelDir, "glas_1.mat"),
        writeMat({
          inst_map: { className: "double", dims: [2, 2], data: [0, 1, 1, 0] },
          id: { className: "double", dims: [1, 1], data: [1] },
          class: { className: "double", dims: [1, 1], data: [2] },
        }),
      ),
    /glas_1\.mat: inst_map is 2x2 but its image .*glas_1\.png is/,
  );
});

Deno.test("loadLizard() reads a partial copy with one image folder, naming the tiles left out", async () => {
  const root = join(TMP, "images1-only");
  await copy(ROOT, root);
  const kept = [...Deno.readDirSync(join(root, L.imageDirs[0]))].map((e) => e.name.slice(0, -4));
  const gone = [...Deno.readDirSync(join(root, L.imageDirs[1]))].map((e) => e.name.slice(0, -4));
  await Deno.remove(join(root, "lizard_images2"), { recursive: true });
  const ds = await loadLizard({ root, size: [8, 8] });
  assert.deepEqual([...ds.ids], kept.sort());
  assert.equal(ds.notes.length, 1);
  assert.match(ds.notes[0], /lizard_images2\/Lizard_Images2 not in .* \(a partial copy\)/);
  for (const id of gone) assert.ok(ds.notes[0].includes(id), `${id} not named: ${ds.notes[0]}`);
  const layout = await describeLizardLayout(root);
  assert.equal(layout.tiles, kept.length);
  assert.deepEqual(layout.notes, ds.notes);
  assert.deepEqual((await loadLizard({ root: ROOT, size: [8, 8] })).notes, []);
});
