/**
 * The folder mechanics every synthetic-dataset generator shares: the default
 * cache folder under `<repo>/.cache/data/`, the marker file that says which
 * generator settings made a folder, and the atomic install of a freshly
 * generated temp folder (replacing only an empty or generated folder, never a
 * user's).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hashString } from "../util/rng.ts";
import type { SyntheticCopy } from "./dataset_descriptor.ts";

/** What identifies one generator's output. */
export interface _GeneratorSpec {
  /** Folder name prefix, e.g. `lizard-synthetic`. */
  prefix: string;
  version: number;
  /** The generator function's name (written into the marker and error messages). */
  generator: string;
  /** Marker file name inside the generated root, e.g. `.synthetic-lizard.json`. */
  markerFile: string;
}

/**
 * The spec of a dataset's generator: folder prefix `<id>-synthetic`, and the
 * version and marker of its descriptor's `synthetic`.
 */
export function _generatorSpec(
  dataset: { id: string; synthetic: Pick<SyntheticCopy, "version" | "marker"> },
  generator: string,
): _GeneratorSpec {
  return {
    prefix: `${dataset.id}-synthetic`,
    version: dataset.synthetic.version,
    generator,
    markerFile: dataset.synthetic.marker,
  };
}

/**
 * Generates (or reuses) a synthetic set: a folder (`dir`, else the default one
 * for the config) whose marker matches the config is reused; otherwise `write`
 * fills a temporary folder beside it, the marker is written last, and the
 * folder is installed in its place ({@linkcode _installGenerated}).
 *
 * @returns The folder.
 */
export async function _generateFolder<C extends object>(
  spec: _GeneratorSpec,
  config: C,
  defaults: C,
  dir: string | undefined,
  write: (tmp: string, config: C) => Promise<void>,
): Promise<string> {
  const out = dir ?? _defaultGeneratedDir(spec, config, defaults);
  if (await _markerMatches(out, spec, config)) return out;
  const parent = dirname(out);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: `.${spec.prefix}-tmp-` });
  try {
    await Deno.chmod(tmp, 0o755); // makeTempDir creates 0700
    await write(tmp, config);
    await Deno.writeTextFile(join(tmp, spec.markerFile), _markerText(spec, config));
    await _installGenerated(tmp, out, spec, config);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return out;
}

/**
 * `<repo>/.cache/data/<prefix>-v<version>`, with `-<hash of the config>`
 * appended when the config differs from the defaults (so a non-default set
 * never replaces the default one).
 */
export function _defaultGeneratedDir<C extends object>(
  spec: _GeneratorSpec,
  config: C,
  defaults: C,
): string {
  const url = new URL("../../.cache/data/", import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(
      `Cannot derive a cache folder from ${import.meta.url}; pass options.dir to ${spec.generator}`,
    );
  }
  const c = config as Record<string, unknown>, d = defaults as Record<string, unknown>;
  const isDefault = Object.keys(d).every((k) => JSON.stringify(c[k]) === JSON.stringify(d[k]));
  const name = `${spec.prefix}-v${spec.version}` +
    (isDefault ? "" : `-${hashString(JSON.stringify(config)).toString(16).padStart(8, "0")}`);
  return join(fileURLToPath(url), name);
}

/** The marker file's text for a config. */
export function _markerText(spec: _GeneratorSpec, config: object): string {
  return JSON.stringify({ generator: spec.generator, version: spec.version, ...config }, null, 2) +
    "\n";
}

/** Whether `dir` holds a finished set generated with exactly this config. */
export async function _markerMatches(
  dir: string,
  spec: _GeneratorSpec,
  config: object,
): Promise<boolean> {
  try {
    return (await Deno.readTextFile(join(dir, spec.markerFile))) === _markerText(spec, config);
  } catch {
    return false;
  }
}

/** Moves the finished `tmp` into `dir`, replacing only an empty or generated folder. */
export async function _installGenerated(
  tmp: string,
  dir: string,
  spec: _GeneratorSpec,
  config: object,
): Promise<void> {
  try {
    await Deno.rename(tmp, dir);
    return;
  } catch (err) {
    if (!(await Deno.stat(dir).then(() => true, () => false))) throw err;
  }
  // Another process may have finished the same set meanwhile.
  if (await _markerMatches(dir, spec, config)) return;
  const entries: string[] = [];
  for await (const e of Deno.readDir(dir)) entries.push(e.name);
  if (entries.length > 0 && !entries.includes(spec.markerFile)) {
    throw new Error(
      `Refusing to replace ${dir}: it is not empty and has no ${spec.markerFile} ` +
        `marker (found ${entries.slice(0, 5).join(", ")}${entries.length > 5 ? ", …" : ""})`,
    );
  }
  const old = `${tmp}-old`;
  await Deno.rename(dir, old);
  try {
    await Deno.rename(tmp, dir);
  } finally {
    await Deno.remove(old, { recursive: true }).catch(() => {});
  }
}

/**
 * A generator's integer options over its defaults: unknown keys (other than
 * `dir`) are a `TypeError` naming the known ones; a value that is not a safe
 * integer within `bounds(key)` (`seed`: any safe integer) is a `RangeError`
 * naming the key and the value.
 */
export function _resolveIntegerOptions<C extends Record<string, number>>(
  generator: string,
  defaults: C,
  options: Partial<C> & { dir?: string },
  bounds: (key: keyof C & string) => readonly [number, number],
): C {
  const known = new Set(["dir", ...Object.keys(defaults)]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(
        `Unknown option "${key}" for ${generator}; expected one of ${[...known].join(", ")}`,
      );
    }
  }
  const config = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof C & string)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const [min, max] = key === "seed" ? [-Infinity, Infinity] : bounds(key);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const what = key === "seed"
        ? "a safe integer"
        : max === Infinity
        ? `an integer >= ${min}`
        : `an integer in [${min}, ${max}]`;
      throw new RangeError(`Expected ${key} to be ${what} but found ${value}`);
    }
    config[key] = value as C[typeof key];
  }
  return config;
}

/**
 * Fixed JPEG encoder options (4:4:4, Huffman-optimised, no mozjpeg tricks), so
 * that a seed gives byte-identical files with the same sharp/libvips build.
 */
export function _jpegOptions(quality: number): {
  quality: number;
  chromaSubsampling: "4:4:4";
  optimiseCoding: true;
  progressive: false;
  mozjpeg: false;
  trellisQuantisation: false;
  overshootDeringing: false;
  optimiseScans: false;
} {
  return {
    quality,
    chromaSubsampling: "4:4:4",
    optimiseCoding: true,
    progressive: false,
    mozjpeg: false,
    trellisQuantisation: false,
    overshootDeringing: false,
    optimiseScans: false,
  };
}

/** Fixed PNG encoder options (compression 9, no adaptive filtering, no palette). */
export const _PNG_OPTIONS = {
  compressionLevel: 9,
  adaptiveFiltering: false,
  palette: false,
} as const;
