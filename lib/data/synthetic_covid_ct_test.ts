import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import sharp from "sharp";
import { Rng } from "../util/rng.ts";
import { COVID_CT_DATASET, COVID_CT_LAYOUT as L, covidCtSplitFile } from "./covid_ct.ts";
import { generateSyntheticCovidCt } from "./synthetic_covid_ct.ts";

const { marker: SYNTHETIC_COVID_CT_MARKER, version: SYNTHETIC_COVID_CT_VERSION } =
  COVID_CT_DATASET.synthetic;
import { _renderCtSlice } from "./_synthetic_ct_slice.ts";

const TINY = {
  covidCounts: [3, 2, 2] as [number, number, number],
  nonCovidCounts: [4, 1, 2] as [number, number, number],
  minSize: 32,
  maxSize: 48,
};

/** SHA-256 of every file under `root`, by relative path. */
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

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ls = async (dir: string) => {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
};

Deno.test("generateSyntheticCovidCt() is byte-identical for the same seed (SHA-256)", async () => {
  await withTemp(async (tmp) => {
    const a = await generateSyntheticCovidCt({ ...TINY, seed: 5, dir: join(tmp, "a") });
    const b = await generateSyntheticCovidCt({ ...TINY, seed: 5, dir: join(tmp, "b") });
    const c = await generateSyntheticCovidCt({ ...TINY, seed: 6, dir: join(tmp, "c") });
    const ha = await hashTree(a), hb = await hashTree(b), hc = await hashTree(c);
    assert.equal(ha.size, 7 + 7 + 6 + 2); // images, split lists, README + marker
    assert.deepEqual(ha, hb);
    const imgs = [...ha.values()].filter((_, i) => [...ha.keys()][i].startsWith(L.images));
    assert.ok(imgs.every((h) => ![...hc.values()].includes(h)), "another seed gives other images");
    assert.deepEqual(await ls(tmp), ["a", "b", "c"]); // no temporary folders left
  });
});

Deno.test("generateSyntheticCovidCt() writes the COVID-CT layout: names, mixed formats and sizes, six lists", async () => {
  await withTemp(async (tmp) => {
    const root = await generateSyntheticCovidCt({
      ...TINY,
      covidCounts: [12, 4, 4],
      nonCovidCounts: [12, 4, 4],
      dir: join(tmp, "set"),
    });
    assert.deepEqual(
      await ls(root),
      [SYNTHETIC_COVID_CT_MARKER, L.splits, L.images, "README.txt"].sort(),
    );
    assert.deepEqual(await ls(join(root, L.images)), ["CT_COVID", "CT_NonCOVID"]);
    assert.deepEqual(await ls(join(root, L.splits, "COVID")), [
      "testCT_COVID.txt",
      "trainCT_COVID.txt",
      "valCT_COVID.txt",
    ]);
    const covid = await ls(join(root, L.images, "CT_COVID"));
    const non = await ls(join(root, L.images, "CT_NonCOVID"));
    assert.equal(covid.length, 20);
    assert.equal(non.length, 20);
    for (const n of covid) {
      assert.match(n, /^2020\.0[23]\.\d\d\.20\d{6}-p\d+-\d+(%\d)?\.(png|jpg)$/);
    }
    for (const n of non) assert.match(n, /^\d+(%\d)?\.(png|jpg)$/);
    const metas = await Promise.all(
      [...covid.map((n) => `CT_COVID/${n}`), ...non.map((n) => `CT_NonCOVID/${n}`)].map((n) =>
        sharp(join(root, L.images, n)).metadata()
      ),
    );
    assert.deepEqual(new Set(metas.map((m) => m.format)), new Set(["png", "jpeg"]));
    assert.ok(metas.some((m) => m.channels === 1) && metas.some((m) => m.channels === 3));
    assert.ok(new Set(metas.map((m) => `${m.width}x${m.height}`)).size > 10, "sizes vary");
    assert.ok(metas.every((m) => m.width! >= 32 && m.width! <= 48));
    for (const [label, names] of [[0, non], [1, covid]] as const) {
      const listed: string[] = [];
      const counts = [];
      for (const split of ["train", "val", "test"] as const) {
        const text = await Deno.readTextFile(join(root, covidCtSplitFile(split, label)));
        assert.ok(text.endsWith("\n") && !text.includes("\r"));
        const lines = text.trimEnd().split("\n");
        counts.push(lines.length);
        listed.push(...lines);
      }
      assert.deepEqual(counts, [12, 4, 4]);
      assert.deepEqual(listed.sort(), [...names].sort());
    }
    const marker = JSON.parse(await Deno.readTextFile(join(root, SYNTHETIC_COVID_CT_MARKER)));
    assert.equal(marker.version, SYNTHETIC_COVID_CT_VERSION);
  });
});

Deno.test("_renderCtSlice() is deterministic; COVID slices carry GGO of varying extent, others none", () => {
  const a = _renderCtSlice(new Rng(1), true, 64, 56), b = _renderCtSlice(new Rng(1), true, 64, 56);
  assert.deepEqual(a, b);
  const extents = Array.from(
    { length: 12 },
    (_, i) => _renderCtSlice(new Rng(i), true, 64, 64).ggoFraction,
  );
  assert.ok(extents.every((e) => e > 0 && e < 1), extents.join());
  assert.ok(Math.max(...extents) > 3 * Math.min(...extents), `extents ${extents.join()}`);
  for (let i = 0; i < 6; i++) {
    assert.equal(_renderCtSlice(new Rng(i), false, 48, 48).ggoFraction, 0);
  }
  // Air is dark, bones bright.
  const px = a.grey;
  assert.ok(px[0] < 40, `corner ${px[0]}`);
  assert.ok(Math.max(...px) > 200);
});

Deno.test("generateSyntheticCovidCt() reuses a matching folder, replaces a stale one, refuses others", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "set");
    await generateSyntheticCovidCt({ ...TINY, dir });
    const marker = join(dir, SYNTHETIC_COVID_CT_MARKER);
    const t0 = (await Deno.stat(marker)).mtime!.getTime();
    await generateSyntheticCovidCt({ ...TINY, dir });
    assert.equal((await Deno.stat(marker)).mtime!.getTime(), t0, "reused");
    await generateSyntheticCovidCt({ ...TINY, seed: 9, dir });
    assert.equal(JSON.parse(await Deno.readTextFile(marker)).seed, 9, "stale set replaced");
    const user = join(tmp, "user");
    await Deno.mkdir(user);
    await Deno.writeTextFile(join(user, "scan.png"), "mine");
    await assert.rejects(
      generateSyntheticCovidCt({ ...TINY, dir: user }),
      /Refusing to replace .*user: it is not empty and has no \.synthetic-covid-ct\.json marker \(found scan\.png\)/,
    );
    assert.equal(await Deno.readTextFile(join(user, "scan.png")), "mine");
    assert.deepEqual(await ls(tmp), ["set", "user"]);
  });
});

Deno.test("generateSyntheticCovidCt() rejects bad options with what it found", async () => {
  await assert.rejects(generateSyntheticCovidCt({ seeds: 1 } as never), /Unknown option "seeds"/);
  await assert.rejects(
    generateSyntheticCovidCt({ covidCounts: [1, 0, 1] }),
    /Expected covidCounts to be \[train, val, test\] integers >= 1 .* but found \[1,0,1\]/,
  );
  await assert.rejects(
    generateSyntheticCovidCt({ minSize: 8 }),
    /Expected minSize to be an integer in \[16, 4096\] but found 8/,
  );
  await assert.rejects(
    generateSyntheticCovidCt({ minSize: 100, maxSize: 50 }),
    /Expected minSize <= maxSize but found 100 > 50/,
  );
  await assert.rejects(
    generateSyntheticCovidCt({ seed: 1.5 }),
    /Expected seed to be a safe integer but found 1.5/,
  );
});
