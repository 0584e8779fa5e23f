/**
 * The `folder` dataset (your own images) on a small folder written by a real image writer
 * (PIL): 12 images of 40×30 in two classes, PNG and JPEG, one of them grey; `labels.csv` with
 * CRLF line ends; `masks/` as 0 / 255 PNGs. Checks the loader's splits (seeded, and by
 * `split.csv`), the classes and channels read from the folder, verify (and a corrupt image
 * refused with its path), inspect, and Table 1 at the smoke profile on the folder through the
 * CLI (`--dataset folder --data DIR`), with nothing written into the folder.
 *
 * Needs Debian's /usr/bin/python3 with python3-pil and python3-numpy (else ignored, the reason
 * in the name).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import sharp from "sharp";
import { PYTHON_FOR_TESTS, pythonTestOptions } from "../lib/_testing_python.ts";
import { FOLDER_DATASET, scanFolder } from "../lib/data/folder.ts";
import { defaultLockPath, inspectDataset, verifyDataset } from "../lib/data/manifest.ts";
import { resolveDataset } from "../lib/data/registry.ts";
import type { LoadedSplit } from "../lib/data/dataset_descriptor.ts";

const REPO = new URL("..", import.meta.url).pathname;

/** Writes the folder: c00…c11, even ids "benign", odd "malignant"; c03 grey; JPEG for k % 3 == 1. */
const WRITE_FOLDER = `
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(3)
os.makedirs(os.path.join(root, "images"))
os.makedirs(os.path.join(root, "masks"))
rows = ["image,label"]
for k in range(12):
    name = "c%02d" % k
    ext = ".jpg" if k % 3 == 1 else ".png"
    if k == 3:
        img = Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8), "L")
    else:
        img = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), "RGB")
    img.save(os.path.join(root, "images", name + ext))
    mask = np.zeros((30, 40), np.uint8)
    mask[5 + k % 4: 20, 8: 30] = 255
    Image.fromarray(mask, "L").save(os.path.join(root, "masks", name + ".png"))
    rows.append(name + ext + "," + ("benign" if k % 2 == 0 else "malignant"))
with open(os.path.join(root, "labels.csv"), "w", newline="") as f:
    f.write("\\r\\n".join(rows) + "\\r\\n")
`;

/** Every entry under `dir` (folders too), with the SHA-256 of every file. */
async function checksumListing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isDirectory) {
        out.push(`${rel}/`);
        await walk(p);
      } else {
        out.push(`${rel} ${createHash("sha256").update(await Deno.readFile(p)).digest("hex")}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

async function load(root: string, split: "train" | "val" | "test", seed = 0): Promise<LoadedSplit> {
  return await FOLDER_DATASET.loadSplit({
    root,
    tasks: ["diagnosis", "segmentation"],
    size: [16, 16],
    split,
    seed,
    limit: null,
  });
}

Deno.test({
  ...(await pythonTestOptions(
    "folder dataset: PIL-written images/, labels.csv, masks/: splits, classes, verify, inspect, Table 1 smoke",
    ["PIL", "numpy"],
  )),
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "folder_dataset_" });
    const root = join(tmp, "mine");
    const locks: string[] = [];
    try {
      const py = await new Deno.Command(PYTHON_FOR_TESTS, { args: ["-c", WRITE_FOLDER, root] })
        .output();
      assert.ok(py.success, new TextDecoder().decode(py.stderr));
      const before = await checksumListing(root);

      await t.step("classes and channels come from the folder", async () => {
        const d = await resolveDataset("folder", root);
        assert.deepEqual(d.tasks.diagnosis?.classes, ["benign", "malignant"]);
        assert.deepEqual(d.tasks.segmentation?.classes, ["background", "foreground"]);
        assert.equal(d.channels, 3);
        assert.equal(d.pairedTasks, true);
        await assert.rejects(
          () => resolveDataset("folder", null),
          /dataset folder needs --data DIR/,
        );
      });

      await t.step("seeded split: disjoint, covering, stratified, deterministic", async () => {
        const parts = await Promise.all(
          (["train", "val", "test"] as const).map((s) => load(root, s)),
        );
        const ids = parts.flatMap((p) => p.ids);
        assert.deepEqual(
          [...ids].sort(),
          Array.from({ length: 12 }, (_, k) => `c${`${k}`.padStart(2, "0")}`),
        );
        const [train, , test] = parts;
        assert.deepEqual(train.images.shape, [train.ids.length, 16, 16, 3]);
        assert.deepEqual(train.masks!.shape, [train.ids.length, 16, 16, 1]);
        assert.ok(train.ids.length >= 7 && test.ids.length >= 2, `${train.ids} / ${test.ids}`);
        const labels = await train.labels!.array();
        train.ids.forEach((id, i) => assert.equal(labels[i], Number(id.slice(1)) % 2, id));
        const maskValues = new Set(await train.masks!.data());
        assert.ok([...maskValues].every((v) => v === 0 || v === 1) && maskValues.size === 2);
        // The grey image, converted to RGB: its three channels agree.
        const grey = parts.find((p) => p.ids.includes("c03"))!;
        const px = (await grey.images.array())[grey.ids.indexOf("c03")][5][7];
        assert.ok(px[0] === px[1] && px[1] === px[2], `${px}`);
        const again = await load(root, "train");
        assert.deepEqual(again.ids, train.ids);
        const other = await Promise.all([1, 2, 3].map((seed) => load(root, "train", seed)));
        assert.ok(
          other.some((o) => o.ids.join() !== train.ids.join()),
          "the seed changes the split",
        );
        tf.dispose([...parts, again, ...other]);
      });

      await t.step("split.csv decides the split", async () => {
        const copy = join(tmp, "with_split");
        await copyDir(root, copy);
        const rows = ["image,split"];
        for (let k = 0; k < 12; k++) {
          rows.push(`c${`${k}`.padStart(2, "0")},${k < 8 ? "train" : k < 10 ? "val" : "test"}`);
        }
        await Deno.writeTextFile(join(copy, "split.csv"), rows.join("\r\n") + "\r\n");
        const test = await load(copy, "test", 5);
        assert.deepEqual(test.ids, ["c10", "c11"]);
        tf.dispose(test);
        assert.equal((await scanFolder(copy)).splitOf?.filter((s) => s === "train").length, 8);
      });

      await t.step("verify passes; a corrupt image is refused with its path", async () => {
        const lockPath = join(tmp, "lock.json");
        const report = await verifyDataset("folder", root, { lockPath });
        assert.ok(report.ok, JSON.stringify(report.checks));
        assert.ok(report.checks.some((c) => c.name === "masks: sizes" && c.status === "pass"));
        const bad = join(tmp, "corrupt");
        await copyDir(root, bad);
        await Deno.writeFile(
          join(bad, "images", "c05.png"),
          new Uint8Array([137, 80, 78, 71, 1, 2]),
        );
        const refused = await verifyDataset("folder", bad, { lockPath: join(tmp, "lock2.json") });
        assert.equal(refused.ok, false);
        const fail = refused.checks.find((c) => c.name === "images: decodable")!;
        assert.equal(fail.status, "fail");
        assert.match(fail.detail, /images\/c05\.png/);
        // A label naming no image is refused too.
        await Deno.writeTextFile(join(bad, "labels.csv"), "image,label\nnope.png,benign\n");
        const noImage = await verifyDataset("folder", bad, { lockPath: join(tmp, "lock3.json") });
        assert.match(
          noImage.checks.find((c) => c.name === "layout")!.detail,
          /name no file in images\/: nope/,
        );
      });

      await t.step("inspect counts the splits, classes and mask pixels", async () => {
        const r = await inspectDataset("folder", root);
        const splits = Object.values(r.splits);
        assert.equal(splits.reduce((a, s) => a + s.samples, 0), 12);
        assert.equal(splits.reduce((a, s) => a + (s.classes?.benign ?? 0), 0), 6);
        assert.equal(r.splits.train.height, 30);
        assert.equal(r.splits.train.width, 40);
        const seg = await inspectDataset("folder", root, { task: "segmentation" });
        const px = Object.values(seg.splits).reduce((a, s) => a + s.maskPixels!.foreground, 0);
        assert.ok(px > 0 && px < 12 * 30 * 40);
      });

      await t.step("Table 1 (smoke) runs on the folder; nothing is written into it", async () => {
        locks.push(defaultLockPath("folder", root));
        const o = await new Deno.Command(Deno.execPath(), {
          args: [
            "task",
            "experiment",
            "table1-isic-denoise",
            "--profile",
            "smoke",
            "--dataset",
            "folder",
            "--data",
            root,
          ],
          cwd: REPO,
          env: { NO_COLOR: "1", GRADPROM_CACHE: join(tmp, "cache"), GRADPROM_WORKERS: "1" },
        }).output();
        const dec = new TextDecoder();
        const out = dec.decode(o.stdout) + dec.decode(o.stderr);
        assert.equal(o.code, 0, out);
        assert.match(out, /GradProm/);
      });

      await t.step("deno task train --config: network sizes from the folder", async () => {
        const config = join(tmp, "c.json");
        await Deno.writeTextFile(
          config,
          JSON.stringify({
            data: { dataset: "folder", root: "mine", task: "segmentation", size: [16, 16] },
            ip: { channels: 4, blocks: 1 },
            seg: { depth: 2, baseWidth: 4 },
            train: { steps: 2, batchSize: 4 },
            vrPretrain: { steps: 2, batchSize: 4 },
          }),
        );
        const o = await new Deno.Command(Deno.execPath(), {
          args: ["task", "train", "--config", config],
          cwd: REPO,
          env: { NO_COLOR: "1", GRADPROM_CACHE: join(tmp, "cache"), GRADPROM_WORKERS: "1" },
        }).output();
        const dec = new TextDecoder();
        const out = dec.decode(o.stdout) + dec.decode(o.stderr);
        assert.equal(o.code, 0, out);
        assert.match(out, /"miou":/);
      });

      assert.deepEqual(await checksumListing(root), before, "something was written into DIR");
    } finally {
      for (const lock of locks) await Deno.remove(lock).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

/**
 * Writes a folder with JPEG masks (0 / 255 rectangles, quality 75) and CSVs in RFC 4180 quoting:
 * `labels.csv` with quoted names holding a comma and doubled quotes, `split.csv` all quoted.
 */
const WRITE_QUOTED_JPEG = `
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(5)
os.makedirs(os.path.join(root, "images"))
os.makedirs(os.path.join(root, "masks"))
labels = ['"image","label"']
split = ['"image" , "split"']
for k in range(10):
    name = "q%02d" % k
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), "RGB").save(
        os.path.join(root, "images", name + ".png"))
    mask = np.zeros((30, 40), np.uint8)
    mask[4 + k % 5: 22, 6: 31 - k % 3] = 255
    Image.fromarray(mask, "L").save(os.path.join(root, "masks", name + ".jpg"), "JPEG", quality=75)
    np.save(os.path.join(root, "..", name + ".npy"), mask)
    labels.append(name + ".png," + ('"benign, flat"' if k % 2 == 0 else '"the ""odd"" one"'))
    split.append('"%s","%s"' % (name, "train" if k < 7 else "test"))
for path, rows in (("labels.csv", labels), ("split.csv", split)):
    with open(os.path.join(root, path), "w", newline="") as f:
        f.write("\\r\\n".join(rows) + "\\r\\n")
`;

Deno.test({
  ...(await pythonTestOptions(
    "folder dataset: quoted CSV fields (RFC 4180) and JPEG masks (nearest of 0 / 255), with clear errors",
    ["PIL", "numpy"],
  )),
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "folder_dataset_quoted_" });
    const root = join(tmp, "mine");
    try {
      const py = await new Deno.Command(PYTHON_FOR_TESTS, {
        args: ["-c", WRITE_QUOTED_JPEG, root],
      }).output();
      assert.ok(py.success, new TextDecoder().decode(py.stderr));
      const before = await checksumListing(root);

      await t.step("quoted labels and split are read as written", async () => {
        const d = await resolveDataset("folder", root);
        assert.deepEqual(d.tasks.diagnosis?.classes, ["benign, flat", 'the "odd" one']);
        const scan = await scanFolder(root);
        assert.deepEqual(scan.labels, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        assert.deepEqual(scan.splitOf, [...Array(7).fill("train"), ...Array(3).fill("test")]);
        const test = await load(root, "test");
        assert.deepEqual(test.ids, ["q07", "q08", "q09"]);
        tf.dispose(test);
      });

      await t.step("JPEG masks: each pixel to the nearer of 0 and 255, then 0 / 1", async () => {
        // The JPEG really is lossy here: its stored values are not only 0 and 255.
        const raw = await sharp(join(root, "masks", "q00.jpg")).raw().toBuffer();
        assert.ok(new Set(raw).size > 2, `${new Set(raw).size} values`);
        const scan = await scanFolder(root);
        assert.equal(scan.maskMode, "binary");
        assert.deepEqual(scan.maskClasses, ["background", "foreground"]);
        const train = await FOLDER_DATASET.loadSplit({
          root,
          tasks: ["segmentation"],
          size: [30, 40],
          split: "train",
          seed: 0,
          limit: null,
        });
        const masks = await train.masks!.data();
        for (const [i, id] of train.ids.entries()) {
          const py = await new Deno.Command(PYTHON_FOR_TESTS, {
            args: [
              "-c",
              "import sys, numpy as np; sys.stdout.write(''.join(str(v // 255) for v in np.load(sys.argv[1]).ravel()))",
              join(tmp, `${id}.npy`),
            ],
          }).output();
          const truth = new TextDecoder().decode(py.stdout);
          const got = Array.from(masks.subarray(i * 1200, (i + 1) * 1200)).join("");
          assert.equal(got, truth, id);
        }
        tf.dispose(train);
        const report = await verifyDataset("folder", root, { lockPath: join(tmp, "lock.json") });
        assert.ok(report.ok, JSON.stringify(report.checks));
        assert.match(
          report.checks.find((c) => c.name === "masks: values")!.detail,
          /JPEG masks: each pixel to the nearer of 0 and 255/,
        );
      });

      await t.step(
        "a quote never closed, or text after one, is an error naming the line",
        async () => {
          const bad = join(tmp, "bad");
          await copyDir(root, bad);
          const labels = join(bad, "labels.csv");
          const rows = (await Deno.readTextFile(labels)).split("\r\n");
          const write = (row: number, ...text: string[]) =>
            Deno.writeTextFile(
              labels,
              [...rows.slice(0, row - 1), ...text, ...rows.slice(row)].join("\r\n"),
            );
          await write(11, 'q09.png,"benign');
          await assert.rejects(
            scanFolder(bad),
            new RegExp(`^Error: Line 11 of ${labels}: field 2 opens a quote that is never closed`),
          );
          // Unclosed before other quoted rows: the quote closes on a later line, which is named
          // with the line where it opened.
          await write(4, 'q02.png,"benign');
          await assert.rejects(
            scanFolder(bad),
            /Line 5 of .*labels\.csv: expected a comma or the line's end after the closing quote of field 2 \(its opening quote is on line 4: one missing there\?\)/,
          );
          await write(4, 'q02.png,"benign"x');
          await assert.rejects(
            scanFolder(bad),
            /Line 4 of .*labels\.csv: expected a comma or the line's end after the closing quote of field 2 but found "x"/,
          );
          // A quoted field over two lines: the line numbers of later rows stay right.
          await write(4, 'q02.png,"two\nlines"', "q03.png,x,y");
          await assert.rejects(scanFolder(bad), /Line 6 of .*labels\.csv has 3 fields, expected 2/);
        },
      );

      await t.step("a JPEG mask of class indices is refused, naming it", async () => {
        const bad = join(tmp, "indices");
        await copyDir(root, bad);
        const mask = new Uint8Array(30 * 40);
        for (let y = 5; y < 20; y++) for (let x = 5; x < 30; x++) mask[y * 40 + x] = 1;
        const path = join(bad, "masks", "q03.jpg");
        await sharp(mask, { raw: { width: 40, height: 30, channels: 1 } }).jpeg({ quality: 75 })
          .toFile(path);
        await assert.rejects(
          scanFolder(bad),
          new RegExp(`found values 0 … \\d+ only in ${path}: class indices do not survive JPEG`),
        );
      });

      assert.deepEqual(
        await checksumListing(root),
        before,
        "something was written into the folder",
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
