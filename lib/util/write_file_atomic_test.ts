import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./write_file_atomic.ts";

Deno.test("writeFileAtomic() syncs the file before renaming it into place and the folder after", async () => {
  const dir = await Deno.makeTempDir();
  const target = join(dir, "state.bin");
  const sync = Deno.FsFile.prototype.sync;
  // At each sync, whether the target is there yet: the file's own sync comes before the rename
  // (false), the folder's after it (true).
  const seen: boolean[] = [];
  Deno.FsFile.prototype.sync = function (this: Deno.FsFile) {
    seen.push(existsSync(target));
    return sync.call(this);
  };
  try {
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
  } finally {
    Deno.FsFile.prototype.sync = sync;
  }
  assert.deepEqual(seen, [false, true]);
  assert.deepEqual([...await Deno.readFile(target)], [1, 2, 3]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() names the file and says the disk is full on ENOSPC, and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir();
  const target = join(dir, "runs", "abc.json");
  await writeFileAtomic(target, "old");
  // A writer that fails as a full disk does: Deno's own ENOSPC error, which names no file.
  const full = async () => await Deno.writeFile("/dev/full", new Uint8Array(8));
  await assert.rejects(
    writeFileAtomic(target, "new", { write: full }),
    (e: Error & { code?: string }) => {
      assert.match(e.message, /^Cannot write .*\/runs\/abc\.json: the disk is full \(/);
      assert.match(e.message, /free some space/);
      assert.equal(e.code, "ENOSPC");
      return true;
    },
  );
  assert.equal(await Deno.readTextFile(target), "old", "the old file is kept whole");
  const left = [...Deno.readDirSync(join(dir, "runs"))].map((e) => e.name);
  assert.deepEqual(left, ["abc.json"], "the temporary is removed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() names the file it could not write", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "a-file"), "");
  await assert.rejects(
    writeFileAtomic(join(dir, "a-file", "x.json"), "{}"),
    /^Error: Cannot write .*\/a-file\/x\.json: /,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() writes large data whole", async () => {
  const dir = await Deno.makeTempDir();
  const data = new Uint8Array(3 << 20).map((_, i) => i % 251);
  await writeFileAtomic(join(dir, "big.bin"), data);
  assert.deepEqual(await Deno.readFile(join(dir, "big.bin")), data);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() writes through a temporary that names the target, this machine and this process", async () => {
  const dir = await Deno.makeTempDir();
  let seen: string[] = [];
  await writeFileAtomic(join(dir, "state.bin"), "x", {
    write: async (file, data) => {
      seen = [...Deno.readDirSync(dir)].map((e) => e.name);
      await file.write(data);
    },
  });
  assert.equal(seen.length, 1);
  assert.match(seen[0], new RegExp(`^state\\.bin\\.[0-9a-f]{8}-${Deno.pid}\\.[0-9a-f]{8}\\.tmp$`));
  await Deno.remove(dir, { recursive: true });
});
