/**
 * A synthetic stand-in for the ISIC 2018 challenge training data, generated
 * deterministically in the official on-disk layout and file formats, so that the
 * real loader ({@linkcode loadIsic2018}) is what tests and the default runs use.
 *
 * What is generated (defaults in brackets):
 * - Task 1 (segmentation): `ISIC2018_Task1-2_Training_Input/ISIC_00xxxxx.jpg` [120]
 *   with `ISIC2018_Task1_Training_GroundTruth/ISIC_00xxxxx_segmentation.png`
 *   (8-bit greyscale PNG, 0 background / 255 lesion, exactly the painted lesion).
 *   Ids start at ISIC_0000000 with seeded gaps of 1–4, like the real, non-contiguous
 *   ids. Sizes vary like the real set's: each image is `width`×`height` scaled by
 *   1, 1.25, 1.5 or 2 (4:3 kept). Diagnoses are drawn with archive-like weights
 *   (NV 40%, MEL 25%, BKL 15%, the rest 5% each) and are not written anywhere,
 *   as in the real Task 1.
 * - Task 3 (diagnosis): `ISIC2018_Task3_Training_Input/ISIC_0024306.jpg` … (HAM10000
 *   ids, contiguous from ISIC_0024306), all `width`×`height` [128×96, i.e. 600×450
 *   scaled down], `task3PerClass` images per class [40 × 7 = 280] in a seeded order,
 *   and `ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv`
 *   (header `image,MEL,NV,BCC,AKIEC,BKL,DF,VASC`, one-hot rows `0.0`/`1.0`).
 *   **Classes are balanced** on purpose (the real set is not: NV ≈ 67%, DF ≈ 1.1%),
 *   so that small experiments see every class; pass a real folder for the real mix.
 * - `ATTRIBUTION.txt` and `LICENSE.txt` in every folder (as in the real archives, so
 *   the loader's skipping of non-image files is exercised), a `README.txt` at the
 *   root and a completion marker `.synthetic-isic2018.json`.
 *
 * Images: JPEG quality 92, 4:4:4 chroma, Huffman-optimised, no metadata — fixed
 * options, so the same seed gives byte-identical files with the same sharp/libvips
 * build. The lesion look depends on the class (see `_synthetic_lesion.ts`).
 *
 * Caching: output goes to `<repo>/.cache/data/isic2018-synthetic-v1/` for the
 * default configuration, `<repo>/.cache/data/isic2018-synthetic-v1-<hash>/` for any
 * other (so tests with tiny configurations never evict the default set), or `dir`.
 * A folder whose marker matches the configuration is reused. Otherwise the set is
 * written to a temporary folder beside it and renamed into place. An existing `dir`
 * is replaced only if it is empty or carries a marker of this generator; anything
 * else (e.g. a real dataset) is refused, never overwritten.
 *
 * @module
 */

import { join } from "node:path";
import { Rng } from "../util/rng.ts";
import { _encodeRaw, _integerOption, _syntheticGenerator } from "./_generated_folder.ts";
import { ISIC2018_DATASET } from "./isic2018.ts";
import { ISIC2018_CLASSES, ISIC2018_LAYOUT } from "./isic2018_classes.ts";
import { _renderLesion } from "./_synthetic_lesion.ts";

/** Options of {@linkcode generateSyntheticIsic2018}; every field has a small default. */
export interface SyntheticIsic2018Options {
  /** Output folder; default `<repo>/.cache/data/isic2018-synthetic-v1[-<hash>]/`. */
  dir?: string;
  /** Generator seed (default 2018). */
  seed?: number;
  /** Task 1 images (and masks) (default 120). */
  task1Count?: number;
  /** Task 3 images per class, 7 classes (default 40). */
  task3PerClass?: number;
  /** Task 3 image width, and Task 1's smallest width (default 128). */
  width?: number;
  /** Task 3 image height, and Task 1's smallest height (default 96). */
  height?: number;
}

type _Config = Required<Omit<SyntheticIsic2018Options, "dir">>;

const _DEFAULTS: _Config = {
  seed: 2018,
  task1Count: 120,
  task3PerClass: 40,
  width: 128,
  height: 96,
};

/** Task 1 diagnosis weights (MEL, NV, BCC, AKIEC, BKL, DF, VASC): roughly the archive's mix. */
const _TASK1_CLASS_WEIGHTS = [0.25, 0.4, 0.05, 0.05, 0.15, 0.05, 0.05];
const _TASK1_SCALES = [1, 1.25, 1.5, 2];
const _JPEG_QUALITY = 92;

const _GENERATOR = _syntheticGenerator(ISIC2018_DATASET, "generateSyntheticIsic2018", _DEFAULTS, {
  write: _writeDataset,
  check: (key, value) => _integerOption(key, value, [key === "task1Count" ? 0 : 1, Infinity]),
  validate: _validate,
});

/**
 * Generates (or reuses) the synthetic ISIC 2018 training set and returns its root,
 * which {@linkcode loadIsic2018} reads like a real download.
 *
 * @param options Seed, counts, image size and output folder; see the module docs.
 * @returns Absolute path of the dataset root.
 * @example
 * ```ts ignore
 * import { generateSyntheticIsic2018 } from "./synthetic_isic2018.ts";
 * import { loadIsic2018 } from "./isic2018.ts";
 * const root = await generateSyntheticIsic2018();
 * const ds = await loadIsic2018({ root, task: "diagnosis", size: [48, 64] });
 * console.log(ds.length); // 280
 * ```
 */
export async function generateSyntheticIsic2018(
  options: SyntheticIsic2018Options = {},
): Promise<string> {
  return await _GENERATOR.generate(options);
}

/** Sizes at least 8 pixels, ids within 7 digits. */
function _validate(config: _Config): void {
  if (config.width < 8 || config.height < 8) {
    throw new RangeError(
      `Expected width and height >= 8 but found ${config.width}x${config.height}`,
    );
  }
  const task3Count = config.task3PerClass * ISIC2018_CLASSES.length;
  if (24306 + task3Count > 9_999_999 || config.task1Count * 4 > 9_999_999) {
    throw new RangeError(
      `Too many images for 7-digit ISIC ids: ${task3Count} / ${config.task1Count}`,
    );
  }
}

function _id(n: number): string {
  return `ISIC_${String(n).padStart(7, "0")}`;
}

function _weightedPick(rng: Rng, weights: readonly number[]): number {
  let r = rng.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

async function _writeDataset(root: string, config: _Config): Promise<void> {
  const L = ISIC2018_LAYOUT;
  const rng = new Rng(config.seed);
  const folders = [L.task1Input, L.task1GroundTruth, L.task3Input, L.task3GroundTruth];
  for (const f of folders) {
    await Deno.mkdir(join(root, f));
    await Deno.writeTextFile(join(root, f, "ATTRIBUTION.txt"), _ATTRIBUTION);
    await Deno.writeTextFile(join(root, f, "LICENSE.txt"), _LICENSE);
  }

  // Task 1: images of varying size, masks, non-contiguous ids.
  const t1 = rng.fork("task1");
  let n = 0;
  for (let i = 0; i < config.task1Count; i++) {
    if (i > 0) n += 1 + t1.int(4);
    const id = _id(n);
    const item = t1.fork(id);
    const cls = _weightedPick(item, _TASK1_CLASS_WEIGHTS);
    const s = _TASK1_SCALES[item.int(_TASK1_SCALES.length)];
    const w = Math.round(config.width * s), h = Math.round(config.height * s);
    const { rgb, mask } = _renderLesion(item.fork("image"), cls, w, h);
    await Deno.writeFile(
      join(root, L.task1Input, `${id}.jpg`),
      await _encodeRaw(rgb, w, h, 3, _JPEG_QUALITY),
    );
    await Deno.writeFile(
      join(root, L.task1GroundTruth, `${id}${L.task1MaskSuffix}`),
      await _encodeRaw(mask, w, h, 1),
    );
  }

  // Task 3: balanced classes in a seeded order, contiguous HAM10000 ids.
  const t3 = rng.fork("task3");
  const classes = t3.shuffle(
    ISIC2018_CLASSES.flatMap((_, c) => Array<number>(config.task3PerClass).fill(c)),
  );
  const rows = [`image,${ISIC2018_CLASSES.join(",")}`];
  for (let i = 0; i < classes.length; i++) {
    const id = _id(24306 + i), cls = classes[i];
    const { rgb } = _renderLesion(t3.fork(id), cls, config.width, config.height);
    const jpg = await _encodeRaw(rgb, config.width, config.height, 3, _JPEG_QUALITY);
    await Deno.writeFile(join(root, L.task3Input, `${id}.jpg`), jpg);
    rows.push(`${id},${ISIC2018_CLASSES.map((_, c) => (c === cls ? "1.0" : "0.0")).join(",")}`);
  }
  await Deno.writeTextFile(join(root, L.task3GroundTruth, L.task3Csv), rows.join("\n") + "\n");

  await Deno.writeTextFile(join(root, "README.txt"), _readme(config));
}

const _ATTRIBUTION = "Synthetic images generated by @gradprom/lib (generateSyntheticIsic2018).\n" +
  "They imitate the layout of the ISIC 2018 challenge data but contain no ISIC images.\n";
const _LICENSE = "Synthetic data, no third-party content. The real ISIC 2018 data are licensed\n" +
  "CC-BY-NC 4.0; check the ISIC archive's terms before using them.\n";

function _readme(config: _Config): string {
  const L = ISIC2018_LAYOUT;
  return _GENERATOR.readme(
    "SYNTHETIC ISIC 2018 TRAINING DATA (not real dermoscopy images)",
    config.seed,
    [
      "Same layout and file formats as the official ISIC 2018 challenge training data:",
      `  ${L.task1Input}/ISIC_xxxxxxx.jpg            ${config.task1Count} images, sizes vary`,
      `  ${L.task1GroundTruth}/ISIC_xxxxxxx${L.task1MaskSuffix}  8-bit greyscale, 0 / 255`,
      `  ${L.task3Input}/ISIC_xxxxxxx.jpg            ${
        config.task3PerClass * ISIC2018_CLASSES.length
      } images, ${config.width}x${config.height}`,
      `  ${L.task3GroundTruth}/${L.task3Csv}  one-hot labels`,
      "",
      `Task 3 classes are balanced (${config.task3PerClass} per class); the real set is not`,
      "(NV is about 67%). Lesion appearance depends on the class so small CNNs can learn it.",
    ],
  );
}
