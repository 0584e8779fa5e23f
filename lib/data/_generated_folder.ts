/**
 * The folder mechanics every synthetic-dataset generator shares: the default
 * cache folder under `<repo>/.cache/data/`, the marker file that says which
 * generator settings made a folder, and the atomic install of a freshly
 * generated temp folder (replacing only an empty or generated folder, never a
 * user's); also the option checks, the `README.txt` frame and the fixed image
 * encoders they share.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
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
 * A generator's options over its defaults: unknown keys (other than `dir`) are
 * a `TypeError` naming the known ones; every given key (in the defaults'
 * order) goes through `check`, which returns the value to keep or throws a
 * `RangeError`. The result has the defaults' key order (the marker's).
 */
export function _resolveOptions<C extends object>(
  generator: string,
  defaults: C,
  options: object,
  check: (key: keyof C & string, value: unknown) => unknown,
): C {
  const known = new Set(["dir", ...Object.keys(defaults)]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(
        `Unknown option "${key}" for ${generator}; expected one of ${[...known].join(", ")}`,
      );
    }
  }
  const config = structuredClone(defaults);
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(defaults) as (keyof C & string)[]) {
    const value = given[key];
    if (value !== undefined) config[key] = check(key, value) as C[typeof key];
  }
  return config;
}

/**
 * Checks an integer option: a safe integer within `[min, max]` (`seed`: any
 * safe integer), else a `RangeError` naming the key and the value.
 *
 * @returns The value.
 */
export function _integerOption(
  key: string,
  value: unknown,
  [min, max]: readonly [number, number],
): number {
  if (key === "seed") [min, max] = [-Infinity, Infinity];
  const n = value as number;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const what = key === "seed"
      ? "a safe integer"
      : max === Infinity
      ? `an integer >= ${min}`
      : `an integer in [${min}, ${max}]`;
    throw new RangeError(`Expected ${key} to be ${what} but found ${value}`);
  }
  return n;
}

/** How a generator checks its options and writes its set (see {@linkcode _syntheticGenerator}). */
export interface _GeneratorParts<C extends object> {
  /** Checks one given option (see {@linkcode _resolveOptions}). */
  check(key: keyof C & string, value: unknown): unknown;
  /** Checks the resolved config as a whole (throws a `RangeError`). */
  validate?(config: C): void;
  /** Writes the set for `config` into the empty folder `root`. */
  write(root: string, config: C): Promise<void>;
}

/** One dataset's synthetic generator: its spec, the generate call and its README frame. */
export interface _SyntheticGenerator {
  readonly spec: _GeneratorSpec;
  /**
   * A generated set's `README.txt` ({@linkcode _readmeText}), opening with the
   * generator, its version and `seed` ({@linkcode _generatedBy}).
   */
  readme(title: string, seed: number, lines: readonly string[]): string;
  /**
   * Resolves `options` over the defaults, then generates (or reuses) the set
   * ({@linkcode _generateFolder}) in `options.dir` or the default folder.
   *
   * @returns The folder.
   */
  generate(options: { dir?: string }): Promise<string>;
}

/**
 * The generator of a dataset's synthetic copy, named `generator` (the public
 * function's name), with these defaults, option checks and writer.
 */
export function _syntheticGenerator<C extends object>(
  dataset: { id: string; synthetic: Pick<SyntheticCopy, "version" | "marker"> },
  generator: string,
  defaults: C,
  parts: _GeneratorParts<C>,
): _SyntheticGenerator {
  const spec = _generatorSpec(dataset, generator);
  return {
    spec,
    readme: (title, seed, lines) => _readmeText(title, [..._generatedBy(spec, seed), ...lines]),
    generate: async (options) => {
      const config = _resolveOptions(generator, defaults, options, parts.check);
      parts.validate?.(config);
      return await _generateFolder(spec, config, defaults, options.dir, parts.write);
    },
  };
}

/** The two README lines naming the generator, its version and the seed. */
function _generatedBy(spec: _GeneratorSpec, seed: number): string[] {
  return [
    `Generated by ${spec.generator} in @gradprom/lib`,
    `(generator version ${spec.version}, seed ${seed}).`,
  ];
}

/** A generated set's `README.txt`: the title, a blank line, `lines`, and how to regenerate. */
export function _readmeText(title: string, lines: readonly string[]): string {
  return [title, "", ...lines, "Regenerate by deleting this folder; do not edit it by hand.", ""]
    .join("\n");
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

/**
 * Encodes raw interleaved 8-bit pixels with the fixed options: PNG
 * ({@linkcode _PNG_OPTIONS}), or JPEG ({@linkcode _jpegOptions}) of
 * `jpegQuality` when given; one channel is stored as greyscale.
 */
export async function _encodeRaw(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  jpegQuality?: number,
): Promise<Uint8Array> {
  let img = sharp(pixels, { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace("b-w");
  img = jpegQuality === undefined ? img.png(_PNG_OPTIONS) : img.jpeg(_jpegOptions(jpegQuality));
  return await img.toBuffer();
}
