/**
 * The done-means of a user's dataset folder, end to end through the README's commands: a small
 * ISIC 2018 folder written by a real image writer (PIL: JPEG images, 8-bit PNG masks, the Task 3
 * CSV with CRLF line ends and a `score_weight` column) runs Table 1 on the smoke profile
 * (`deno task experiment table1-isic-denoise --profile smoke --data DIR`) once accepted with
 * `deno task data:verify isic2018 DIR --update-lock`, and nothing is ever written inside the
 * folder (SHA-256 of every file and the list of every entry, before and after). A label changed
 * afterwards stops the next run, naming the file.
 *
 * Needs Debian's /usr/bin/python3 with python3-pil and python3-numpy (else ignored, the reason
 * in the name).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { PYTHON_FOR_TESTS, pythonTestOptions } from "../lib/_testing_python.ts";
import { defaultLockPath } from "../lib/data/manifest.ts";

const REPO = new URL("..", import.meta.url).pathname;

/** Writes the folder with PIL: 5 Task 3 images per class (24x32), 3 Task 1 pairs of two sizes. */
const WRITE_ISIC = `
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(7)
classes = ["MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]
def jpeg(path, h, w):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB").save(path, "JPEG", quality=90)
t3 = os.path.join(root, "ISIC2018_Task3_Training_Input")
rows = ["image," + ",".join(classes) + ",score_weight"]
for k in range(35):
    image_id = "ISIC_%07d" % (24306 + k)
    jpeg(os.path.join(t3, image_id + ".jpg"), 24, 32)
    rows.append(image_id + "," + ",".join("1.0" if c == k % 7 else "0.0" for c in range(7)) + ",1.0")
gt3 = os.path.join(root, "ISIC2018_Task3_Training_GroundTruth")
os.makedirs(gt3)
with open(os.path.join(gt3, "ISIC2018_Task3_Training_GroundTruth.csv"), "w", newline="") as f:
    f.write("\\r\\n".join(rows) + "\\r\\n")
t1 = os.path.join(root, "ISIC2018_Task1-2_Training_Input")
gt1 = os.path.join(root, "ISIC2018_Task1_Training_GroundTruth")
os.makedirs(gt1)
for k, (h, w) in enumerate([(30, 40), (36, 27), (30, 40)]):
    image_id = "ISIC_%07d" % (k + 1)
    jpeg(os.path.join(t1, image_id + ".jpg"), h, w)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 255
    Image.fromarray(mask, "L").save(os.path.join(gt1, image_id + "_segmentation.png"))
for d in (gt1, gt3):
    with open(os.path.join(d, "ATTRIBUTION.txt"), "w", newline="") as f:
        f.write("test images: random pixels\\r\\n")
    with open(os.path.join(d, "LICENSE.txt"), "w", newline="") as f:
        f.write("CC-0\\r\\n")
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
        const sum = createHash("sha256").update(await Deno.readFile(p)).digest("hex");
        out.push(`${rel} ${sum}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

async function deno(args: string[], env: Record<string, string>) {
  const o = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test({
  ...(await pythonTestOptions(
    "a PIL-written ISIC 2018 folder runs Table 1 (smoke) after data:verify --update-lock; nothing is written into it",
    ["PIL", "numpy"],
  )),
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "data_folder_run_" });
    const root = join(tmp, "ISIC2018");
    const lock = defaultLockPath("isic2018", root);
    const env = { GRADPROM_CACHE: join(tmp, "cache"), GRADPROM_WORKERS: "1" };
    const table1 = [
      "task",
      "experiment",
      "table1-isic-denoise",
      "--profile",
      "smoke",
      "--data",
      root,
    ];
    try {
      const py = await new Deno.Command(PYTHON_FOR_TESTS, { args: ["-c", WRITE_ISIC, root] })
        .output();
      assert.ok(py.success, new TextDecoder().decode(py.stderr));
      const before = await checksumListing(root);
      assert.equal(before.length, 4 + 35 + 1 + 3 + 3 + 4);

      // Without a lock: refused, naming the command that accepts the copy.
      const refused = await deno(table1, env);
      assert.equal(refused.code, 1, refused.out);
      assert.ok(
        refused.out.includes(`deno task data:verify isic2018 ${root} --update-lock`),
        refused.out,
      );

      const verify = await deno(["task", "data:verify", "isic2018", root, "--update-lock"], env);
      assert.equal(verify.code, 0, verify.out);
      assert.match(verify.out, /ok {3}diagnosis: CSV header: .*ignored: score_weight/);
      assert.match(verify.out, /WARN diagnosis: images: expected 10015 .* but found 35/);

      const run = await deno(table1, env);
      assert.equal(run.code, 0, run.out);
      assert.match(run.out, /data: warning: the counts of .* differ from the manifest/);
      assert.match(run.out, /GradProm \(gate\)/);

      assert.deepEqual(await checksumListing(root), before, "something was written into DIR");

      // A label changed after data:verify stops the next run, naming the file.
      const csv = join(
        root,
        "ISIC2018_Task3_Training_GroundTruth",
        "ISIC2018_Task3_Training_GroundTruth.csv",
      );
      const text = await Deno.readTextFile(csv);
      await Deno.writeTextFile(csv, text.replace("ISIC_0024306,1.0,0.0", "ISIC_0024306,0.0,1.0"));
      const stale = await deno(table1, env);
      assert.notEqual(stale.code, 0, stale.out);
      assert.ok(
        stale.out.includes(
          "changed: ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv",
        ),
        stale.out,
      );
    } finally {
      await Deno.remove(lock).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
