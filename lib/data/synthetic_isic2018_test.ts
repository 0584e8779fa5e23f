import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import sharp from "sharp";
import { generateSyntheticIsic2018 } from "./synthetic_isic2018.ts";
import { ISIC2018_DATASET } from "./isic2018.ts";
import { ISIC2018_CLASSES, ISIC2018_LAYOUT as L } from "./isic2018_classes.ts";

const { marker: SYNTHETIC_ISIC2018_MARKER, version: SYNTHETIC_ISIC2018_VERSION } =
  ISIC2018_DATASET.synthetic;

const TINY = { task1Count: 5, task3PerClass: 2, width: 32, height: 24 };

/** SHA-256 of every file under `root`, by relative path. */
async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else {
        out.set(
          relative(root, p),
          createHash("sha256").update(await Deno.readFile(p)).digest("hex"),
        );
      }
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

Deno.test("generateSyntheticIsic2018() is byte-identical for the same seed (SHA-256)", async () => {
  await withTemp(async (tmp) => {
    const a = await generateSyntheticIsic2018({ ...TINY, seed: 5, dir: join(tmp, "a") });
    const b = await generateSyntheticIsic2018({ ...TINY, seed: 5, dir: join(tmp, "b") });
    const c = await generateSyntheticIsic2018({ ...TINY, seed: 6, dir: join(tmp, "c") });
    const ha = await hashTree(a), hb = await hashTree(b), hc = await hashTree(c);
    assert.equal(ha.size, 5 + 5 + 14 + 1 + 8 + 2); // images, masks, Task 3, CSV, txts, README+marker
    assert.deepEqual(ha, hb);
    const jpgA = [...ha].filter(([k]) => k.endsWith(".jpg"));
    assert.ok(jpgA.every(([k, v]) => hc.get(k) !== v), "another seed gives other images");
    // No temporary folders left beside the outputs.
    const left = [];
    for await (const e of Deno.readDir(tmp)) left.push(e.name);
    assert.deepEqual(left.sort(), ["a", "b", "c"]);
  });
});

Deno.test("generateSyntheticIsic2018() writes the official ISIC 2018 layout and formats", async () => {
  await withTemp(async (tmp) => {
    const root = await generateSyntheticIsic2018({ ...TINY, dir: join(tmp, "set") });
    const ls = async (d: string) => {
      const names = [];
      for await (const e of Deno.readDir(join(root, d))) names.push(e.name);
      return names.sort();
    };
    assert.deepEqual(
      await ls("."),
      [
        SYNTHETIC_ISIC2018_MARKER,
        L.task1Input,
        L.task1GroundTruth,
        L.task3Input,
        L.task3GroundTruth,
        "README.txt",
      ].sort(),
    );
    const t1 = (await ls(L.task1Input)).filter((n) => n.endsWith(".jpg"));
    assert.equal(t1.length, 5);
    assert.ok(t1.every((n) => /^ISIC_00\d{5}\.jpg$/.test(n)), t1.join());
    assert.equal(t1[0], "ISIC_0000000.jpg");
    const masks = (await ls(L.task1GroundTruth)).filter((n) => n.endsWith(".png"));
    assert.deepEqual(masks, t1.map((n) => n.replace(".jpg", "_segmentation.png")));
    assert.ok((await ls(L.task1Input)).includes("ATTRIBUTION.txt"));
    assert.ok((await ls(L.task3Input)).includes("LICENSE.txt"));

    // Masks: 8-bit greyscale PNG (colour type 0), values only 0/255, same size as the image.
    for (const m of masks) {
      const bytes = await Deno.readFile(join(root, L.task1GroundTruth, m));
      assert.equal(bytes[24], 8, "bit depth");
      assert.equal(bytes[25], 0, "PNG colour type greyscale");
      assert.equal((await sharp(bytes).metadata()).channels, 1);
      const { data, info } = await sharp(bytes).toColourspace("b-w").raw().toBuffer({
        resolveWithObject: true,
      });
      const values = new Set(data);
      assert.deepEqual([...values].sort((a, b) => a - b), [0, 255]);
      const img = await sharp(join(root, L.task1Input, m.replace("_segmentation.png", ".jpg")))
        .metadata();
      assert.deepEqual([img.width, img.height], [info.width, info.height]);
      assert.equal(img.format, "jpeg");
      assert.equal(info.width * 3, info.height * 4, "4:3");
      const inside = data.filter((v) => v === 255).length / data.length;
      assert.ok(inside > 0.02 && inside < 0.8, `lesion covers ${inside}`);
    }

    // Task 3: contiguous HAM10000 ids, fixed size, one-hot CSV with the official header.
    const t3 = (await ls(L.task3Input)).filter((n) => n.endsWith(".jpg"));
    assert.equal(t3.length, 14);
    assert.equal(t3[0], "ISIC_0024306.jpg");
    assert.equal(t3[13], "ISIC_0024319.jpg");
    const meta = await sharp(join(root, L.task3Input, t3[0])).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [32, 24, 3]);
    const csv = await Deno.readTextFile(join(root, L.task3GroundTruth, L.task3Csv));
    const lines = csv.trimEnd().split("\n");
    assert.equal(lines[0], "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC");
    assert.match(lines[1], /^ISIC_0024306,([01]\.0,){6}[01]\.0$/);
    const counts = new Array(7).fill(0);
    for (const line of lines.slice(1)) {
      const v = line.split(",").slice(1).map(Number);
      assert.equal(v.reduce((a, b) => a + b), 1);
      counts[v.indexOf(1)]++;
    }
    assert.deepEqual(counts, new Array(ISIC2018_CLASSES.length).fill(2));
    const readme = await Deno.readTextFile(join(root, "README.txt"));
    assert.match(readme, /SYNTHETIC ISIC 2018/);
    const marker = JSON.parse(await Deno.readTextFile(join(root, SYNTHETIC_ISIC2018_MARKER)));
    assert.equal(marker.version, SYNTHETIC_ISIC2018_VERSION);
  });
});

Deno.test("generateSyntheticIsic2018() reuses a matching folder, replaces a stale one, refuses others", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "set");
    await generateSyntheticIsic2018({ ...TINY, dir });
    const csv = join(dir, L.task3GroundTruth, L.task3Csv);
    const before = (await Deno.stat(csv)).mtime?.getTime();
    await new Promise((r) => setTimeout(r, 20));
    await generateSyntheticIsic2018({ ...TINY, dir });
    assert.equal((await Deno.stat(csv)).mtime?.getTime(), before, "reused, not rewritten");
    // Another configuration replaces the generated folder.
    await generateSyntheticIsic2018({ ...TINY, task3PerClass: 1, dir });
    const rows = (await Deno.readTextFile(csv)).trimEnd().split("\n").length - 1;
    assert.equal(rows, 7);
    // A folder that is not a generated set is never touched.
    const user = join(tmp, "user");
    await Deno.mkdir(user);
    await Deno.writeTextFile(join(user, "precious.txt"), "keep me");
    await assert.rejects(
      generateSyntheticIsic2018({ ...TINY, dir: user }),
      /Refusing to replace .*user: it is not empty and has no \.synthetic-isic2018\.json marker \(found precious\.txt\)/,
    );
    assert.equal(await Deno.readTextFile(join(user, "precious.txt")), "keep me");
    // An empty folder is fine.
    const empty = join(tmp, "empty");
    await Deno.mkdir(empty);
    await generateSyntheticIsic2018({ ...TINY, dir: empty });
    await Deno.stat(join(empty, SYNTHETIC_ISIC2018_MARKER));
  });
});

Deno.test("generateSyntheticIsic2018() rejects bad options with what it found", async () => {
  await assert.rejects(
    generateSyntheticIsic2018({ task3PerClass: 0 }),
    /Expected task3PerClass to be an integer >= 1 but found 0/,
  );
  await assert.rejects(
    generateSyntheticIsic2018({ width: 4.5 }),
    /Expected width to be an integer >= 1 but found 4.5/,
  );
  await assert.rejects(
    generateSyntheticIsic2018({ sede: 1 } as never),
    /Unknown option "sede"/,
  );
});
