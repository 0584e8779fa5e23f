import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { Rng } from "../util/rng.ts";
import {
  COVID_CT_CLASSES,
  COVID_CT_LAYOUT as L,
  covidCtSplitFile,
  describeCovidCtLayout,
  loadCovidCt,
} from "./covid_ct.ts";
import { generateSyntheticCovidCt } from "./synthetic_covid_ct.ts";

await setupBackend({ backend: "cpu", quiet: true });

/** The default embedded set (generated once into <repo>/.cache, then reused). */
const root = await generateSyntheticCovidCt();

/** A tiny generated set, copied per test before breaking it. */
const scratch = await Deno.makeTempDir({ prefix: "covid_ct_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
const tiny = await generateSyntheticCovidCt({
  dir: join(scratch, "tiny"),
  covidCounts: [3, 2, 2],
  nonCovidCounts: [4, 2, 2],
  minSize: 32,
  maxSize: 48,
});
let copies = 0;
async function tinyCopy(): Promise<string> {
  const dir = join(scratch, `copy${copies++}`);
  await cp(tiny, dir, { recursive: true });
  return dir;
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
async function readList(dir: string, split: "train" | "val" | "test", label: 0 | 1) {
  return (await Deno.readTextFile(join(dir, covidCtSplitFile(split, label)))).trim().split("\n");
}

Deno.test("loadCovidCt() reads the embedded set: official split counts, labels, shapes, ranges", async () => {
  const expected = { train: [58, 48], val: [15, 15], test: [26, 25] } as const;
  for (const split of ["train", "val", "test"] as const) {
    const ds = await loadCovidCt({ root, size: [32, 40], split });
    assert.equal(ds.length, expected[split][0] + expected[split][1]);
    assert.equal(ds.labels.filter((l) => l === 0).length, expected[split][0]);
    assert.equal(ds.labels.filter((l) => l === 1).length, expected[split][1]);
    assert.deepEqual(ds.classNames, COVID_CT_CLASSES);
    assert.deepEqual(ds.unlisted, []);
    assert.deepEqual(ds.notes, []);
    assert.equal(new Set(ds.ids).size, ds.length);
    ds.ids.forEach((id, i) => assert.ok(id.startsWith(`${L.imageFolders[ds.labels[i]]}/`), id));
  }
  const all = await loadCovidCt({ root, size: [32, 40] });
  assert.equal(all.length, 187);
  const before = tf.memory().numTensors;
  const batch = await all.loadAll();
  assert.deepEqual(batch.images.shape, [187, 32, 40, 1]);
  assert.equal(batch.images.dtype, "float32");
  assert.deepEqual(batch.labels.shape, [187]);
  assert.equal(batch.labels.dtype, "int32");
  const [lo, hi] = [tf.min(batch.images), tf.max(batch.images)];
  assert.ok((await lo.data())[0] >= 0 && (await hi.data())[0] <= 1);
  assert.ok((await hi.data())[0] > 0.8, "bones are bright");
  tf.dispose([lo, hi, batch]);
  assert.equal(tf.memory().numTensors, before);
  // channels: 3 repeats the grey value (the generated images are grey, RGB or RGBA).
  const rgb = await loadCovidCt({ root, size: [16, 16], split: "val", channels: 3 });
  const grey = await loadCovidCt({ root, size: [16, 16], split: "val" });
  for (const i of [0, 5, 20]) {
    const a = (await rgb.item(i)).image, g = (await grey.item(i)).image;
    assert.equal(a.length, 16 * 16 * 3);
    for (let p = 0; p < 256; p++) {
      assert.ok(Math.abs(a[p * 3] - a[p * 3 + 2]) < 1e-6 && Math.abs(a[p * 3] - g[p]) < 2 / 255);
    }
  }
});

Deno.test("loadCovidCt() uses the official lists: deterministic, disjoint, complete", async () => {
  const parts = await Promise.all(
    (["train", "val", "test"] as const).map((split) => loadCovidCt({ root, size: [8, 8], split })),
  );
  const again = await loadCovidCt({ root, size: [8, 8], split: "val" });
  assert.deepEqual(again.ids, parts[1].ids);
  const seen = new Set<string>();
  for (const p of parts) for (const id of p.ids) (assert.ok(!seen.has(id), id), seen.add(id));
  const all = await loadCovidCt({ root, size: [8, 8] });
  assert.deepEqual([...seen].sort(), [...all.ids].sort());
  for (const [s, split] of (["train", "val", "test"] as const).entries()) {
    for (const label of [0, 1] as const) {
      const listed = (await readList(root, split, label)).map((n) =>
        `${L.imageFolders[label]}/${n}`
      );
      const loaded = parts[s].ids.filter((_, i) => parts[s].labels[i] === label);
      assert.deepEqual([...loaded].sort(), listed.sort());
    }
  }
  const report = await describeCovidCtLayout(root);
  assert.deepEqual(report.errors, []);
  assert.equal(report.files.COVID.length, 88);
  assert.equal(report.lists.NonCOVID.test.length, 26);
});

Deno.test("CovidCtDataset.batches() yields NHWC batches, seeded shuffles, no leaks; limit keeps the class mix", async () => {
  const ds = await loadCovidCt({ root, size: [16, 16], split: "test", cacheBytes: 0 });
  const before = tf.memory().numTensors;
  const order = async (opts: { shuffle?: boolean; seed?: number }) => {
    const ids: string[] = [];
    for await (const b of ds.batches(16, opts)) {
      assert.equal(b.images.shape[0], b.ids.length);
      assert.deepEqual(b.images.shape.slice(1), [16, 16, 1]);
      assert.deepEqual(
        Array.from(await b.labels.data()),
        b.ids.map((id) => (id.startsWith("CT_COVID/") ? 1 : 0)),
      );
      ids.push(...b.ids);
      tf.dispose(b);
    }
    return ids;
  };
  assert.deepEqual(await order({}), ds.ids);
  const a = await order({ shuffle: true, seed: 3 }), b = await order({ shuffle: true, seed: 3 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, ds.ids);
  assert.deepEqual([...a].sort(), [...ds.ids].sort());
  const e0 = await order({ shuffle: true }), e1 = await order({ shuffle: true });
  assert.notDeepEqual(e0, e1);
  let n = 0;
  for await (const batch of ds.batches(10, { dropRemainder: true })) (n++, tf.dispose(batch));
  assert.equal(n, 5);
  assert.equal(tf.memory().numTensors, before);
  const sub = await loadCovidCt({ root, size: [8, 8], split: "train", limit: 20, seed: 1 });
  assert.equal(sub.length, 20);
  assert.equal(sub.labels.filter((l) => l === 1).length, 9); // 48 / 106 of 20
  const sub2 = await loadCovidCt({ root, size: [8, 8], split: "train", limit: 20, seed: 1 });
  assert.deepEqual(sub2.ids, sub.ids);
});

Deno.test("loadCovidCt() classes are separable by lung haze, and noise destroys that cue", async () => {
  const S = 64;
  // Fraction of hazy (0.16-0.4) among dark (< 0.4) pixels in the central box (lungs, mediastinum).
  const features = async (split: "train" | "test", sigma: number) => {
    const ds = await loadCovidCt({ root, size: [S, S], split });
    const rng = new Rng(1), x: number[] = [];
    for (let i = 0; i < ds.length; i++) {
      const img = (await ds.item(i)).image;
      let hazy = 0, dark = 0;
      for (let y = S / 4; y < (S * 3) / 4; y++) {
        for (let c = Math.floor(S * 0.12); c < S * 0.88; c++) {
          const v = img[y * S + c] + sigma * rng.normal();
          if (v < 0.4) dark++;
          if (v >= 0.16 && v < 0.4) hazy++;
        }
      }
      x.push(hazy / Math.max(1, dark));
    }
    return { x, y: ds.labels };
  };
  const train = await features("train", 0);
  const means = [0, 1].map((c) => {
    const r = train.x.filter((_, i) => train.y[i] === c);
    return r.reduce((a, b) => a + b) / r.length;
  });
  assert.ok(means[1] > means[0] + 0.05, `class means ${means.map((m) => m.toFixed(3))}`);
  const accuracy = async (sigma: number) => {
    const test = await features("test", sigma);
    const ok =
      test.x.filter((f, i) =>
        (Math.abs(f - means[1]) < Math.abs(f - means[0]) ? 1 : 0) === test.y[i]
      ).length;
    return ok / test.x.length;
  };
  const clean = await accuracy(0), noisy = await accuracy(0.1);
  assert.ok(clean > 0.8, `clean nearest-mean accuracy ${clean.toFixed(2)} (chance 0.5)`);
  assert.ok(noisy < clean - 0.2, `noisy accuracy ${noisy.toFixed(2)} vs clean ${clean.toFixed(2)}`);
});

Deno.test("loadCovidCt() says what is wrong with a broken copy", async () => {
  const size: [number, number] = [8, 8];
  // A listed file that is missing: named, with its list.
  let dir = await tinyCopy();
  const [victim] = await readList(dir, "val", 1);
  await Deno.remove(join(dir, L.images, "CT_COVID", victim));
  await assert.rejects(loadCovidCt({ root: dir, size }), (e: Error) => {
    assert.equal(
      e.message,
      `1 files listed in ${join(dir, "Data-split/COVID/valCT_COVID.txt")} are missing from ${
        join(dir, L.images, "CT_COVID")
      }: ${victim}`,
    );
    return true;
  });
  // ... or sits in the other class's folder.
  dir = await tinyCopy();
  const [moved] = await readList(dir, "test", 0);
  await Deno.rename(
    join(dir, L.images, "CT_NonCOVID", moved),
    join(dir, L.images, "CT_COVID", moved),
  );
  await assert.rejects(
    loadCovidCt({ root: dir, size }),
    new RegExp(
      `testCT_NonCOVID.txt are missing from .*CT_NonCOVID: ${esc(moved)} \\(found in CT_COVID\\)`,
    ),
  );
  // A missing split list, a missing class folder, a missing top folder.
  dir = await tinyCopy();
  await Deno.remove(join(dir, covidCtSplitFile("train", 1)));
  await assert.rejects(
    loadCovidCt({ root: dir, size }),
    /Missing split list .*Data-split\/COVID\/trainCT_COVID.txt; found in its folder: testCT_COVID.txt, valCT_COVID.txt/,
  );
  await Deno.remove(join(dir, L.images, "CT_NonCOVID"), { recursive: true });
  await assert.rejects(
    loadCovidCt({ root: dir, size }),
    /Missing folder Images-processed\/CT_NonCOVID in .*; found in Images-processed: CT_COVID/,
  );
  await Deno.remove(join(dir, L.splits), { recursive: true });
  await assert.rejects(
    loadCovidCt({ root: dir, size }),
    /Missing split-list folder Data-split in .*; found: Images-processed, README.txt/,
  );
  await assert.rejects(
    loadCovidCt({ root: join(dir, "nope"), size }),
    /COVID-CT root folder not found: .*nope/,
  );
  // A file in two splits (a leak).
  dir = await tinyCopy();
  const [leak] = await readList(dir, "train", 1);
  await Deno.writeTextFile(join(dir, covidCtSplitFile("test", 1)), `${leak}\n`, { append: true });
  await assert.rejects(
    loadCovidCt({ root: dir, size }),
    new RegExp(
      `${
        esc(leak)
      } is listed in both Data-split/COVID/trainCT_COVID.txt and Data-split/COVID/testCT_COVID.txt`,
    ),
  );
  // Corrupt image: found when decoded, named by path.
  dir = await tinyCopy();
  const [bad] = await readList(dir, "train", 0);
  const badPath = join(dir, L.images, "CT_NonCOVID", bad);
  const bytes = await Deno.readFile(badPath);
  await Deno.writeFile(badPath, bytes.subarray(0, bytes.length >> 1));
  const ds = await loadCovidCt({ root: dir, size, split: "train" });
  await assert.rejects(ds.loadAll(), (e: Error) => {
    assert.ok(e.message.startsWith(`Could not decode image ${badPath}: `), e.message);
    return true;
  });
  // Bad options.
  await assert.rejects(
    loadCovidCt({ root: dir, size, spilt: "train" } as never),
    /Unknown option "spilt" for loadCovidCt/,
  );
  await assert.rejects(
    loadCovidCt({ root: dir, size, channels: 2 as 1 }),
    /Expected channels to be 1 or 3 but found 2/,
  );
  await assert.rejects(
    loadCovidCt({ root: dir, size, split: "dev" as "val" }),
    /Expected split .* but found "dev"/,
  );
  await assert.rejects(
    loadCovidCt({ root: dir, size: [8, 0] }),
    /Expected size \[height, width\] of positive integers but found \[8,0\]/,
  );
});

Deno.test("loadCovidCt() reports unlisted images and duplicate lines; strict rejects unlisted", async () => {
  const dir = await tinyCopy();
  const [first] = await readList(dir, "train", 1);
  await Deno.copyFile(
    join(dir, L.images, "CT_COVID", first),
    join(dir, L.images, "CT_COVID", "extra%1.png"),
  );
  await Deno.writeTextFile(join(dir, covidCtSplitFile("train", 1)), `\r\n${first}  \r\n`, {
    append: true,
  });
  const ds = await loadCovidCt({ root: dir, size: [8, 8], split: "train" });
  assert.equal(ds.length, 7);
  assert.deepEqual(ds.unlisted, ["CT_COVID/extra%1.png"]);
  assert.equal(ds.notes.length, 2);
  assert.match(
    ds.notes[0],
    new RegExp(`Data-split/COVID/trainCT_COVID.txt line \\d+: ${esc(first)} is listed again`),
  );
  assert.match(
    ds.notes[1],
    /1 images in Images-processed\/CT_COVID are in no split list and are not loaded: extra%1.png/,
  );
  assert.ok(!ds.ids.includes("CT_COVID/extra%1.png"));
  await assert.rejects(
    loadCovidCt({ root: dir, size: [8, 8], strict: true }),
    /1 images in .*Images-processed are in no split list \(strict\): CT_COVID\/extra%1.png/,
  );
});

Deno.test("loadCovidCt() ignores non-image files and never writes into the dataset folder", async () => {
  const dir = await tinyCopy();
  await Deno.writeTextFile(join(dir, L.images, "CT_COVID", "notes.txt"), "x");
  await Deno.writeTextFile(join(dir, L.images, "CT_NonCOVID", ".DS_Store"), "x");
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
  for (const split of ["all", "train", "test"] as const) {
    for (const channels of [1, 3] as const) {
      const ds = await loadCovidCt({ root: dir, size: [12, 16], split, channels });
      assert.deepEqual(ds.unlisted, []);
      tf.dispose(await ds.loadAll());
      for await (const b of ds.batches(4, { shuffle: true })) tf.dispose(b);
    }
  }
  assert.deepEqual(await snapshot(), before);
});
