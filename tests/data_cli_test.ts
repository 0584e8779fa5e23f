import assert from "node:assert/strict";
import { join } from "node:path";
import { generateSyntheticIsic2018 } from "../lib/data/synthetic_isic2018.ts";
import { generateSyntheticCovidCt } from "../lib/data/synthetic_covid_ct.ts";
import { generateSyntheticLizard } from "../lib/data/synthetic_lizard.ts";
import { generateSyntheticCamus } from "../lib/data/synthetic_camus.ts";
import { LIZARD_CLASSES } from "../lib/data/lizard.ts";
import { DATASET_IDS, DATASETS, inspectionTasks } from "../lib/data/registry.ts";

const TOOL = new URL("../tools/data.ts", import.meta.url).pathname;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TOOL, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Every entry under `dir` with its size and modification time. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const s = await Deno.lstat(p);
      out.push(`${p} ${s.size} ${s.mtime?.getTime()}`);
      if (s.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

Deno.test("tools/data.ts --help lists every registered dataset with its task words", async () => {
  const r = await run("--help");
  assert.equal(r.code, 0, r.stderr);
  for (const id of DATASET_IDS) {
    const line = `${id} (${DATASETS[id].name}): ${inspectionTasks(DATASETS[id]).join(", ")}`;
    assert.ok(r.stdout.includes(line), `${line}\n${r.stdout}`);
  }
  assert.match(r.stdout, /also accepted: classification for diagnosis/);
  const bad = await run("inspect", "lizard", ".", "--task", "view");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Expected task segmentation or diagnosis for lizard but found "view"/);
});

Deno.test("tools/data.ts verify and inspect a tiny synthetic ISIC 2018, never writing into it", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "data_cli_test_" });
  try {
    const root = await generateSyntheticIsic2018({
      dir: join(tmp, "isic"),
      task3PerClass: 3,
      task1Count: 6,
    });
    const lock = join(tmp, "locks", "isic.sha256.json");
    const before = await snapshot(root);

    await t.step("verify passes and writes the lock outside the folder", async () => {
      const r = await run("verify", "isic2018", root, "--lock", lock);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /first verified copy/);
      assert.match(r.stdout, /diagnosis: images: 21 \(synthetic marker/);
      assert.match(r.stdout, /segmentation: masks: 6 /);
      const written = JSON.parse(await Deno.readTextFile(lock));
      // 21 + 6 images, 6 masks, the CSV, ATTRIBUTION/LICENSE in 4 folders, README, marker.
      assert.equal(Object.keys(written.files).length, 44);
      assert.equal(written.files[".synthetic-isic2018.json"]?.length, 64);
      assert.ok("ISIC2018_Task3_Training_Input/ISIC_0024306.jpg" in written.files);
      const again = await run("verify", "isic2018", root, "--lock", lock);
      assert.equal(again.code, 0, again.stdout);
      assert.match(again.stdout, /files match/);
    });

    await t.step("inspect --json prints one object with the expected counts", async () => {
      const r = await run("inspect", "isic2018", root, "--json");
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(j), ["dataset", "splits"]);
      assert.equal(j.dataset, "isic2018");
      assert.deepEqual(Object.keys(j.splits), ["train", "val", "test"]);
      const total = Object.values(j.splits as Record<string, { samples: number }>)
        .reduce((a, s) => a + s.samples, 0);
      assert.equal(total, 21);
      // 3 per class split 0.7 / 0.1 / 0.2: round(0.3) = 0 val, round(0.6) = 1 test, 2 train.
      assert.deepEqual(j.splits.train.classes, {
        MEL: 2,
        NV: 2,
        BCC: 2,
        AKIEC: 2,
        BKL: 2,
        DF: 2,
        VASC: 2,
      });
      assert.equal(j.splits.train.samples, 14);
      assert.deepEqual([j.splits.train.height, j.splits.train.width, j.splits.train.channels], [
        96,
        128,
        3,
      ]);
      assert.equal(j.splits.train.maskPixels, undefined);

      const s = await run("inspect", "isic2018", root, "--json", "--task", "segmentation");
      assert.equal(s.code, 0, s.stderr);
      const seg = JSON.parse(s.stdout);
      let pixels = 0, samples = 0;
      for (const split of Object.values(seg.splits) as Record<string, unknown>[]) {
        assert.equal(split.classes, undefined);
        const mp = split.maskPixels as Record<string, number>;
        assert.deepEqual(Object.keys(mp), ["background", "lesion"]);
        pixels += mp.background + mp.lesion;
        samples += split.samples as number;
      }
      assert.equal(samples, 6);
      assert.ok(pixels >= 6 * 96 * 128, `${pixels} mask pixels`);
    });

    assert.deepEqual(await snapshot(root), before, "verify/inspect wrote into the dataset");

    await t.step("verify fails naming an altered file", async () => {
      const victim = join(root, "ISIC2018_Task1_Training_GroundTruth", "ATTRIBUTION.txt");
      await Deno.writeTextFile(victim, "changed\n", { append: true });
      const r = await run("verify", "isic2018", root, "--lock", lock);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /changed: ISIC2018_Task1_Training_GroundTruth\/ATTRIBUTION\.txt/);
      assert.match(r.stdout, /verify: FAILED/);
    });

    await t.step("verify refuses a lock inside the dataset folder", async () => {
      const r = await run("verify", "isic2018", root, "--lock", join(root, "x.json"));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /inside the dataset folder/);
      await assert.rejects(Deno.stat(join(root, "x.json")));
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** verify passes (lock outside), inspect --json matches, the folder is untouched, then an altered file is named. */
async function checkDataset(
  t: Deno.TestContext,
  name: string,
  root: string,
  tmp: string,
  inspectArgs: string[],
  expectInspect: (j: {
    dataset: string;
    splits: Record<string, Record<string, unknown>>;
  }) => void,
  victim: string,
): Promise<void> {
  const lock = join(tmp, "locks", `${name}-${root.split("/").pop()}.sha256.json`);
  const before = await snapshot(root);
  await t.step(`${name}: verify passes and writes the lock outside the folder`, async () => {
    const r = await run("verify", name, root, "--lock", lock);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /first verified copy/);
    assert.match(r.stdout, /\(synthetic marker /);
    assert.doesNotMatch(r.stdout, /FAIL/);
  });
  await t.step(`${name}: inspect --json prints one object with the expected counts`, async () => {
    const r = await run("inspect", name, root, "--json", ...inspectArgs);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(j), ["dataset", "splits"]);
    assert.equal(j.dataset, name);
    assert.deepEqual(Object.keys(j.splits), ["train", "val", "test"]);
    expectInspect(j);
  });
  assert.deepEqual(await snapshot(root), before, `verify/inspect wrote into ${name}`);
  await t.step(`${name}: verify fails naming an altered file`, async () => {
    await Deno.writeTextFile(join(root, victim), "changed\n", { append: true });
    const r = await run("verify", name, root, "--lock", lock);
    assert.equal(r.code, 1, r.stdout);
    assert.ok(r.stdout.includes(`changed: ${victim}`), r.stdout);
    assert.match(r.stdout, /verify: FAILED/);
  });
}

const sum = (splits: Record<string, Record<string, unknown>>, key = "samples") =>
  Object.values(splits).reduce((a, s) => a + (s[key] as number), 0);

Deno.test("tools/data.ts verify and inspect a tiny synthetic COVID-CT", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "data_cli_covid_" });
  try {
    const root = await generateSyntheticCovidCt({
      dir: join(tmp, "covid"),
      covidCounts: [3, 1, 2],
      nonCovidCounts: [4, 1, 1],
      minSize: 32,
      maxSize: 40,
    });
    await checkDataset(t, "covid_ct", root, tmp, [], (j) => {
      assert.equal(sum(j.splits), 12);
      assert.deepEqual(j.splits.train.classes, { NonCOVID: 4, COVID: 3 });
      assert.deepEqual(j.splits.val.classes, { NonCOVID: 1, COVID: 1 });
      assert.deepEqual(j.splits.test.classes, { NonCOVID: 1, COVID: 2 });
      assert.equal(j.splits.train.maskPixels, undefined);
      assert.ok((j.splits.train.width as number) >= 32 && (j.splits.train.width as number) <= 40);
    }, "README.txt");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("tools/data.ts verify and inspect a tiny synthetic Lizard", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "data_cli_lizard_" });
  try {
    const root = await generateSyntheticLizard({
      dir: join(tmp, "lizard"),
      perSource: 3,
      minSize: 32,
      maxSize: 40,
    });
    const r = await run("inspect", "lizard", root, "--json", "--task", "diagnosis");
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    for (const s of Object.values(c.splits) as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(s.classes as object), LIZARD_CLASSES);
      assert.equal(s.maskPixels, undefined);
    }
    assert.ok(sum(c.splits) > 0 && sum(c.splits) <= 15);
    await checkDataset(t, "lizard", root, tmp, [], (j) => {
      assert.equal(sum(j.splits), 15);
      // Fold 3 (one tile per source) is the test split.
      assert.equal(j.splits.test.samples, 5);
      for (const s of Object.values(j.splits)) {
        assert.equal(s.classes, undefined);
        const mp = s.maskPixels as Record<string, number>;
        assert.deepEqual(Object.keys(mp), ["background", ...LIZARD_CLASSES]);
        const px = Object.values(mp).reduce((a, b) => a + b, 0);
        assert.ok(px >= (s.samples as number) * 32 * 32, `${px} mask pixels`);
      }
    }, "lizard_labels/Lizard_Labels/info.csv");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("tools/data.ts verify and inspect a tiny synthetic CAMUS (both releases)", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "data_cli_camus_" });
  try {
    const paths = await generateSyntheticCamus({
      dir: join(tmp, "camus"),
      patients: 3,
      width: 24,
      height: 32,
    });
    // 3 patients: 1 train, 1 val, 1 test (nifti lists); 4 items each.
    await checkDataset(t, "camus", paths.nifti, tmp, [], (j) => {
      assert.deepEqual(Object.values(j.splits).map((s) => s.samples), [4, 4, 4]);
      for (const s of Object.values(j.splits)) {
        assert.equal(s.channels, 1);
        assert.deepEqual(Object.keys(s.maskPixels as object), [
          "background",
          "lv",
          "myocardium",
          "la",
        ]);
        assert.ok((s.maskPixels as Record<string, number>).lv > 0);
      }
    }, "database_split/subgroup_testing.txt");
    // Legacy MetaImage copy: 2 training patients (8 items) split by the loader, 1 in testing/.
    await checkDataset(t, "camus", paths.mhd, tmp, ["--task", "view"], (j) => {
      assert.equal(sum(j.splits), 8);
      const views = Object.values(j.splits).map((s) => s.classes as Record<string, number>);
      assert.equal(views.reduce((a, c) => a + c["2CH"], 0), 4);
      assert.equal(j.splits.train.maskPixels, undefined);
    }, "testing/patient0003/Info_2CH.cfg");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("tools/data.ts inspect decodes every image it counts and names the unreadable ones", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "data_cli_unreadable_" });
  try {
    const root = await generateSyntheticIsic2018({
      dir: join(tmp, "isic"),
      task3PerClass: 2,
      task1Count: 3,
    });
    const task3 = join(root, "ISIC2018_Task3_Training_Input");
    const [truncated, text] = [...Deno.readDirSync(task3)].map((e) => e.name)
      .filter((n) => n.endsWith(".jpg")).sort();
    const bytes = await Deno.readFile(join(task3, truncated));
    await Deno.writeFile(join(task3, truncated), bytes.slice(0, bytes.length >> 1));
    await Deno.writeTextFile(join(task3, text), "this is not a JPEG\n");
    const r = await run("inspect", "isic2018", root);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.ok(out.includes(`unreadable: ${join(task3, truncated)} (`), out);
    assert.ok(out.includes(`unreadable: ${join(task3, text)} (`), out);
    assert.match(out, /2 of 14 files do not decode/);
    const j = await run("inspect", "isic2018", root, "--json");
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.stdout).unreadable.length, 2);

    // A truncated Task 1 mask, counted by inspect --task segmentation.
    const gt = join(root, "ISIC2018_Task1_Training_GroundTruth");
    const mask = [...Deno.readDirSync(gt)].map((e) => e.name).find((n) => n.endsWith(".png"))!;
    const m = await Deno.readFile(join(gt, mask));
    await Deno.writeFile(join(gt, mask), m.slice(0, m.length >> 1));
    const s = await run("inspect", "isic2018", root, "--task", "segmentation");
    assert.equal(s.code, 1, s.stdout + s.stderr);
    assert.ok((s.stdout + s.stderr).includes(`unreadable: ${join(gt, mask)} (`), s.stdout);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
