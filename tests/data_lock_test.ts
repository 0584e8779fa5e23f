/**
 * A user's dataset folder and its checksum lock, from `data:verify` to the start of a run:
 *
 * - a partial or variant copy whose counts differ from the manifest is refused, naming the one
 *   command that accepts it (`data:verify … --update-lock`); after that command, runs pass with
 *   a printed warning; a corrupt file is refused even then;
 * - before every run the folder is re-checked cheaply against its lock (file list, sizes, mtimes;
 *   only changed files are read again), and a changed file stops the run, named;
 * - the "never inside the dataset folder" rule holds through symbolic links;
 * - a folder that fails verification is verified once per process and once per grid (worker
 *   processes of one parent), not once per run.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import "@tensorflow/tfjs-backend-cpu";
import { ensureDataLock, loadSplits } from "../lib/experiments/_data.ts";
import { defaultLockPath, verifyDataset } from "../lib/data/manifest.ts";
import { ISIC2018_LAYOUT as L } from "../lib/data/isic2018_classes.ts";
import { generateSyntheticCovidCt } from "../lib/data/synthetic_covid_ct.ts";
import { generateSyntheticIsic2018 } from "../lib/data/synthetic_isic2018.ts";

const TOOL = new URL("../tools/data.ts", import.meta.url).pathname;
const DATA_TS = new URL("../lib/experiments/_data.ts", import.meta.url).href;

const tmp = await Deno.makeTempDir({ prefix: "data_lock_test_" });
/** Default lock files the tests made (under data-manifests/locks/), removed at the end. */
const locks = new Set<string>();
globalThis.addEventListener("unload", () => {
  for (const l of locks) {
    try {
      Deno.removeSync(l);
    } catch { /* not written */ }
  }
  Deno.removeSync(tmp, { recursive: true });
});

const covidSource = generateSyntheticCovidCt({
  dir: join(tmp, "covid-source"),
  covidCounts: [2, 1, 1],
  nonCovidCounts: [2, 1, 1],
  minSize: 24,
  maxSize: 32,
});
const isicSource = generateSyntheticIsic2018({
  dir: join(tmp, "isic-source"),
  task3PerClass: 2,
  task1Count: 3,
});

let copies = 0;
/**
 * A fresh copy of a tiny synthetic set. `partial`: without its synthetic marker, so that its
 * counts are compared with the manifest's real ones (as for a partial real copy).
 */
async function copyOf(dataset: "covid_ct" | "isic2018", partial: boolean): Promise<string> {
  const source = dataset === "covid_ct" ? await covidSource : await isicSource;
  const root = join(tmp, `${dataset}-${++copies}`);
  await cp(source, root, { recursive: true, preserveTimestamps: true });
  if (partial) {
    await Deno.remove(
      join(root, dataset === "covid_ct" ? ".synthetic-covid-ct.json" : ".synthetic-isic2018.json"),
    );
  }
  locks.add(defaultLockPath(dataset, root));
  return root;
}

async function tool(...args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TOOL, ...args],
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

/** Runs `fn` with console.error captured; returns what it printed and its result or error. */
async function captured<T>(
  fn: () => Promise<T>,
): Promise<{ printed: string; value?: T; error?: Error }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    const value = await fn();
    return { printed: lines.join("\n"), value };
  } catch (e) {
    return { printed: lines.join("\n"), error: e as Error };
  } finally {
    console.error = original;
  }
}

const selection = (dataset: "covid_ct" | "isic2018", root: string) => ({
  dataset,
  root,
  task: "diagnosis" as const,
  size: [8, 8] as [number, number],
  splitSeed: 0,
  trainLimit: null,
  testLimit: null,
});

// ------------------------------------------------------------------------------------ A

Deno.test("ensureDataLock() refuses a partial copy naming the data:verify --update-lock command; after it, runs pass with a warning", async () => {
  const root = await copyOf("covid_ct", true);
  const command = `deno task data:verify covid_ct ${root} --update-lock`;

  const first = await captured(() => ensureDataLock({ dataset: "covid_ct", root }));
  assert.ok(first.error, "a partial copy without a lock must not train");
  assert.match(first.error.message, /does not verify as covid_ct: .*expected 191 .* but found 2/);
  assert.ok(first.error.message.includes(command), first.error.message);

  const cli = await tool("verify", "covid_ct", root, "--update-lock");
  assert.equal(cli.code, 0, cli.out);
  assert.match(cli.out, /WARN COVID train: listed: expected 191 \(manifest expected_counts\)/);
  assert.match(cli.out, /verify: OK with 8 warnings \(counts differ from the manifest/);
  const lock = JSON.parse(await Deno.readTextFile(defaultLockPath("covid_ct", root)));
  assert.ok(Object.keys(lock.files).length >= 10);
  assert.deepEqual(Object.keys(lock.stats).sort(), Object.keys(lock.files).sort());
  assert.equal(
    lock.counts.filter((c: { differs: boolean }) => c.differs).length,
    8,
    JSON.stringify(lock.counts),
  );
  // verify again: the recorded counts are accepted, still as warnings.
  const again = await tool("verify", "covid_ct", root);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /files match/);
  assert.match(again.out, /WARN COVID: images: expected 349/);

  const run = await captured(() => loadSplits(selection("covid_ct", root)));
  assert.equal(run.error, undefined, run.error?.message);
  run.value!.dispose();
  assert.match(
    run.printed,
    /data: warning: the counts of .* differ from the manifest \(accepted with deno task data:verify covid_ct .* --update-lock; lock .*\): .*COVID train: listed: expected 191/,
  );
});

Deno.test("data:verify --update-lock still refuses a corrupt file, and the run stops", async () => {
  const root = await copyOf("covid_ct", true);
  const folder = join(root, "Images-processed", "CT_COVID");
  const victim = [...Deno.readDirSync(folder)].map((e) => e.name).find((n) => n.endsWith(".png"))!;
  const bytes = await Deno.readFile(join(folder, victim));
  await Deno.writeFile(join(folder, victim), bytes.slice(0, bytes.length >> 1));
  const cli = await tool("verify", "covid_ct", root, "--update-lock");
  assert.equal(cli.code, 1, cli.out);
  assert.ok(cli.out.includes(`FAIL Images-processed/CT_COVID: decodable`), cli.out);
  assert.ok(cli.out.includes(victim), cli.out);
  await assert.rejects(Deno.stat(defaultLockPath("covid_ct", root)));
  const run = await captured(() => ensureDataLock({ dataset: "covid_ct", root }));
  assert.ok(run.error);
  assert.ok(run.error.message.includes(victim), run.error.message);
  assert.doesNotMatch(run.error.message, /--update-lock/);
});

Deno.test("verifyDataset() takes the ISIC CSV by column names: score_weight columns, CRLF", async () => {
  const root = await copyOf("isic2018", false);
  const csv = join(root, L.task3GroundTruth, L.task3Csv);
  const rows = (await Deno.readTextFile(csv)).trim().split(/\r?\n/);
  const text =
    rows.map((r, i) => i === 0 ? `${r},score_weight,validation_weight` : `${r},1.0,0.0`).join(
      "\r\n",
    ) + "\r\n";
  await Deno.writeTextFile(csv, text);
  const r = await verifyDataset("isic2018", root, { lockPath: join(tmp, "weights.lock.json") });
  const failed = r.checks.filter((c) => c.status === "fail");
  assert.deepEqual(failed, []);
  const header = r.checks.find((c) => c.name === "diagnosis: CSV header")!;
  assert.equal(header.status, "pass");
  assert.match(header.detail, /ignored: score_weight, validation_weight/);
});

// ------------------------------------------------------------------------------------ C

Deno.test("ensureDataLock() re-checks a locked folder before a run and names every changed file", async (t) => {
  const root = await copyOf("isic2018", false);
  const verified = await tool("verify", "isic2018", root);
  assert.equal(verified.code, 0, verified.out);
  const reverify = `deno task data:verify isic2018 ${root} --update-lock`;

  await t.step("a file touched but unchanged passes (only it is read again)", async () => {
    const readme = join(root, "README.txt");
    await Deno.utime(readme, new Date(), new Date(Date.now() + 5000));
    const r = await captured(() => ensureDataLock({ dataset: "isic2018", root }));
    assert.equal(r.error, undefined, r.error?.message);
  });

  const mask = [...Deno.readDirSync(join(root, L.task1GroundTruth))].map((e) => e.name)
    .find((n) => n.endsWith("_segmentation.png"))!;
  await t.step("a Task 1 mask shrunk to 40x30 stops the run", async () => {
    await sharp(new Uint8Array(40 * 30), { raw: { width: 40, height: 30, channels: 1 } })
      .png().toFile(join(root, L.task1GroundTruth, mask));
    const r = await captured(() => ensureDataLock({ dataset: "isic2018", root }));
    assert.ok(r.error, "a changed mask must stop the run");
    assert.ok(r.error.message.includes(`changed: ${L.task1GroundTruth}/${mask}`), r.error.message);
    assert.ok(r.error.message.includes(reverify), r.error.message);
  });

  await t.step("a changed CSV label (same size) stops the run too", async () => {
    const csv = join(root, L.task3GroundTruth, L.task3Csv);
    const lines = (await Deno.readTextFile(csv)).split("\n");
    const cells = lines[1].split(",");
    const hot = cells.indexOf("1.0"), other = hot === 1 ? 2 : 1;
    [cells[hot], cells[other]] = [cells[other], cells[hot]];
    lines[1] = cells.join(",");
    await Deno.writeTextFile(csv, lines.join("\n"));
    const r = await captured(() => loadSplits(selection("isic2018", root)));
    assert.ok(r.error, "a changed label must stop the run");
    assert.ok(
      r.error.message.includes(`${L.task3GroundTruth}/${L.task3Csv}`),
      r.error.message,
    );
    assert.ok(r.error.message.includes(`${L.task1GroundTruth}/${mask}`), r.error.message);
  });

  await t.step("new and missing files are named", async () => {
    await Deno.writeTextFile(join(root, "notes.txt"), "x");
    await Deno.remove(join(root, L.task3Input, "LICENSE.txt"));
    const r = await captured(() => ensureDataLock({ dataset: "isic2018", root }));
    assert.ok(r.error);
    assert.match(r.error.message, /missing: ISIC2018_Task3_Training_Input\/LICENSE\.txt/);
    assert.match(r.error.message, /new: notes\.txt/);
  });

  await t.step(
    "data:verify --update-lock refuses the shrunk mask; no lock is rewritten",
    async () => {
      const before = await Deno.readTextFile(defaultLockPath("isic2018", root));
      const cli = await tool("verify", "isic2018", root, "--update-lock");
      assert.equal(cli.code, 1, cli.out);
      assert.match(cli.out, /FAIL segmentation: mask sizes: .*\(30x40, image /);
      assert.equal(await Deno.readTextFile(defaultLockPath("isic2018", root)), before);
    },
  );
});

// ------------------------------------------------------------------------------------ D

Deno.test("the lock is never written inside the dataset folder, through a symbolic link too", async () => {
  const root = await copyOf("isic2018", false);
  const link = join(tmp, "link-to-isic");
  await Deno.symlink(root, link);
  for (const lock of [join(link, "x.lock.json"), join(root, "y.lock.json")]) {
    const r = await tool("verify", "isic2018", link, "--lock", lock);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /is inside the dataset folder/);
  }
  const r = await tool("verify", "isic2018", root, "--lock", join(link, "z.lock.json"));
  assert.equal(r.code, 1, r.out);
  for (const n of ["x", "y", "z"]) await assert.rejects(Deno.stat(join(root, `${n}.lock.json`)));
  // A lock path whose folder is a link into the dataset.
  const linkDir = join(tmp, "locks-link");
  await Deno.symlink(join(root, L.task3Input), linkDir);
  const viaDir = await tool("verify", "isic2018", root, "--lock", join(linkDir, "w.json"));
  assert.equal(viaDir.code, 1, viaDir.out);
  assert.match(viaDir.out, /is inside the dataset folder/);
  await assert.rejects(Deno.stat(join(root, L.task3Input, "w.json")));
  // The link and the folder share one default lock.
  assert.equal(defaultLockPath("isic2018", link), defaultLockPath("isic2018", root));
});

// ------------------------------------------------------------------------------------ F

Deno.test("a folder that fails verification is verified once per process, whatever the number of runs", async () => {
  const root = await copyOf("covid_ct", true);
  const r = await captured(async () => {
    const errors: string[] = [];
    for (let i = 0; i < 5; i++) {
      await ensureDataLock({ dataset: "covid_ct", root }).catch((e) => errors.push(e.message));
    }
    return errors;
  });
  assert.equal(r.value!.length, 5);
  assert.equal(new Set(r.value!).size, 1, "the same error every time");
  assert.equal(r.printed.match(/verifying it/g)?.length, 1, r.printed);
});

Deno.test("a folder that fails verification is verified once per grid (processes of one parent)", async () => {
  const root = await copyOf("covid_ct", true);
  const script = `import { ensureDataLock } from ${JSON.stringify(DATA_TS)};
try { await ensureDataLock({ dataset: "covid_ct", root: ${JSON.stringify(root)} }); }
catch (e) { console.error("error: " + e.message); Deno.exit(1); }`;
  const worker = async () => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      env: { NO_COLOR: "1" },
    }).output();
    return { code: o.code, err: new TextDecoder().decode(o.stderr) };
  };
  // Three "workers" at once, then two more: one verification in all.
  const outs = [
    ...await Promise.all([worker(), worker(), worker()]),
    await worker(),
    await worker(),
  ];
  for (const o of outs) {
    assert.equal(o.code, 1, o.err);
    assert.match(o.err, /does not verify as covid_ct/);
  }
  const verifications = outs.filter((o) => /verifying it/.test(o.err)).length;
  assert.equal(verifications, 1, outs.map((o) => o.err).join("\n---\n"));
  // Once the lock state changes (the copy accepted), the next run passes.
  assert.equal((await tool("verify", "covid_ct", root, "--update-lock")).code, 0);
  const after = await worker();
  assert.equal(after.code, 0, after.err);
});
