/**
 * The cache key of a user's data folder comes from the SHA-256 checksums its
 * lock records (`data:verify`, or the first run, writes the lock outside the
 * folder): computed read-only when there is no lock yet, and the same once
 * the lock exists. Computing a key never writes anything; a folder that does
 * not verify stops the run (not the key) with the failing checks.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataFingerprint, ensureDataLock, loadSplits } from "../lib/experiments/_data.ts";
import { defaultLockPath } from "../lib/data/manifest.ts";
import { generateSyntheticCovidCt } from "../lib/data/synthetic_covid_ct.ts";

const listing = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else out.push(`${p}\t${Deno.statSync(p).size}\t${Deno.statSync(p).mtime?.getTime()}`);
    }
  };
  walk(dir);
  return out.sort();
};

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

async function tinyCovid(dir: string): Promise<string> {
  return await generateSyntheticCovidCt({
    dir,
    covidCounts: [3, 1, 1],
    nonCovidCounts: [3, 1, 1],
    minSize: 32,
    maxSize: 40,
  });
}

/** `cp -a`: the same relative paths, sizes and modification times. */
async function copyAll(from: string, to: string): Promise<void> {
  const cp = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
  assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
}

Deno.test("dataFingerprint() keys a user folder by its checksums and writes nothing; the run writes the lock", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-fp-" });
  const [root, copy, broken] = ["COVID-CT", "copy", "broken"].map((n) => join(tmp, n));
  const locks = [root, copy, broken].map((r) => defaultLockPath("covid_ct", r));
  try {
    await tinyCovid(root);
    await copyAll(root, copy);
    const before = listing(tmp);

    // Without a lock: the key is computed read-only; no lock, nothing written anywhere.
    const fp = await dataFingerprint({ dataset: "covid_ct", root });
    assert.match(fp, /^sha256-lock:[0-9a-f]{64}:[0-9a-f]{32}$/);
    assert.equal(await exists(locks[0]), false);
    assert.deepEqual(listing(tmp), before);
    assert.equal(await dataFingerprint({ dataset: "covid_ct", root }), fp);

    // The run's start verifies the copy and writes its lock, outside the folder.
    await ensureDataLock({ dataset: "covid_ct", root: copy });
    const written = JSON.parse(await Deno.readTextFile(locks[1])) as {
      files: Record<string, string>;
    };
    assert.ok(Object.keys(written.files).length >= 10);
    assert.ok(!locks[1].startsWith(tmp));
    assert.deepEqual(listing(tmp), before); // nothing written into the dataset folders
    // The key from the lock is the key computed without it (same files, sizes, mtimes).
    assert.equal(await dataFingerprint({ dataset: "covid_ct", root: copy }), fp);

    // A copy missing a split list does not verify: its key is still computed (read-only),
    // and the run stops when it loads the data, naming the failing check.
    await copyAll(root, broken);
    const list = [...Deno.readDirSync(join(broken, "Data-split", "COVID"))][0].name;
    await Deno.remove(join(broken, "Data-split", "COVID", list));
    assert.match(await dataFingerprint({ dataset: "covid_ct", root: broken }), /^sha256-lock:/);
    assert.equal(await exists(locks[2]), false);
    const selection = {
      dataset: "covid_ct" as const,
      root: broken,
      task: "diagnosis" as const,
      size: [8, 8] as [number, number],
      splitSeed: 0,
      trainLimit: null,
      testLimit: null,
    };
    await assert.rejects(
      () => loadSplits(selection),
      /does not verify as covid_ct: .*deno task data:verify covid_ct/,
    );
    assert.equal(await exists(locks[2]), false);
  } finally {
    for (const l of locks) await Deno.remove(l).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("dataFingerprint() changes with the lock's checksums, not with its mtime or the folder's path", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-fp-" });
  const [a, same, edited] = ["a", "same", "edited"].map((n) => join(tmp, n));
  const locks = [a, same, edited].map((r) => defaultLockPath("covid_ct", r));
  try {
    await tinyCovid(a);
    // Copies with the same relative paths, sizes and mtimes: only their locks differ.
    for (const r of [same, edited]) await copyAll(a, r);
    await ensureDataLock({ dataset: "covid_ct", root: a });
    const fp = await dataFingerprint({ dataset: "covid_ct", root: a });
    const text = await Deno.readTextFile(locks[0]);
    const lock = JSON.parse(text) as { files: Record<string, string> };
    const [statPart, lockPart] = [fp.split(":")[2], fp.split(":")[1]];

    // The same lock contents, written later (a newer mtime) for another folder: the same key.
    await new Promise((r) => setTimeout(r, 20));
    await Deno.writeTextFile(locks[1], text);
    assert.notEqual(
      (await Deno.stat(locks[1])).mtime?.getTime(),
      (await Deno.stat(locks[0])).mtime?.getTime(),
    );
    assert.equal(await dataFingerprint({ dataset: "covid_ct", root: same }), fp);

    // One checksum changed, the files and their mtimes as they were: another key, from the lock.
    const [file, sum] = Object.entries(lock.files)[0];
    const flipped = (sum[0] === "0" ? "1" : "0") + sum.slice(1);
    await Deno.writeTextFile(
      locks[2],
      JSON.stringify({ ...lock, files: { ...lock.files, [file]: flipped } }, null, 2),
    );
    const fpEdited = await dataFingerprint({ dataset: "covid_ct", root: edited });
    assert.notEqual(fpEdited, fp);
    assert.equal(fpEdited.split(":")[2], statPart);
    assert.notEqual(fpEdited.split(":")[1], lockPart);
    // The run leaves an existing lock as it is (data:verify --update-lock rewrites it).
    await ensureDataLock({ dataset: "covid_ct", root: edited });
    assert.equal(await dataFingerprint({ dataset: "covid_ct", root: edited }), fpEdited);
  } finally {
    for (const l of locks) await Deno.remove(l).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("dataFingerprint() of the embedded data names the generator's version and settings", async () => {
  assert.equal(
    await dataFingerprint({ dataset: "isic2018", root: null }),
    'synthetic-isic2018-v1:{"seed":2018,"task3PerClass":80,"task1Count":120}',
  );
  assert.equal(
    await dataFingerprint({ dataset: "covid_ct", root: null }),
    "synthetic-covid_ct-v1:{}",
  );
  assert.equal(
    await dataFingerprint({ dataset: "lizard", root: null }),
    'synthetic-lizard-v1:{"perSource":24}',
  );
  assert.equal(
    await dataFingerprint({ dataset: "camus", root: null }),
    'synthetic-camus-v1:{"patients":40}',
  );
});
