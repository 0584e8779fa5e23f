/**
 * Atomic, durable file writes: a reader (or a process killed mid-write, or a
 * machine that loses power) sees the old file or the new one, never half of one.
 *
 * @module
 */
import { dirname } from "node:path";
import { _temporaryPath } from "./_temporary_path.ts";

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /**
   * Writes the data into the open temporary file (default: all of it with
   * `file.write`). For tests: a writer that fails as a full disk does.
   */
  write?: (file: Deno.FsFile, data: Uint8Array) => Promise<void>;
}

/**
 * Writes a file atomically and durably: to a temporary file in the same folder
 * (created if missing; see `removeStaleTemporaries` for the ones a killed
 * writer leaves), synced to disk, renamed into place, then the folder synced,
 * so that neither the data nor the rename can be lost once this returns. Two
 * processes writing the same path leave one of their two files, whole.
 *
 * @param path File to write.
 * @param data Its contents (text is written as UTF-8).
 * @param options An injected writer (tests).
 * @throws {Error} `Cannot write <path>: …` naming the file (the error of the
 *   system call as `cause`, its `code` kept); on a full disk (`ENOSPC`,
 *   `EDQUOT`) it says so. The old file, if any, is left as it was.
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
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const write = options.write ?? _writeAll;
  const dir = dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw _writeError(path, e);
  }
  const tmp = _temporaryPath(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      await write(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw _writeError(path, e);
  }
  try {
    await _syncFolder(dir);
  } catch (e) {
    throw _writeError(path, e);
  }
}

/** Writes every byte (`FsFile.write` may write fewer than asked). */
async function _writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
}

/**
 * Syncs a folder, so that a rename into it survives a crash. Where the
 * platform cannot open or sync folders (Windows; some file systems refuse with
 * EINVAL, EPERM or EACCES) there is nothing to do.
 */
async function _syncFolder(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let folder: Deno.FsFile;
  try {
    folder = await Deno.open(dir, { read: true });
  } catch (e) {
    if (_refused(e)) return;
    throw e;
  }
  try {
    await folder.sync();
  } catch (e) {
    if (!_refused(e)) throw e;
  } finally {
    folder.close();
  }
}

const _REFUSED = new Set(["EINVAL", "EPERM", "EACCES", "ENOTSUP", "EISDIR", "EBADF"]);

function _refused(e: unknown): boolean {
  return _REFUSED.has((e as { code?: string })?.code ?? "");
}

/** The error of a failed write, naming the file it was for (and saying when the disk is full). */
function _writeError(path: string, e: unknown): Error {
  if (!(e instanceof Error)) return new Error(`Cannot write ${path}: ${String(e)}`);
  const code = (e as { code?: string }).code;
  const reason = code === "ENOSPC" || code === "EDQUOT"
    ? `the disk is full (${e.message}); free some space and run again`
    : e.message;
  const err = new Error(`Cannot write ${path}: ${reason}`, { cause: e });
  return code ? Object.assign(err, { code }) : err;
}
