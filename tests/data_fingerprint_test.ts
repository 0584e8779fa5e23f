/**
 * The cache key of a user's data folder comes from the dataset's SHA-256
 * lock (`data:verify`): made on first use outside the folder, which is never
 * written; a folder that does not verify stops with the failing checks.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataFingerprint } from "../lib/experiments/_data.ts";
import { defaultLockPath } from "../lib/data/manifest.ts";
import { generateSyntheticCovidCt } from "../lib/data/synthetic_covid_ct.ts";

const listing = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else out.push(`${p}\t${Deno.statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
};

Deno.test("dataFingerprint() keys a user folder by its SHA-256 lock, written outside it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-fp-" });
  const root = join(tmp, "COVID-CT");
  const lock = defaultLockPath("covid_ct", root);
  try {
    await generateSyntheticCovidCt({
      dir: root,
      covidCounts: [3, 1, 1],
      nonCovidCounts: [3, 1, 1],
      minSize: 32,
      maxSize: 40,
    });
    const before = listing(root);
    const fp = await dataFingerprint({ dataset: "covid_ct", root });
    assert.match(fp, /^sha256-lock:[0-9a-f]{64}:[0-9a-f]{32}$/);
    const written = JSON.parse(await Deno.readTextFile(lock)) as { files: Record<string, string> };
    assert.ok(Object.keys(written.files).length >= 10);
    assert.ok(!lock.startsWith(root));
    assert.deepEqual(listing(root), before); // nothing written into the dataset folder
    assert.equal(await dataFingerprint({ dataset: "covid_ct", root }), fp);

    // A copy missing a split list does not verify: the error names the failing check.
    const broken = join(tmp, "broken");
    await Deno.mkdir(broken);
    await new Deno.Command("cp", { args: ["-r", `${root}/.`, broken] }).output();
    const list = [...Deno.readDirSync(join(broken, "Data-split", "COVID"))][0].name;
    await Deno.remove(join(broken, "Data-split", "COVID", list));
    await assert.rejects(
      () => dataFingerprint({ dataset: "covid_ct", root: broken }),
      /does not verify as covid_ct: .*deno task data:verify covid_ct/,
    );
    await Deno.remove(defaultLockPath("covid_ct", broken)).catch(() => {});
  } finally {
    await Deno.remove(lock).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("dataFingerprint() changes with the lock's checksums, not with its mtime or the folder's path", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gradprom-fp-" });
  const [a, same, edited] = ["a", "same", "edited"].map((n) => join(tmp, n));
  const locks = [a, same, edited].map((r) => defaultLockPath("covid_ct", r));
  try {
    await generateSyntheticCovidCt({
      dir: a,
      covidCounts: [3, 1, 1],
      nonCovidCounts: [3, 1, 1],
      minSize: 32,
      maxSize: 40,
    });
    // Copies with the same relative paths, sizes and mtimes: only their locks differ.
    for (const r of [same, edited]) {
      const cp = await new Deno.Command("cp", { args: ["-a", a, r] }).output();
      assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
    }
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
  } finally {
    for (const l of locks) await Deno.remove(l).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});
