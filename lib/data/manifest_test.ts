import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import {
  defaultLockPath,
  inspectDataset,
  inspectJson,
  MANIFEST_DIR,
  readManifest,
  verifyDataset,
} from "./manifest.ts";
import { ISIC2018_LAYOUT as L } from "./isic2018_classes.ts";
import { ISIC2018_DATASET } from "./isic2018.ts";
import { generateSyntheticIsic2018 } from "./synthetic_isic2018.ts";

const tmp = await Deno.makeTempDir({ prefix: "manifest_test_" });
// Removed when the module unloads (after its last test), not by a pseudo-test that asserts nothing.
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
const source = await generateSyntheticIsic2018({
  dir: join(tmp, "source"),
  task3PerClass: 2,
  task1Count: 2,
});
let copies = 0;
/** A fresh copy of the tiny synthetic set, and a lock path outside it. */
async function copy(): Promise<{ root: string; lock: string }> {
  const root = join(tmp, `copy${++copies}`);
  await cp(source, root, { recursive: true });
  return { root, lock: join(tmp, `lock${copies}.json`) };
}
function failed(r: { checks: { name: string; status: string; detail: string }[] }): string[] {
  return r.checks.filter((c) => c.status === "fail").map((c) => `${c.name}: ${c.detail}`);
}

Deno.test("readManifest() reads isic2018 and names the known manifests on a miss", async () => {
  const m = await readManifest("isic2018");
  assert.equal(m.id, "isic2018");
  await assert.rejects(readManifest("nope"), /No manifest .*nope\.json.*found: .*isic2018/);
  await assert.rejects(readManifest("../x"), /Expected a dataset name .* found "..\/x"/);
});

Deno.test("defaultLockPath() is under data-manifests/locks and depends on the folder", () => {
  const a = defaultLockPath("isic2018", "/data/a"), b = defaultLockPath("isic2018", "/data/b");
  assert.ok(a.startsWith(join(MANIFEST_DIR, "locks", "isic2018.")));
  assert.match(a, /isic2018\.[0-9a-f]{16}\.sha256\.json$/);
  assert.notEqual(a, b);
  assert.equal(defaultLockPath("isic2018", "/data/a/"), a);
});

Deno.test("verifyDataset() fails on real counts, an undecodable image and a bad CSV header", async () => {
  const { root, lock } = await copy();
  await Deno.remove(join(root, ISIC2018_DATASET.synthetic.marker));
  // Without the marker the real counts apply (and --synthetic the manifest's defaults).
  const real = await verifyDataset("isic2018", root, { lockPath: lock });
  assert.equal(real.ok, false);
  assert.equal(real.lock, "not-written");
  assert.ok(failed(real).some((f) => /diagnosis: images: expected 10015 .* but found 14/.test(f)));
  const synth = await verifyDataset("isic2018", root, { lockPath: lock, synthetic: true });
  assert.ok(failed(synth).some((f) => /expected 280 \(manifest synthetic.defaults\)/.test(f)));
  await assert.rejects(Deno.stat(lock));

  const { root: r2, lock: l2 } = await copy();
  await Deno.writeTextFile(join(r2, L.task3Input, "ISIC_0024307.jpg"), "not a jpeg");
  const csv = join(r2, L.task3GroundTruth, L.task3Csv);
  const text = await Deno.readTextFile(csv);
  await Deno.writeTextFile(csv, text.replace("image,MEL", "image,mel"));
  const bad = await verifyDataset("isic2018", r2, { lockPath: l2, task: "diagnosis" });
  const f = failed(bad);
  assert.ok(
    f.some((x) => /decodable: 1 of 14 files do not decode: ISIC_0024307\.jpg/.test(x)),
    f.join("\n"),
  );
  assert.ok(f.some((x) => /CSV header: expected "image,MEL,.*" but found "image,mel,/.test(x)));
});

Deno.test("verifyDataset() checks a partial copy and rewrites the lock on request", async () => {
  const { root, lock } = await copy();
  await Deno.remove(join(root, L.task1Input), { recursive: true });
  await Deno.remove(join(root, L.task1GroundTruth), { recursive: true });
  const first = await verifyDataset("isic2018", root, { lockPath: lock });
  assert.deepEqual(failed(first), []);
  assert.equal(first.lock, "created");
  assert.ok(first.checks.some((c) => c.name === "task segmentation" && c.status === "info"));
  await Deno.remove(join(root, L.task3Input, "LICENSE.txt"));
  const changed = await verifyDataset("isic2018", root, { lockPath: lock });
  assert.equal(changed.ok, false);
  assert.deepEqual(changed.missing, [`${L.task3Input}/LICENSE.txt`]);
  const updated = await verifyDataset("isic2018", root, { lockPath: lock, updateLock: true });
  assert.equal(updated.ok, true);
  assert.equal(updated.lock, "updated");
  assert.equal((await verifyDataset("isic2018", root, { lockPath: lock })).lock, "matched");
  // Asking for the missing task fails, naming its folders.
  const seg = await verifyDataset("isic2018", root, { lockPath: lock, task: "segmentation" });
  assert.ok(failed(seg).some((x) => x.includes(`missing ${L.task1Input}`)));
});

Deno.test("inspectDataset() reports stored sizes, classes and mask pixels per split", async () => {
  const d = await inspectDataset("isic2018", source);
  assert.equal(d.task, "diagnosis");
  const n = Object.values(d.splits).reduce((a, s) => a + s.samples, 0);
  assert.equal(n, 14);
  assert.deepEqual([d.splits.train.height, d.splits.train.width], [96, 128]);
  const s = await inspectDataset("isic2018", source, { task: "segmentation" });
  for (const split of Object.values(s.splits)) {
    assert.equal(split.classes, undefined);
    if (split.samples) assert.ok(split.maskPixels!.lesion > 0);
  }
  const j = inspectJson(s);
  assert.deepEqual(Object.keys(j), ["dataset", "splits"]);
  await assert.rejects(inspectDataset("isic2018", source, { task: "x" }), /Expected task/);
  await assert.rejects(inspectDataset("isic2018", join(tmp, "none")), /folder not found/);
});
