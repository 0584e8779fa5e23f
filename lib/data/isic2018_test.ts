import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { ISIC2018_CLASSES, loadIsic2018 } from "./isic2018.ts";
import { ISIC2018_LAYOUT as L } from "./isic2018_classes.ts";
import { generateSyntheticIsic2018 } from "./synthetic_isic2018.ts";

await tf.setBackend("cpu");

/** The default embedded set (generated once into <repo>/.cache, then reused). */
const root = await generateSyntheticIsic2018();

/** A tiny generated set, copied per test before breaking it. */
const scratch = await Deno.makeTempDir({ prefix: "isic2018_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
const tiny = await generateSyntheticIsic2018({
  dir: join(scratch, "tiny"),
  task1Count: 6,
  task3PerClass: 3,
  width: 32,
  height: 24,
});
let copies = 0;
async function tinyCopy(): Promise<string> {
  const dir = join(scratch, `copy${copies++}`);
  await cp(tiny, dir, { recursive: true });
  return dir;
}

Deno.test("loadIsic2018() reads the embedded diagnosis set: counts, balanced labels, shapes, ranges", async () => {
  assert.ok(root.endsWith(join(".cache", "data", "isic2018-synthetic-v1")), root);
  const ds = await loadIsic2018({ root, task: "diagnosis", size: [24, 32] });
  assert.equal(ds.length, 280);
  assert.deepEqual(ds.classNames, ISIC2018_CLASSES);
  assert.equal(ds.ids[0], "ISIC_0024306");
  assert.deepEqual([...ds.ids], [...ds.ids].sort());
  const counts = new Array(7).fill(0);
  for (const l of ds.labels!) counts[l]++;
  assert.deepEqual(counts, new Array(7).fill(40));
  const before = tf.memory().numTensors;
  const all = await ds.loadAll();
  assert.deepEqual(all.images.shape, [280, 24, 32, 3]);
  assert.deepEqual(all.labels!.shape, [280]);
  assert.equal(all.labels!.dtype, "int32");
  assert.deepEqual([...all.labels!.dataSync()], [...ds.labels!]);
  const [lo, hi] = [tf.min(all.images), tf.max(all.images)];
  assert.ok(lo.dataSync()[0] >= 0 && hi.dataSync()[0] <= 1);
  assert.ok(hi.dataSync()[0] - lo.dataSync()[0] > 0.8, "uses the value range");
  tf.dispose([all, lo, hi]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("loadIsic2018() reads the embedded segmentation set: masks are 0/1 and mark the lesion", async () => {
  const ds = await loadIsic2018({ root, task: "segmentation", size: [48, 64] });
  assert.equal(ds.length, 120);
  assert.equal(ds.labels, undefined);
  assert.deepEqual(ds.classNames, ["background", "lesion"]);
  assert.equal(ds.ids[0], "ISIC_0000000");
  const all = await ds.loadAll();
  assert.deepEqual(all.images.shape, [120, 48, 64, 3]);
  assert.deepEqual(all.masks!.shape, [120, 48, 64, 1]);
  const m = all.masks!.dataSync(), img = all.images.dataSync();
  assert.deepEqual([...new Set(m)].sort(), [0, 1]);
  // The lesion differs from the skin around it: per image, inside vs outside mean colour.
  let clear = 0;
  for (let n = 0; n < 120; n++) {
    const inside = [0, 0, 0], outside = [0, 0, 0];
    let ni = 0, no = 0;
    for (let p = 0; p < 48 * 64; p++) {
      const k = n * 48 * 64 + p, acc = m[k] ? inside : outside;
      for (let c = 0; c < 3; c++) acc[c] += img[k * 3 + c];
      if (m[k]) ni++;
      else no++;
    }
    assert.ok(ni > 0 && no > 0, `image ${n} has both lesion and skin`);
    const d = Math.hypot(...inside.map((v, c) => v / ni - outside[c] / no));
    if (d > 0.1) clear++;
  }
  assert.ok(clear >= 110, `${clear} of 120 lesions stand out`);
  tf.dispose(all);
});

Deno.test("loadIsic2018() splits deterministically, disjointly and stratified by class", async () => {
  const opts = { root, task: "diagnosis", size: [8, 8] } as const;
  const parts = await Promise.all(
    (["train", "val", "test"] as const).map((split) => loadIsic2018({ ...opts, split, seed: 1 })),
  );
  assert.deepEqual(parts.map((p) => p.length), [196, 28, 56]);
  for (const [p, perClass] of [[parts[0], 28], [parts[1], 4], [parts[2], 8]] as const) {
    const counts = new Array(7).fill(0);
    for (const l of p.labels!) counts[l]++;
    assert.deepEqual(counts, new Array(7).fill(perClass));
  }
  const union = new Set(parts.flatMap((p) => [...p.ids]));
  assert.equal(union.size, 280);
  const again = await loadIsic2018({ ...opts, split: "test", seed: 1 });
  assert.deepEqual(again.ids, parts[2].ids);
  const other = await loadIsic2018({ ...opts, split: "test", seed: 2 });
  assert.notDeepEqual(other.ids, parts[2].ids);
  const seg = await Promise.all(
    (["train", "val", "test"] as const).map((split) =>
      loadIsic2018({ root, task: "segmentation", size: [8, 8], split })
    ),
  );
  assert.deepEqual(seg.map((p) => p.length), [84, 12, 24]);
  assert.equal(new Set(seg.flatMap((p) => [...p.ids])).size, 120);
  // A copy written in another order (so listed in another order) splits the same way.
  const copy = join(scratch, "reordered");
  for (const d of [L.task3Input, L.task3GroundTruth]) {
    await Deno.mkdir(join(copy, d), { recursive: true });
    const names = [];
    for await (const e of Deno.readDir(join(tiny, d))) names.push(e.name);
    for (const n of names.sort().reverse()) await Deno.copyFile(join(tiny, d, n), join(copy, d, n));
  }
  for (const split of ["train", "val", "test"] as const) {
    const a = await loadIsic2018({ root: tiny, task: "diagnosis", size: [8, 8], split, seed: 4 });
    const b = await loadIsic2018({ root: copy, task: "diagnosis", size: [8, 8], split, seed: 4 });
    assert.deepEqual(b.ids, a.ids);
  }
});

Deno.test("IsicDataset.batches() yields NHWC batches, seeded shuffles, no leaks; limit keeps the class mix", async () => {
  const ds = await loadIsic2018({ root, task: "diagnosis", size: [16, 16], limit: 35, seed: 3 });
  assert.equal(ds.length, 35);
  const counts = new Array(7).fill(0);
  for (const l of ds.labels!) counts[l]++;
  assert.deepEqual(counts, new Array(7).fill(5));
  const before = tf.memory().numTensors;
  const sizes: number[] = [], seen: string[] = [];
  for await (const b of ds.batches(8)) {
    sizes.push(b.images.shape[0]);
    assert.deepEqual(b.images.shape.slice(1), [16, 16, 3]);
    assert.equal(b.labels!.shape[0], b.ids.length);
    seen.push(...b.ids);
    tf.dispose(b);
  }
  assert.deepEqual(sizes, [8, 8, 8, 8, 3]);
  assert.deepEqual(seen, [...ds.ids]);
  const order = async (o: { shuffle?: boolean; seed?: number; dropRemainder?: boolean }) => {
    const ids: string[] = [];
    for await (const b of ds.batches(8, o)) {
      ids.push(...b.ids);
      tf.dispose(b);
    }
    return ids;
  };
  const s1 = await order({ shuffle: true, seed: 9 }), s2 = await order({ shuffle: true, seed: 9 });
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1, [...ds.ids]);
  assert.deepEqual([...s1].sort(), [...ds.ids]);
  const e1 = await order({ shuffle: true }), e2 = await order({ shuffle: true });
  assert.notDeepEqual(e1, e2, "successive unseeded epochs differ");
  assert.equal((await order({ dropRemainder: true })).length, 32);
  // Breaking out early must not leak or leave a pending decode behind.
  for await (const b of ds.batches(4)) {
    tf.dispose(b);
    break;
  }
  assert.equal(tf.memory().numTensors, before);
  const item = await ds.item(0);
  assert.equal(item.image.length, 16 * 16 * 3);
  assert.equal(item.label, ds.labels![0]);
  assert.throws(() => ds.batches(0), /Expected batchSize to be a positive integer but found 0/);
  // Without a cache (cacheBytes 0) the same pixels come back.
  const nc = await loadIsic2018({
    root,
    task: "diagnosis",
    size: [16, 16],
    limit: 35,
    seed: 3,
    cacheBytes: 0,
  });
  assert.deepEqual((await nc.item(5)).image, (await ds.item(5)).image);
});

Deno.test("loadIsic2018() classes are separable: class mean colours differ, a nearest-centroid rule beats chance", async () => {
  const features = async (split: "train" | "test") => {
    const ds = await loadIsic2018({ root, task: "diagnosis", size: [24, 32], split });
    const out: number[][] = [];
    for (let i = 0; i < ds.length; i++) {
      const img = (await ds.item(i)).image, n = img.length / 3;
      const mean = [0, 1, 2].map((c) =>
        img.filter((_, k) => k % 3 === c).reduce((a, b) => a + b) / n
      );
      // Mean colour of the 15% of pixels farthest from the image's mean colour (the lesion).
      const far = Array.from({ length: n }, (_, p) => p).sort((a, b) =>
        Math.hypot(...[0, 1, 2].map((c) => img[b * 3 + c] - mean[c])) -
        Math.hypot(...[0, 1, 2].map((c) => img[a * 3 + c] - mean[c]))
      ).slice(0, Math.floor(n * 0.15));
      out.push([0, 1, 2].map((c) => far.reduce((a, p) => a + img[p * 3 + c], 0) / far.length));
    }
    return { x: out, y: ds.labels! };
  };
  const train = await features("train"), test = await features("test");
  const centroids = ISIC2018_CLASSES.map((_, c) => {
    const rows = train.x.filter((_, i) => train.y[i] === c);
    return [0, 1, 2].map((k) => rows.reduce((a, r) => a + r[k], 0) / rows.length);
  });
  let minGap = Infinity;
  for (let a = 0; a < 7; a++) {
    for (let b = a + 1; b < 7; b++) {
      minGap = Math.min(minGap, Math.hypot(...centroids[a].map((v, k) => v - centroids[b][k])));
    }
  }
  assert.ok(minGap > 0.04, `closest class mean colours are ${minGap.toFixed(3)} apart`);
  let correct = 0;
  test.x.forEach((f, i) => {
    const d = centroids.map((c) => Math.hypot(...c.map((v, k) => v - f[k])));
    if (d.indexOf(Math.min(...d)) === test.y[i]) correct++;
  });
  const acc = correct / test.x.length;
  assert.ok(acc > 0.45, `nearest mean lesion colour accuracy ${acc.toFixed(2)} (chance 0.14)`);
});

Deno.test("loadIsic2018() says what is wrong with a broken copy", async () => {
  const base = (dir: string) => ({ root: dir, size: [8, 8] as [number, number] });
  // Missing mask.
  let dir = await tinyCopy();
  await Deno.remove(join(dir, L.task1GroundTruth, "ISIC_0000000_segmentation.png"));
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "segmentation" }),
    (e: Error) => {
      assert.equal(
        e.message,
        `1 images in ${join(dir, L.task1Input)} have no mask <id>_segmentation.png in ${
          join(dir, L.task1GroundTruth)
        }: ISIC_0000000.jpg`,
      );
      return true;
    },
  );
  // Mask without image.
  dir = await tinyCopy();
  await Deno.remove(join(dir, L.task1Input, "ISIC_0000000.jpg"));
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "segmentation" }),
    /1 masks in .* have no image in .*: ISIC_0000000_segmentation.png/,
  );
  // Corrupt JPEG: found when decoded, named by path.
  dir = await tinyCopy();
  const bad = join(dir, L.task3Input, "ISIC_0024307.jpg");
  const bytes = await Deno.readFile(bad);
  await Deno.writeFile(bad, bytes.subarray(0, bytes.length >> 1));
  const ds = await loadIsic2018({ ...base(dir), task: "diagnosis" });
  await assert.rejects(ds.loadAll(), (e: Error) => {
    assert.ok(e.message.startsWith(`Could not decode image ${bad}: `), e.message);
    return true;
  });
  // Broken CSV header.
  dir = await tinyCopy();
  const csv = join(dir, L.task3GroundTruth, L.task3Csv);
  const text = await Deno.readTextFile(csv);
  await Deno.writeTextFile(csv, text.replace("image,MEL,NV,BCC,AKIEC,BKL,DF,VASC", "image,MEL,NV"));
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "diagnosis" }),
    (e: Error) => {
      assert.equal(
        e.message,
        `Expected header "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC" in ${csv} but found "image,MEL,NV"`,
      );
      return true;
    },
  );
  // A row that is not one-hot.
  const lines = text.split("\n");
  lines[2] = lines[2].split(",").map((v, i) => (i === 0 ? v : "1.0")).join(",");
  await Deno.writeTextFile(csv, lines.join("\n"));
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "diagnosis" }),
    new RegExp(`Line 3 of .* \\(ISIC_0024307\\) is not one-hot: found 1.0,1.0,1.0,1.0,1.0,1.0,1.0`),
  );
  // An image without a label, a missing folder, a missing root.
  dir = await tinyCopy();
  await Deno.copyFile(
    join(dir, L.task3Input, "ISIC_0024306.jpg"),
    join(dir, L.task3Input, "ISIC_9999999.jpg"),
  );
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "diagnosis" }),
    /1 images in .* have no label row in .*: ISIC_9999999.jpg/,
  );
  await Deno.remove(join(dir, L.task3Input), { recursive: true });
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "diagnosis" }),
    new RegExp(
      `Missing folder ${L.task3Input} in ${dir} \\(needed for task "diagnosis"\\); found: ${L.task1Input}`,
    ),
  );
  await assert.rejects(
    loadIsic2018({ ...base(join(dir, "nope")), task: "diagnosis" }),
    /ISIC 2018 root folder not found: .*nope/,
  );
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "diagnosis", splitFractions: [0.5, 0.5, 0.5] }),
    /Expected fractions to be 3 non-negative numbers summing to 1 but found \[0.5,0.5,0.5\]/,
  );
  await assert.rejects(
    loadIsic2018({ ...base(dir), task: "diagnosis", spilt: "train" } as never),
    /Unknown option "spilt" for loadIsic2018/,
  );
});

Deno.test("loadIsic2018() ignores non-image files and never writes into the dataset folder", async () => {
  const dir = await tinyCopy();
  await Deno.writeTextFile(join(dir, L.task3Input, "notes.txt"), "x");
  await Deno.writeTextFile(join(dir, L.task1GroundTruth, "Thumbs.db"), "x");
  const snapshot = async () => {
    const out: string[] = [];
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(d)) {
        const p = join(d, e.name), s = await Deno.stat(p);
        out.push(`${p} ${s.size} ${s.mtime?.getTime()}`);
        if (e.isDirectory) await walk(p);
      }
    };
    await walk(dir);
    return out.sort();
  };
  const before = await snapshot();
  for (const task of ["diagnosis", "segmentation"] as const) {
    for (const split of ["all", "train", "test"] as const) {
      const ds = await loadIsic2018({ root: dir, task, size: [12, 16], split });
      tf.dispose(await ds.loadAll());
      for await (const b of ds.batches(4, { shuffle: true })) tf.dispose(b);
    }
  }
  assert.deepEqual(await snapshot(), before);
});
