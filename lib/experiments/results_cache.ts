/**
 * A results cache on disk, keyed by a hash of everything a result depends on.
 *
 * Entries are JSON files (and optional binary side files, e.g. weights) under
 * one folder. Every write goes to a temporary file in the same folder and is
 * renamed into place, so a killed process or two processes writing the same
 * entry never leave a torn file: readers see the old entry, or the new one.
 *
 * @module
 */
import { createHash } from "node:crypto";
import denoJson from "../../deno.json" with { type: "json" };
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { _temporaryPath } from "../util/_temporary_path.ts";
import { removeStaleTemporaries } from "../util/remove_stale_temporaries.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

// Re-exported for the modules that took it from here before it moved to lib/util/.
export { writeFileAtomic };

/** Version of the library, part of every cache key. */
export const LIB_VERSION: string = denoJson.version;

/** The repository's root folder. */
export const REPO_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Default cache folder: `$GRADPROM_CACHE`, else `<repo>/results/cache`. */
export function defaultCacheDir(): string {
  return Deno.env.get("GRADPROM_CACHE") ?? join(REPO_ROOT, "results", "cache");
}

/**
 * JSON with object keys sorted at every level, so equal values hash equally
 * whatever the order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/**
 * SHA-256 (hex) of the canonical JSON of a value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashKey } from "./results_cache.ts";
 * assert.equal(hashKey({ b: 1, a: 2 }), hashKey({ a: 2, b: 1 }));
 * ```
 */
export function hashKey(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** A folder of cached results. */
export class ResultsCache {
  /** @param dir Cache folder (created on first write). */
  constructor(readonly dir: string = defaultCacheDir()) {}

  /** Path of an entry's JSON file. */
  path(kind: string, key: string): string {
    return join(this.dir, kind, `${key}.json`);
  }

  /** Path of an entry's side file (e.g. `weights.bin`). */
  sidePath(kind: string, key: string, name: string): string {
    return join(this.dir, kind, `${key}.${name}`);
  }

  /**
   * The cached value, or undefined when there is none. An entry that is not valid JSON (damaged
   * after it was written: writes are atomic) is moved aside to `<entry>.corrupt-<time>`, with a
   * warning naming both paths, and counts as absent, so it is computed again and nothing is lost.
   *
   * @throws {Error} When the entry exists but cannot be read (naming it and the reason).
   */
  async get<T>(kind: string, key: string): Promise<T | undefined> {
    const path = this.path(kind, key);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return undefined;
      throw new Error(
        `${path}: cannot read this cached result (${(e as Error).message}); make it readable ` +
          `or delete it`,
        { cause: e },
      );
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      const aside = `${path}.corrupt-${new Date().toISOString().replaceAll(":", "")}`;
      try {
        await Deno.rename(path, aside);
      } catch (r) {
        throw new Error(
          `${path}: not a valid cached result (${(e as Error).message}), and it cannot be moved ` +
            `aside (${(r as Error).message}); delete it to compute it again`,
          { cause: e },
        );
      }
      console.error(
        `warning: ${path}: not a valid cached result (${(e as Error).message}); moved to ` +
          `${aside}, computing it again`,
      );
      return undefined;
    }
  }

  /** Stores a value atomically (an error names the file, and says when the disk is full). */
  async put(kind: string, key: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.path(kind, key), JSON.stringify(value, null, 1));
  }

  /**
   * Makes sure, before any work starts, that results can be stored: creates
   * the cache folder, creates and removes a probe file in it and in each of its
   * subfolders (`runs/`, `checkpoints/`, …), and removes the temporaries that
   * writers killed mid-write left there (see `removeStaleTemporaries`).
   * Cheap (a few file operations); `runExperiment` and `runGrid` call it first,
   * so that a cache that cannot be written fails at once, not after minutes of
   * training.
   *
   * @throws {Error} `Cannot write to the results cache at <dir>: <why>. Make it writable, or set
   *   GRADPROM_CACHE to a writable folder.` when the folder is read-only or cannot be created
   *   (`… it is a file, not a folder. Move the file away, or set …` when it is a file).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { join } from "node:path";
   * import { ResultsCache } from "./results_cache.ts";
   * const dir = await Deno.makeTempDir();
   * await Deno.writeTextFile(join(dir, "file"), "");
   * await new ResultsCache(join(dir, "cache")).prepareForWrites(); // created, writable
   * await assert.rejects(new ResultsCache(join(dir, "file")).prepareForWrites(), /GRADPROM_CACHE/);
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async prepareForWrites(): Promise<void> {
    const fail = (why: string, cause?: unknown, todo = "Make it writable") =>
      new Error(
        `Cannot write to the results cache at ${this.dir}: ${why}. ` +
          `${todo}, or set GRADPROM_CACHE to a writable folder.`,
        { cause },
      );
    const info = await Deno.stat(this.dir).catch(() => undefined);
    if (info && !info.isDirectory) {
      throw fail("it is a file, not a folder", undefined, "Move the file away");
    }
    try {
      await Deno.mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw fail(`cannot create it (${(e as Error).message})`, e);
    }
    const folders = [this.dir];
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isDirectory) folders.push(join(this.dir, e.name));
    }
    for (const folder of folders) {
      const probe = _temporaryPath(join(folder, ".write-probe"));
      try {
        await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
        await Deno.remove(probe);
      } catch (e) {
        await Deno.remove(probe).catch(() => {});
        throw fail(`cannot create files in ${folder} (${(e as Error).message})`, e);
      }
      await removeStaleTemporaries(folder);
    }
  }
}
