/**
 * A synthetic stand-in for the Lizard colonic nuclei dataset, generated
 * deterministically in the published on-disk layout and file formats, so that the
 * real loader ({@linkcode loadLizard}) is what tests and default runs use.
 *
 * What is generated (defaults in brackets):
 * - `lizard_images1/Lizard_Images1/<source>_<k>.png` (sources consep, crag, dpath) and
 *   `lizard_images2/Lizard_Images2/<source>_<k>.png` (glas, pannuke): 8-bit RGB PNG H&E
 *   tiles, `perSource` per source [6, i.e. 30 tiles], each side drawn from
 *   [`minSize`, `maxSize`] [128, 224] (the real tiles vary ~500–1,800 px);
 * - `lizard_labels/Lizard_Labels/Labels/<name>.mat`: MATLAB v5 files written by
 *   {@linkcode writeMat} (miCOMPRESSED) with `inst_map` (H×W double, 0 background,
 *   instance ids 1..N), `id` (N×1 double), `class` (N×1 double, 1–6 = Neutrophil,
 *   Epithelial, Lymphocyte, Plasma, Eosinophil, Connective), `bbox` (N×4 double,
 *   `[rmin, rmax, cmin, cmax]`, 0-based, max exclusive) and `centroid` (N×2 double,
 *   `[x, y]`, 0-based). The bbox/centroid conventions are a guess at the real files'
 *   (the loader does not use them);
 * - `lizard_labels/Lizard_Labels/info.csv` (`Filename,Source,Split`, Split = fold 1–3,
 *   assigned round-robin within each source in a seeded order);
 * - a `README.txt` at the root and a completion marker `.synthetic-lizard.json`.
 *
 * Each tile has a dominant nucleus class (balanced over the set, seeded order); nuclei
 * of the six classes differ in size, shape and stain (see `_synthetic_nuclei.ts`), and
 * every source has its own slight stain tint. PNGs use fixed options (compression 9,
 * no adaptive filtering), so the same seed gives byte-identical files with the same
 * sharp/libvips build.
 *
 * Caching, atomic install and refusal to overwrite a folder without this generator's
 * marker work as in {@linkcode generateSyntheticIsic2018}: the default configuration
 * goes to `<repo>/.cache/data/lizard-synthetic-v1/`, any other to
 * `<repo>/.cache/data/lizard-synthetic-v1-<hash>/`, or to `dir`.
 *
 * @module
 */

import { join } from "node:path";
import { writeMat } from "../io/mat_v5_write.ts";
import { Rng } from "../util/rng.ts";
import { _encodeRaw, _integerOption, _syntheticGenerator } from "./_generated_folder.ts";
import { _renderTile } from "./_synthetic_nuclei.ts";
import { LIZARD_DATASET, LIZARD_LAYOUT, LIZARD_SOURCES } from "./lizard.ts";

/** Options of {@linkcode generateSyntheticLizard}; every field has a small default. */
export interface SyntheticLizardOptions {
  /** Output folder; default `<repo>/.cache/data/lizard-synthetic-v1[-<hash>]/`. */
  dir?: string;
  /** Generator seed (default 2021). */
  seed?: number;
  /** Tiles per source, 5 sources (default 6). */
  perSource?: number;
  /** Smallest tile side in pixels (default 128). */
  minSize?: number;
  /** Largest tile side in pixels (default 224). */
  maxSize?: number;
}

type _Config = Required<Omit<SyntheticLizardOptions, "dir">>;

const _DEFAULTS: _Config = { seed: 2021, perSource: 6, minSize: 128, maxSize: 224 };
/** Sources whose tiles go to the first image archive (the rest to the second). */
const _FIRST_ARCHIVE = new Set(["consep", "crag", "dpath"]);

const _GENERATOR = _syntheticGenerator(LIZARD_DATASET, "generateSyntheticLizard", _DEFAULTS, {
  write: _writeDataset,
  check: (key, value) => _integerOption(key, value, [key === "perSource" ? 1 : 32, Infinity]),
  validate: (config) => {
    if (config.maxSize < config.minSize || config.maxSize > 4096) {
      throw new RangeError(
        `Expected minSize <= maxSize <= 4096 but found ${config.minSize} and ${config.maxSize}`,
      );
    }
  },
});

/**
 * Generates (or reuses) the synthetic Lizard dataset and returns its root, which
 * {@linkcode loadLizard} reads like the real download.
 *
 * @param options Seed, counts, tile sizes and output folder; see the module docs.
 * @returns Absolute path of the dataset root.
 * @example
 * ```ts ignore
 * import { generateSyntheticLizard } from "./synthetic_lizard.ts";
 * import { loadLizard } from "./lizard.ts";
 * const root = await generateSyntheticLizard();
 * const ds = await loadLizard({ root, task: "segmentation", size: [64, 64] });
 * console.log(ds.length); // 30
 * ```
 */
export async function generateSyntheticLizard(
  options: SyntheticLizardOptions = {},
): Promise<string> {
  return await _GENERATOR.generate(options);
}

/** Per-source stain tint (per-channel multipliers). */
function _tint(rng: Rng): [number, number, number] {
  return [rng.range(0.93, 1.05), rng.range(0.9, 1.08), rng.range(0.94, 1.06)];
}

/** The `.mat` variables of a tile: column-major inst_map and per-instance id/class/bbox/centroid. */
function _labels(inst: Uint16Array, classes: number[], w: number, h: number) {
  const n = classes.length;
  const cm = new Float64Array(w * h);
  const box = Array.from({ length: n }, () => [Infinity, -Infinity, Infinity, -Infinity]);
  const sum = Array.from({ length: n }, () => [0, 0, 0]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = inst[y * w + x];
      cm[y + x * h] = v;
      if (v === 0) continue;
      const b = box[v - 1], s = sum[v - 1];
      b[0] = Math.min(b[0], y);
      b[1] = Math.max(b[1], y + 1);
      b[2] = Math.min(b[2], x);
      b[3] = Math.max(b[3], x + 1);
      s[0] += x;
      s[1] += y;
      s[2]++;
    }
  }
  const bbox = new Float64Array(n * 4), centroid = new Float64Array(n * 2);
  for (let k = 0; k < n; k++) {
    for (let c = 0; c < 4; c++) bbox[k + c * n] = box[k][c];
    centroid[k] = sum[k][0] / sum[k][2];
    centroid[k + n] = sum[k][1] / sum[k][2];
  }
  return {
    inst_map: { className: "double" as const, dims: [h, w], data: cm },
    id: { className: "double" as const, dims: [n, 1], data: classes.map((_, k) => k + 1) },
    class: { className: "double" as const, dims: [n, 1], data: classes },
    bbox: { className: "double" as const, dims: [n, 4], data: bbox },
    centroid: { className: "double" as const, dims: [n, 2], data: centroid },
  };
}

async function _writeDataset(root: string, config: _Config): Promise<void> {
  const L = LIZARD_LAYOUT;
  const rng = new Rng(config.seed);
  for (const d of [...L.imageDirs, L.labelDir]) {
    await Deno.mkdir(join(root, d), { recursive: true });
  }
  const total = config.perSource * LIZARD_SOURCES.length;
  const dominants = rng.fork("dominant").shuffle(
    Array.from({ length: total }, (_, i) => 1 + (i % 6)),
  );
  const rows = ["Filename,Source,Split"];
  let t = 0;
  for (const source of LIZARD_SOURCES) {
    const src = rng.fork(`source:${source}`);
    const tint = _tint(src.fork("tint"));
    const folds = src.fork("folds").shuffle(
      Array.from({ length: config.perSource }, (_, i) => 1 + (i % 3)),
    );
    const imageDir = L.imageDirs[_FIRST_ARCHIVE.has(source) ? 0 : 1];
    for (let k = 1; k <= config.perSource; k++, t++) {
      const name = `${source}_${k}`;
      const item = src.fork(name);
      const span = config.maxSize - config.minSize + 1;
      const w = config.minSize + item.int(span), h = config.minSize + item.int(span);
      const tile = _renderTile(item.fork("tile"), {
        width: w,
        height: h,
        dominant: dominants[t],
        tint,
      });
      const png = await _encodeRaw(tile.rgb, w, h, 3);
      await Deno.writeFile(join(root, imageDir, `${name}.png`), png);
      const mat = writeMat(_labels(tile.inst, tile.classes, w, h), { compress: true });
      await Deno.writeFile(join(root, L.labelDir, `${name}.mat`), mat);
      rows.push(`${name},${source},${folds[k - 1]}`);
    }
  }
  await Deno.writeTextFile(join(root, L.infoCsv), rows.join("\n") + "\n");
  await Deno.writeTextFile(join(root, "README.txt"), _readme(config, total));
}

function _readme(config: _Config, total: number): string {
  const L = LIZARD_LAYOUT;
  return _GENERATOR.readme("SYNTHETIC LIZARD DATA (not real histology)", config.seed, [
    "Same layout and file formats as the published Lizard dataset:",
    `  ${L.imageDirs[0]}/<name>.png, ${L.imageDirs[1]}/<name>.png  ${total} RGB tiles, ` +
    `${config.minSize}-${config.maxSize} px a side`,
    `  ${L.labelDir}/<name>.mat  MATLAB v5: inst_map, id, class, bbox, centroid`,
    `  ${L.infoCsv}  Filename,Source,Split (fold 1-3)`,
    "",
    "Nuclei of six classes (1 Neutrophil, 2 Epithelial, 3 Lymphocyte, 4 Plasma, 5 Eosinophil,",
    "6 Connective) differ in size, shape and stain; each tile has a dominant class.",
  ]);
}
