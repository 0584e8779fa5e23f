/**
 * Atomic file writes: a reader (or a process killed mid-write) sees the old
 * file or the new one, never half of one.
 *
 * @module
 */
import { dirname } from "node:path";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";

/**
 * Writes a file atomically: to a temporary file in the same folder (created
 * if missing), then renamed into place. Two processes writing the same path
 * leave one of their two files, whole.
 *
 * @param path File to write.
 * @param data Its contents (text is written as UTF-8).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { writeFileAtomic } from "./write_file_atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(join(dir, "a", "b.json"), "{}");
 * assert.equal(await Deno.readTextFile(join(dir, "a", "b.json")), "{}");
 * assert.deepEqual([...Deno.readDirSync(join(dir, "a"))].map((e) => e.name), ["b.json"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
