/**
 * A synthetic stand-in for COVID-CT (Yang et al. 2020), generated deterministically
 * in the repository's on-disk layout and file formats, so that the real loader
 * ({@linkcode loadCovidCt}) is what tests and default runs use.
 *
 * What is generated (defaults in brackets, about a quarter of the real counts):
 * - `Images-processed/CT_COVID/` [48 + 15 + 25 = 88 images] named in the published
 *   style `2020.MM.DD.2002xxxx-p<page>-<figure>[%<k>].png|jpg` (several images per
 *   "preprint"), and `Images-processed/CT_NonCOVID/` [58 + 15 + 26 = 99] named
 *   `<n>.jpg`, `<n>%<k>.png`, …;
 * - the six official split lists `Data-split/{COVID,NonCOVID}/{train,val,test}CT_<class>.txt`,
 *   one file name per line, each class's names assigned to the splits in a seeded order;
 * - a `README.txt` and a completion marker `.synthetic-covid-ct.json`.
 *
 * Images (see `_synthetic_ct_slice.ts`): axial chest-CT-like slices; COVID ones
 * carry peripheral, mostly bilateral ground-glass opacities of varying extent.
 * Formats are mixed **independently of the class** (unlike, possibly, the real set,
 * whose format mix is a known shortcut): half PNG, half JPEG (quality 90); 55%
 * greyscale, 35% RGB (grey repeated), 10% RGBA PNG. Sizes vary: the width is drawn
 * in [`minSize`, `maxSize`] [128, 224] and the height is 0.75–1.1 of it. Fixed
 * encoder options make the files byte-identical for a seed with the same
 * sharp/libvips build.
 *
 * Caching: `<repo>/.cache/data/covid_ct-synthetic-v1/` for the default
 * configuration, `…-v1-<hash>/` for any other, or `dir`; written into a temporary
 * folder and renamed into place; a matching marker means reuse; an existing
 * folder without this generator's marker is never overwritten.
 *
 * @module
 */

import { join } from "node:path";
import { Rng } from "../util/rng.ts";
import { _encodeRaw, _integerOption, _syntheticGenerator } from "./_generated_folder.ts";
import {
  COVID_CT_CLASSES,
  COVID_CT_DATASET,
  COVID_CT_LAYOUT,
  COVID_CT_SPLITS,
  covidCtSplitFile,
} from "./covid_ct.ts";
import { _renderCtSlice } from "./_synthetic_ct_slice.ts";

/** Options of {@linkcode generateSyntheticCovidCt}; every field has a small default. */
export interface SyntheticCovidCtOptions {
  /** Output folder; default `<repo>/.cache/data/covid_ct-synthetic-v1[-<hash>]/`. */
  dir?: string;
  /** Generator seed (default 2020). */
  seed?: number;
  /** COVID images in train, val, test (default [48, 15, 25]). */
  covidCounts?: readonly [number, number, number];
  /** NonCOVID images in train, val, test (default [58, 15, 26]). */
  nonCovidCounts?: readonly [number, number, number];
  /** Smallest image width (default 128, at least 16). */
  minSize?: number;
  /** Largest image width (default 224). */
  maxSize?: number;
}

interface _Config {
  seed: number;
  covidCounts: [number, number, number];
  nonCovidCounts: [number, number, number];
  minSize: number;
  maxSize: number;
}

const _DEFAULTS: _Config = {
  seed: 2020,
  covidCounts: [48, 15, 25],
  nonCovidCounts: [58, 15, 26],
  minSize: 128,
  maxSize: 224,
};

const _JPEG_QUALITY = 90;

const _GENERATOR = _syntheticGenerator(COVID_CT_DATASET, "generateSyntheticCovidCt", _DEFAULTS, {
  write: _writeDataset,
  check: _checkOption,
  validate: (config) => {
    if (config.minSize > config.maxSize) {
      throw new RangeError(
        `Expected minSize <= maxSize but found ${config.minSize} > ${config.maxSize}`,
      );
    }
  },
});

/**
 * Generates (or reuses) the synthetic COVID-CT set and returns its root, which
 * {@linkcode loadCovidCt} reads like the real repository.
 *
 * @param options Seed, per-split counts, image sizes and output folder.
 * @returns Absolute path of the dataset root.
 * @example
 * ```ts ignore
 * import { generateSyntheticCovidCt } from "./synthetic_covid_ct.ts";
 * import { loadCovidCt } from "./covid_ct.ts";
 * const root = await generateSyntheticCovidCt();
 * const test = await loadCovidCt({ root, size: [64, 64], split: "test" });
 * console.log(test.length); // 51
 * ```
 */
export async function generateSyntheticCovidCt(
  options: SyntheticCovidCtOptions = {},
): Promise<string> {
  return await _GENERATOR.generate(options);
}

/** One given option: per-split counts (1 or more, at most 9000 in all), sizes in [16, 4096]. */
function _checkOption(key: keyof _Config, v: unknown): unknown {
  if (key !== "covidCounts" && key !== "nonCovidCounts") return _integerOption(key, v, [16, 4096]);
  if (
    !Array.isArray(v) || v.length !== 3 || !v.every((n) => Number.isInteger(n) && n >= 1) ||
    v[0] + v[1] + v[2] > 9000
  ) {
    throw new RangeError(
      `Expected ${key} to be [train, val, test] integers >= 1 (at most 9000 in all) but found ${
        JSON.stringify(v)
      }`,
    );
  }
  return [v[0], v[1], v[2]];
}

/** `count` unique COVID-style names (without extension), grouped by "preprint". */
function _covidStems(rng: Rng, count: number): string[] {
  const out: string[] = [], seen = new Set<string>();
  while (out.length < count) {
    const month = 2 + rng.int(2), day = 1 + rng.int(28);
    const mm = String(month).padStart(2, "0"), dd = String(day).padStart(2, "0");
    const paper = `2020.${mm}.${dd}.20${mm}${String(rng.int(10000)).padStart(4, "0")}`;
    const figures = 1 + rng.int(4);
    for (let f = 0; f < figures && out.length < count; f++) {
      let stem = `${paper}-p${1 + rng.int(40)}-${1 + rng.int(200)}`;
      if (rng.uniform() < 0.4) stem += `%${rng.int(4)}`;
      if (!seen.has(stem)) {
        seen.add(stem);
        out.push(stem);
      }
    }
  }
  return out;
}

/** `count` unique NonCOVID-style names (without extension): `<n>` or `<n>%<k>`. */
function _nonCovidStems(rng: Rng, count: number): string[] {
  const out: string[] = [], seen = new Set<string>();
  while (out.length < count) {
    const n = rng.int(Math.max(50, count * 3));
    const stem = rng.uniform() < 0.5 ? `${n}` : `${n}%${rng.int(4)}`;
    if (!seen.has(stem)) {
      seen.add(stem);
      out.push(stem);
    }
  }
  return out;
}

/** Encodes a grey HW uint8 image as PNG or JPEG in greyscale, RGB or RGBA. */
async function _encode(
  grey: Uint8Array,
  width: number,
  height: number,
  format: "png" | "jpg",
  mode: "grey" | "rgb" | "rgba",
): Promise<Uint8Array> {
  const channels = mode === "grey" ? 1 : mode === "rgb" ? 3 : 4;
  let raw = grey;
  if (channels > 1) {
    raw = new Uint8Array(grey.length * channels);
    for (let i = 0; i < grey.length; i++) {
      for (let c = 0; c < 3; c++) raw[i * channels + c] = grey[i];
      if (channels === 4) raw[i * 4 + 3] = 255;
    }
  }
  const quality = format === "jpg" ? _JPEG_QUALITY : undefined;
  return await _encodeRaw(raw, width, height, channels, quality);
}

async function _writeDataset(root: string, config: _Config): Promise<void> {
  const L = COVID_CT_LAYOUT;
  const rng = new Rng(config.seed);
  for (const label of [0, 1] as const) {
    const cls = COVID_CT_CLASSES[label];
    const counts = label === 1 ? config.covidCounts : config.nonCovidCounts;
    const total = counts[0] + counts[1] + counts[2];
    const r = rng.fork(cls);
    const stems = label === 1 ? _covidStems(r.fork("names"), total) : _nonCovidStems(
      r.fork("names"),
      total,
    );
    const imageDir = join(root, L.images, L.imageFolders[label]);
    await Deno.mkdir(imageDir, { recursive: true });
    const names: string[] = [];
    for (const stem of stems) {
      const item = r.fork(stem);
      const format = item.uniform() < 0.5 ? "png" : "jpg";
      const m = item.uniform();
      const mode = m < 0.55 ? "grey" : m < 0.9 || format === "jpg" ? "rgb" : "rgba";
      const width = config.minSize + item.int(config.maxSize - config.minSize + 1);
      const height = Math.max(16, Math.round(width * item.range(0.75, 1.1)));
      const { grey } = _renderCtSlice(item.fork("image"), label === 1, width, height);
      const name = `${stem}.${format}`;
      await Deno.writeFile(
        join(imageDir, name),
        await _encode(grey, width, height, format, mode),
      );
      names.push(name);
    }
    await Deno.mkdir(join(root, L.splits, L.splitFolders[label]), { recursive: true });
    const order = r.fork("split").shuffle(names);
    let start = 0;
    for (let s = 0; s < 3; s++) {
      const part = order.slice(start, start + counts[s]);
      start += counts[s];
      await Deno.writeTextFile(
        join(root, covidCtSplitFile(COVID_CT_SPLITS[s], label)),
        part.map((n) => `${n}\n`).join(""),
      );
    }
  }
  await Deno.writeTextFile(join(root, "README.txt"), _readme(config));
}

function _readme(config: _Config): string {
  const L = COVID_CT_LAYOUT;
  const [c, n] = [config.covidCounts, config.nonCovidCounts];
  return _GENERATOR.readme(
    "SYNTHETIC COVID-CT DATA (not real CT images; no preprint figures)",
    config.seed,
    [
      "Same layout and file formats as the COVID-CT repository (Yang et al. 2020):",
      `  ${L.images}/${L.imageFolders[1]}/     ${c[0] + c[1] + c[2]} images (PNG/JPEG, sizes vary)`,
      `  ${L.images}/${L.imageFolders[0]}/  ${n[0] + n[1] + n[2]} images`,
      `  ${L.splits}/COVID/{train,val,test}CT_COVID.txt        ${c.join(" / ")}`,
      `  ${L.splits}/NonCOVID/{train,val,test}CT_NonCOVID.txt  ${n.join(" / ")}`,
      "",
      "COVID slices show peripheral, mostly bilateral ground-glass opacities of varying",
      "extent; file format and colour mode are independent of the class.",
    ],
  );
}
