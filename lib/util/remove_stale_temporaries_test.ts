import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { removeStaleTemporaries } from "./remove_stale_temporaries.ts";
import { _temporaryPath } from "./_temporary_path.ts";

/** A pid that no process has: above Linux's largest possible pid (2^22). */
const DEAD_PID = 4_194_305;

/** The temporary a writer with this pid on this machine uses for `target` (its file name). */
const temporaryOf = (target: string, pid: number) => basename(_temporaryPath(target, pid));

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("removeStaleTemporaries() removes the temporaries of dead writers and keeps live ones", async () => {
  const dir = await Deno.makeTempDir();
  const target = join(dir, "state.bin");
  const dead = temporaryOf(target, DEAD_PID);
  const live = temporaryOf(target, Deno.pid);
  assert.match(dead, /^state\.bin\.[0-9a-f]{8}-4194305\.[0-9a-f]{8}\.tmp$/);
  const legacyDead = `state.bin.${DEAD_PID}.0123abcd.tmp`; // written before the host tag
  const other = temporaryOf(join(dir, "other.json"), DEAD_PID);
  for (const n of [dead, live, legacyDead, other, "notes.tmp", "state.bin.bak"]) {
    await Deno.writeTextFile(join(dir, n), "partial");
  }
  const removed = await removeStaleTemporaries(dir, { target: "state.bin" });
  assert.deepEqual(removed.map((p) => p.slice(dir.length + 1)).sort(), [dead, legacyDead].sort());
  assert.deepEqual(
    names(dir),
    [live, other, "notes.tmp", "state.bin.bak"].sort(),
    "a live writer's temporary, other targets' and files that are no temporaries are kept",
  );
  // Without a target: every dead writer's temporary in the folder.
  await removeStaleTemporaries(dir);
  assert.deepEqual(names(dir), [live, "notes.tmp", "state.bin.bak"].sort());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("removeStaleTemporaries() removes temporaries older than maxAgeMs whoever wrote them", async () => {
  const dir = await Deno.makeTempDir();
  const target = join(dir, "a.json");
  const live = temporaryOf(target, Deno.pid);
  const otherHost = `a.json.00000000-${DEAD_PID}.89abcdef.tmp`; // another machine's writer
  for (const n of [live, otherHost]) await Deno.writeTextFile(join(dir, n), "partial");
  assert.deepEqual(await removeStaleTemporaries(dir), [], "fresh, and not known to be dead");
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const n of [live, otherHost]) await Deno.utime(join(dir, n), old, old);
  const removed = await removeStaleTemporaries(dir, { maxAgeMs: 3600_000 });
  assert.equal(removed.length, 2);
  assert.deepEqual(names(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("removeStaleTemporaries() accepts a missing folder", async () => {
  assert.deepEqual(await removeStaleTemporaries("/nonexistent/folder"), []);
});
