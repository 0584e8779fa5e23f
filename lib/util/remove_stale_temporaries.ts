/**
 * Clearing the temporary files that atomic writes of killed processes leave.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { _hostTag, _parseTemporaryName } from "./_temporary_path.ts";

/** Options of {@link removeStaleTemporaries}. */
export interface RemoveStaleTemporariesOptions {
  /** Only the temporaries of this file name (e.g. `state.bin`); default: of every file. */
  target?: string;
  /**
   * Temporaries not modified for this long are removed whoever wrote them (a
   * write takes seconds; default one hour). Younger ones are removed only when
   * their writer, on this machine, is no longer running.
   */
  maxAgeMs?: number;
}

/**
 * Removes the temporaries that `writeFileAtomic` calls left in a folder when
 * their process was killed mid-write (`<target>.<host>-<pid>.<random>.tmp`,
 * or `<target>.<pid>.<random>.tmp` from before the host part): those whose
 * writer ran on this machine and is no longer running, and any older than
 * `maxAgeMs`. A temporary of a running writer, or of a writer on another
 * machine sharing the folder, is kept while it is young. Other files are never
 * touched. A missing folder has none.
 *
 * @param dir The folder (not searched recursively).
 * @param options Which target; the age past which any temporary is stale.
 * @returns The paths removed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { removeStaleTemporaries } from "./remove_stale_temporaries.ts";
 * const dir = await Deno.makeTempDir();
 * // Left by process 4194305 (no process has this pid) killed while writing state.bin.
 * await Deno.writeTextFile(join(dir, "state.bin.4194305.0123abcd.tmp"), "partial");
 * await Deno.writeTextFile(join(dir, "notes.txt"), "kept");
 * const removed = await removeStaleTemporaries(dir, { target: "state.bin" });
 * assert.deepEqual(removed, [join(dir, "state.bin.4194305.0123abcd.tmp")]);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["notes.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeStaleTemporaries(
  dir: string,
  options: RemoveStaleTemporariesOptions = {},
): Promise<string[]> {
  const maxAgeMs = options.maxAgeMs ?? 3600_000;
  const host = _hostTag();
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isFile) continue;
    const t = _parseTemporaryName(entry.name);
    if (!t || (options.target !== undefined && t.target !== options.target)) continue;
    const path = join(dir, entry.name);
    let stale = (t.host ?? host) === host && !_isRunning(t.pid);
    if (!stale) {
      const mtime = (await Deno.stat(path).catch(() => undefined))?.mtime;
      stale = mtime !== undefined && mtime !== null && Date.now() - mtime.getTime() > maxAgeMs;
    }
    if (!stale) continue;
    try {
      await Deno.remove(path);
      removed.push(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // another cleaner was first
    }
  }
  return removed;
}

/**
 * Whether process `pid` runs on this machine (`/proc/<pid>` on Linux; elsewhere
 * assumed to run, leaving the temporary to the age rule).
 */
function _isRunning(pid: number): boolean {
  if (pid === Deno.pid) return true;
  if (Deno.build.os !== "linux") return true;
  return existsSync(`/proc/${pid}`);
}
