/**
 * The building blocks of the datasets' `verify` checks (see each descriptor's
 * `verify`): counts against expectations, decodability, file-name patterns,
 * where the expected counts come from; and the folder listings the loaders
 * share. Everything here only reads.
 *
 * @module
 */
import { join, relative } from "node:path";
import sharp from "sharp";
import type {
  DatasetManifest,
  DatasetToolOptions,
  InspectedSplit,
  SyntheticCopy,
  VerifyCheck,
} from "./dataset_descriptor.ts";

/** Up to `n` names, then a count of the rest. */
export function _few(names: readonly string[], n = 5): string {
  const head = names.slice(0, n).join(", ");
  return names.length > n ? `${head} (and ${names.length - n} more)` : head;
}

/** The sorted non-hidden names in `dir`; a missing folder (or any other error) throws. */
export async function _readNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (!e.name.startsWith(".")) names.push(e.name);
  return names.sort();
}

/** Whether `err` says a path is missing or not a folder. */
function _isMissing(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory;
}

/** The sorted non-hidden names in `dir`, or undefined when it is missing or not a folder. */
export async function _listNames(dir: string): Promise<string[] | undefined> {
  try {
    return await _readNames(dir);
  } catch (err) {
    if (_isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * The sorted non-hidden names in the required folder `root/rel`. When it is
 * missing (or not a folder), throws an Error with `missing(found)`, `found`
 * being the sorted non-hidden names in `root`; when `root` cannot be read
 * either, throws that error, or an Error with `rootMissing` when given. The
 * folder's error is the `cause`.
 */
export async function _requiredNames(
  root: string,
  rel: string,
  missing: (found: string[]) => string,
  rootMissing?: string,
): Promise<string[]> {
  try {
    return await _readNames(join(root, rel));
  } catch (err) {
    if (!_isMissing(err)) throw err;
    const found = await _readNames(root).catch((rootErr) => {
      throw rootMissing === undefined ? rootErr : new Error(rootMissing, { cause: err });
    });
    throw new Error(missing(found), { cause: err });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function _pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => R | Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * An inspection's mask pixels per class ({@linkcode InspectedSplit.maskPixels}):
 * `read` gives the class index of every pixel of a mask file, at its stored
 * size; `count()` reads the masks of `paths`, four at a time (a mask that does not
 * read goes to `onUnreadable` when given, else throws).
 */
export function _maskPixels(
  names: readonly string[],
  paths: readonly string[],
  read: (path: string) => Iterable<number> | Promise<Iterable<number>>,
): NonNullable<InspectedSplit["maskPixels"]> {
  return {
    names,
    count: async (onUnreadable) => {
      const counts = names.map(() => 0);
      await _pool(paths, 4, async (p) => {
        let values: Iterable<number>;
        try {
          values = await read(p);
        } catch (err) {
          if (!onUnreadable) throw err;
          onUnreadable(p, (err as Error).message);
          return;
        }
        for (const v of values) counts[v]++;
      });
      return counts;
    },
  };
}

/** `v` when it is a number. */
export function _num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/**
 * A count against its expectation: `info` when nothing is expected. Marked `kind: "count"`,
 * so that `verifyDataset` can accept a partial copy's counts (`--update-lock`).
 */
export function _countCheck(
  name: string,
  found: number,
  expected: number | undefined,
  source: string,
): VerifyCheck {
  const kind = "count";
  if (expected === undefined) {
    return { name, status: "info", detail: `${found} (no expected count in ${source})`, kind };
  }
  return found === expected
    ? { name, status: "pass", detail: `${found} (${source})`, kind }
    : { name, status: "fail", detail: `expected ${expected} (${source}) but found ${found}`, kind };
}

/** Fails with `fail` and up to five of `bad`, or passes with `pass`. */
export function _listCheck(
  name: string,
  bad: readonly string[],
  fail: string,
  pass: string,
): VerifyCheck {
  return bad.length
    ? { name, status: "fail", detail: `${fail}: ${_few(bad)}` }
    : { name, status: "pass", detail: pass };
}

/**
 * Whether every file of `total` reads: fails listing up to five of `bad`,
 * else passes (`<total> <what> read<note>`).
 */
export function _readCheck(
  name: string,
  bad: readonly string[],
  total: number,
  what: string,
  note = "",
): VerifyCheck {
  return _listCheck(
    name,
    bad,
    `${bad.length} of ${total} ${what} do not read`,
    `${total} ${what} read${note}`,
  );
}

/**
 * Whether every `what` (mask, label map) has its image's size: fails listing
 * up to five of `mismatched`, else passes.
 */
export function _sizeMatchCheck(
  name: string,
  mismatched: readonly string[],
  what: string,
): VerifyCheck {
  return _listCheck(
    name,
    mismatched,
    `${mismatched.length} ${what}s differ in size from their image`,
    `every ${what} has its image's size`,
  );
}

/** Runs `fn` and turns a throw into a failing check named `name`; returns undefined then. */
export async function _attempt<T>(
  checks: VerifyCheck[],
  name: string,
  fn: () => Promise<T>,
  detail: (t: T) => string,
): Promise<T | undefined> {
  try {
    const t = await fn();
    checks.push({ name, status: "pass", detail: detail(t) });
    return t;
  } catch (err) {
    checks.push({ name, status: "fail", detail: (err as Error).message });
    return undefined;
  }
}

const _IMAGE_EXT = /\.(jpe?g|png|tiff?|bmp|gif|webp)$/i;

/** Checks that the image-like files in `names` match `pattern`; returns the matching names. */
export function _patternCheck(
  checks: VerifyCheck[],
  folder: string,
  names: string[],
  pattern: RegExp,
  what: string,
): string[] {
  const matching = names.filter((n) => pattern.test(n));
  const bad = names.filter((n) => !pattern.test(n) && _IMAGE_EXT.test(n));
  checks.push(
    _listCheck(
      `${folder}: file names`,
      bad,
      `${bad.length} image files do not match ${what}`,
      `${matching.length} files match ${what}`,
    ),
  );
  return matching;
}

/** Decodes a file fully with sharp; returns its stored size or the error text. */
export async function _decode(
  path: string,
): Promise<{ width: number; height: number; channels: number } | string> {
  try {
    const { info } = await sharp(path, { failOn: "warning" }).raw().toBuffer({
      resolveWithObject: true,
    });
    return { width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    return (err as Error).message;
  }
}

/** Checks that every file of `paths` decodes (sharp); returns their stored `HxW` by path. */
export async function _decodeCheck(
  checks: VerifyCheck[],
  folder: string,
  paths: string[],
): Promise<Map<string, string>> {
  const results = await _pool(paths, 4, _decode);
  const sizes = new Map<string, string>();
  const bad: string[] = [];
  results.forEach((r, i) => {
    if (typeof r === "string") bad.push(`${paths[i].split("/").pop()} (${r})`);
    else sizes.set(paths[i], `${r.height}x${r.width}`);
  });
  checks.push(
    _listCheck(
      `${folder}: decodable`,
      bad,
      `${bad.length} of ${paths.length} files do not decode`,
      `${paths.length} files decode`,
    ),
  );
  return sizes;
}

/** Where a copy's expected counts come from (see {@linkcode _expectedSource}). */
export interface _ExpectedSource {
  /** `marker`: the synthetic marker in the copy; `defaults`: the manifest's synthetic defaults; `real`. */
  kind: "marker" | "defaults" | "real";
  /** Said in the check details (`synthetic marker .synthetic-lizard.json`, …). */
  source: string;
  /** The marker's or the manifest's generator settings (`marker`, `defaults`), else the manifest's real counts. */
  values: Record<string, unknown>;
}

/**
 * The expected counts of a copy: from its synthetic marker (the manifest's
 * `completion_marker`, else the `dataset`'s; looked for in `root`, then in
 * `alsoIn`), else the manifest's synthetic defaults when `options.synthetic`,
 * else the manifest's real counts; pushes an `info` check saying which.
 */
export async function _expectedSource(
  checks: VerifyCheck[],
  root: string,
  manifest: DatasetManifest,
  options: DatasetToolOptions,
  dataset: { synthetic: Pick<SyntheticCopy, "marker"> },
  alsoIn?: string,
): Promise<_ExpectedSource> {
  const name = manifest.synthetic?.completion_marker ?? dataset.synthetic.marker;
  let found: _ExpectedSource | undefined;
  for (const dir of alsoIn === undefined ? [root] : [root, alsoIn]) {
    const m = await Deno.readTextFile(join(dir, name)).then(JSON.parse, () => undefined);
    if (m && typeof m === "object") {
      const where = join(relative(root, dir), name);
      found = { kind: "marker", source: `synthetic marker ${where}`, values: m };
      break;
    }
  }
  found ??= options.synthetic
    ? {
      kind: "defaults",
      source: "manifest synthetic.defaults",
      values: manifest.synthetic?.defaults ?? {},
    }
    : { kind: "real", source: "manifest expected_counts", values: manifest.expected_counts ?? {} };
  checks.push({ name: "expected counts", status: "info", detail: `from ${found.source}` });
  return found;
}
