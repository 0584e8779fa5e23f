import assert from "node:assert/strict";
import { join } from "node:path";
import { _temporaryPath } from "../util/_temporary_path.ts";
import { ResultsCache } from "./results_cache.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("ResultsCache.prepareForWrites() creates the folder and leaves no probe behind", async () => {
  const dir = await Deno.makeTempDir();
  const cache = new ResultsCache(join(dir, "cache"));
  await cache.prepareForWrites();
  assert.deepEqual(names(join(dir, "cache")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ResultsCache.prepareForWrites() names a cache path that is a file and says what to do", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "cache");
  await Deno.writeTextFile(file, "");
  await assert.rejects(new ResultsCache(file).prepareForWrites(), (e: Error) => {
    assert.match(e.message, new RegExp(`^Cannot write to the results cache at ${file}: `));
    assert.match(e.message, /is a file, not a folder/);
    assert.match(e.message, /GRADPROM_CACHE/);
    return true;
  });
  // A folder below a file: the same, naming the folder asked for.
  await assert.rejects(
    new ResultsCache(join(file, "sub")).prepareForWrites(),
    /^Error: Cannot write to the results cache at .*\/cache\/sub: .*GRADPROM_CACHE/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  // root writes into read-only folders, so as root the check cannot fail: skipped, saying so.
  name: "ResultsCache.prepareForWrites() names a read-only cache folder and says what to do" +
    (Deno.uid() === 0 ? " (skipped: running as root, which can write into read-only folders)" : ""),
  ignore: Deno.uid() === 0,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(join(dir, "runs"));
    await Deno.chmod(join(dir, "runs"), 0o555);
    try {
      await assert.rejects(new ResultsCache(dir).prepareForWrites(), (e: Error) => {
        assert.match(e.message, new RegExp(`^Cannot write to the results cache at ${dir}: `));
        assert.match(e.message, /runs/);
        assert.match(e.message, /GRADPROM_CACHE/);
        return true;
      });
    } finally {
      await Deno.chmod(join(dir, "runs"), 0o755);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ResultsCache.prepareForWrites() removes the temporaries killed writers left in the cache", async () => {
  const dir = await Deno.makeTempDir();
  const cache = new ResultsCache(dir);
  const dead = 4_194_305; // no process has this pid (Linux's max is 2^22)
  const stale = [
    _temporaryPath(cache.path("runs", "k"), dead),
    _temporaryPath(cache.sidePath("runs", "k", "ip.bin"), dead),
    _temporaryPath(cache.sidePath("checkpoints", "k", "state.bin"), dead),
    _temporaryPath(cache.sidePath("vr-pretrain", "p", "weights.bin"), dead),
  ];
  const live = _temporaryPath(cache.path("runs", "j"), Deno.pid);
  for (const p of [...stale, live, cache.path("runs", "k")]) {
    await Deno.mkdir(join(p, ".."), { recursive: true });
    await Deno.writeTextFile(p, "{}");
  }
  await cache.prepareForWrites();
  assert.deepEqual(
    names(join(dir, "runs")),
    [live.slice(live.lastIndexOf("/") + 1), "k.json"].sort(),
  );
  assert.deepEqual(names(join(dir, "checkpoints")), []);
  assert.deepEqual(names(join(dir, "vr-pretrain")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ResultsCache.get() moves a damaged entry aside with a warning and reports it absent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = new ResultsCache(dir);
    await cache.put("runs", "k1", { psnr: 30 });
    assert.deepEqual(await cache.get("runs", "k1"), { psnr: 30 });
    await Deno.writeTextFile(cache.path("runs", "k1"), '{"psnr": 3'); // torn by something else
    const warnings: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => void warnings.push(a.join(" "));
    try {
      assert.equal(await cache.get("runs", "k1"), undefined);
    } finally {
      console.error = error;
    }
    const left = [...Deno.readDirSync(join(dir, "runs"))].map((e) => e.name);
    assert.equal(left.length, 1);
    assert.match(left[0], /^k1\.json\.corrupt-/);
    assert.equal(Deno.readTextFileSync(join(dir, "runs", left[0])), '{"psnr": 3');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /k1\.json: not a valid cached result .*moved to .*corrupt-.*computing it again/,
    );
    assert.equal(await cache.get("runs", "k2"), undefined); // absent: no warning
    assert.equal(warnings.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
