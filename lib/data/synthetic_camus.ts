/**
 * A synthetic stand-in for CAMUS (2-D apical echocardiography), generated deterministically
 * in BOTH published layouts, so that the real loader ({@linkcode loadCamus}) is what tests and
 * default runs use.
 *
 * Written under the output folder (defaults in brackets, `patients` [12]):
 * - `nifti/` — the 2023 NIfTI release (`CAMUS_public`): `database_nifti/patientNNNN/` with
 *   `patientNNNN_{2CH,4CH}_{ED,ES}.nii.gz`, `…_{ED,ES}_gt.nii.gz`, `…_half_sequence.nii.gz`
 *   (frames ED→ES, dims `[W, H, T]`) and `Info_{2CH,4CH}.cfg`; `database_split/
 *   subgroup_{training,validation,testing}.txt` (2/3, 1/6, 1/6 of the patients).
 * - `mhd/` — the 2019 challenge release: `training/patientNNNN/` with the same names as
 *   `.mhd` + `.raw` (`…_sequence.mhd` instead of the half sequence) and `Info_*.cfg`, for
 *   the first `patients - testing` patients; `testing/patientNNNN/` without `_gt` files for
 *   the last `round(patients / 6)`.
 * Images are uint8 (`dims = [W, H]`, x fastest, row 0 at the top = the probe, as in the real
 * files read by SimpleITK), masks uint8 0 background, 1 LV, 2 myocardium, 3 LA. Sizes vary
 * per patient (`width`×`height` [112×128] scaled by 1, 1.125 or 1.25), like the real set's.
 * Image quality (Good / Medium / Poor, in `Info_*.cfg`) cycles through the patients, and
 * changes contrast and noise (see `_synthetic_echo.ts`). The `Info` fields are `ED`, `ES`,
 * `NbFrame`, `Sex`, `Age`, `ImageQuality`, `EF`, `FrameRate`.
 *
 * Caching, atomic write and refusal to replace a foreign folder: as for
 * {@linkcode generateSyntheticIsic2018}; marker `.synthetic-camus.json`; default folder
 * `<repo>/.cache/data/camus-synthetic-v1[-<hash>]/`.
 *
 * @module
 */

import { join } from "node:path";
import { Rng } from "../util/rng.ts";
import { _integerOption, _readmeText, _syntheticGenerator } from "./_generated_folder.ts";
import { writeMetaImage } from "../io/metaimage_write.ts";
import { CAMUS_DATASET } from "./camus.ts";
import { writeNifti } from "../io/nifti_write.ts";
import { _drawEchoGeometry, _renderEcho } from "./_synthetic_echo.ts";

/** Options of {@linkcode generateSyntheticCamus}; every field has a small default. */
export interface SyntheticCamusOptions {
  /** Output folder; default `<repo>/.cache/data/camus-synthetic-v1[-<hash>]/`. */
  dir?: string;
  /** Generator seed (default 2019). */
  seed?: number;
  /** Number of patients (default 12, at least 3). */
  patients?: number;
  /** Smallest image width (default 112). */
  width?: number;
  /** Smallest image height (default 128). */
  height?: number;
}

/** Folders of a generated set. */
export interface SyntheticCamusPaths {
  /** The output folder. */
  root: string;
  /** Root of the NIfTI-release copy (holds `database_nifti/`, `database_split/`). */
  nifti: string;
  /** Root of the legacy MetaImage copy (holds `training/`, `testing/`). */
  mhd: string;
}

type _Config = Required<Omit<SyntheticCamusOptions, "dir">>;

const _DEFAULTS: _Config = { seed: 2019, patients: 12, width: 112, height: 128 };
const _SCALES = [1, 1.125, 1.25];
const _QUALITY = ["Good", "Medium", "Poor"] as const;

const _GENERATOR = _syntheticGenerator(CAMUS_DATASET, "generateSyntheticCamus", _DEFAULTS, {
  write: _writeDataset,
  check: (key, value) =>
    _integerOption(key, value, key === "patients" ? [3, 9999] : [16, Infinity]),
});

/**
 * Generates (or reuses) the synthetic CAMUS set in both layouts.
 *
 * @param options Seed, patient count, image size, output folder; see the module docs.
 * @returns The output folder and the roots of its NIfTI and MetaImage copies.
 * @example
 * ```ts ignore
 * import { generateSyntheticCamus } from "./synthetic_camus.ts";
 * import { loadCamus } from "./camus.ts";
 * const { nifti } = await generateSyntheticCamus();
 * const ds = await loadCamus({ root: nifti, size: [64, 64], split: "train" });
 * console.log(ds.length); // 8 patients × 2 views × 2 phases = 32
 * ```
 */
export async function generateSyntheticCamus(
  options: SyntheticCamusOptions = {},
): Promise<SyntheticCamusPaths> {
  const dir = await _GENERATOR.generate(options);
  return { root: dir, nifti: join(dir, "nifti"), mhd: join(dir, "mhd") };
}

/** Patient id `patientNNNN` (1-based). */
function _pid(n: number): string {
  return `patient${String(n).padStart(4, "0")}`;
}

async function _writeDataset(root: string, config: _Config): Promise<void> {
  const rng = new Rng(config.seed);
  const n = config.patients;
  const nTest = Math.max(1, Math.round(n / 6)), nVal = Math.max(1, Math.round(n / 6));
  const niftiDb = join(root, "nifti", "database_nifti");
  const splitDir = join(root, "nifti", "database_split");
  await Deno.mkdir(niftiDb, { recursive: true });
  await Deno.mkdir(splitDir, { recursive: true });
  const ids = Array.from({ length: n }, (_, i) => _pid(i + 1));
  // Official-style lists: a seeded assignment of patients, each list in id order.
  const order = rng.fork("split").shuffle(ids);
  const testing = order.slice(0, nTest).sort(),
    validation = order.slice(nTest, nTest + nVal)
      .sort();
  const training = order.slice(nTest + nVal).sort();
  const list = (xs: string[]) => xs.join("\n") + "\n";
  await Deno.writeTextFile(join(splitDir, "subgroup_training.txt"), list(training));
  await Deno.writeTextFile(join(splitDir, "subgroup_validation.txt"), list(validation));
  await Deno.writeTextFile(join(splitDir, "subgroup_testing.txt"), list(testing));

  for (let p = 0; p < n; p++) {
    const id = ids[p];
    const pr = rng.fork(id);
    const s = _SCALES[pr.int(_SCALES.length)];
    const W = Math.round(config.width * s), H = Math.round(config.height * s);
    const spacing = [0.31 / s, 0.31 / s];
    const legacyTest = p >= n - nTest;
    const niftiDir = join(niftiDb, id);
    const mhdDir = join(root, "mhd", legacyTest ? "testing" : "training", id);
    await Deno.mkdir(niftiDir, { recursive: true });
    await Deno.mkdir(mhdDir, { recursive: true });
    const sex = pr.uniform() < 0.5 ? "F" : "M";
    const age = 30 + pr.int(60);
    for (const view of ["2CH", "4CH"] as const) {
      const quality = ((p + (view === "4CH" ? 1 : 0)) % 3) as 0 | 1 | 2;
      const vr = pr.fork(view);
      const g = _drawEchoGeometry(vr.fork("geometry"), view, quality);
      const frames = 4 + vr.int(4);
      const rendered = Array.from(
        { length: frames },
        (_, f) => _renderEcho(g, f / (frames - 1), W, H, vr.fork(`frame:${f}`)),
      );
      const ed = rendered[0], es = rendered[frames - 1];
      const area = (l: Uint8Array) => l.reduce((a, v) => a + (v === 1 ? 1 : 0), 0);
      const ef = Math.round(100 * (1 - Math.pow(area(es.label) / area(ed.label), 1.5)));
      const cfg = [
        `ED: 1`,
        `ES: ${frames}`,
        `NbFrame: ${frames}`,
        `Sex: ${sex}`,
        `Age: ${age}`,
        `ImageQuality: ${_QUALITY[quality]}`,
        `EF: ${ef}`,
        `FrameRate: ${25 + 5 * vr.int(4)}`,
        "",
      ].join("\n");
      await Deno.writeTextFile(join(niftiDir, `Info_${view}.cfg`), cfg);
      await Deno.writeTextFile(join(mhdDir, `Info_${view}.cfg`), cfg);
      const seq = new Uint8Array(W * H * frames);
      rendered.forEach((f, k) => seq.set(f.image, k * W * H));
      const base = `${id}_${view}`;
      await writeNifti(join(niftiDir, `${base}_half_sequence.nii.gz`), {
        dims: [W, H, frames],
        data: seq,
        pixDims: [...spacing, 1],
      });
      await writeMetaImage(join(mhdDir, `${base}_sequence.mhd`), {
        dims: [W, H, frames],
        data: seq,
        spacing: [...spacing, 1],
      });
      for (const [phase, frame] of [["ED", ed], ["ES", es]] as const) {
        const img = { dims: [W, H], pixDims: spacing };
        await writeNifti(join(niftiDir, `${base}_${phase}.nii.gz`), { ...img, data: frame.image });
        await writeNifti(join(niftiDir, `${base}_${phase}_gt.nii.gz`), {
          ...img,
          data: frame.label,
        });
        await writeMetaImage(join(mhdDir, `${base}_${phase}.mhd`), {
          dims: [W, H],
          spacing,
          data: frame.image,
        });
        if (!legacyTest) {
          await writeMetaImage(join(mhdDir, `${base}_${phase}_gt.mhd`), {
            dims: [W, H],
            spacing,
            data: frame.label,
          });
        }
      }
    }
  }
  await Deno.writeTextFile(join(root, "README.txt"), _readme(config));
}

function _readme(config: _Config): string {
  const { generator, version } = _GENERATOR.spec;
  return _readmeText("SYNTHETIC CAMUS ECHOCARDIOGRAPHY DATA (not real patients)", [
    `Generated by ${generator} in @gradprom/lib (version ${version},`,
    `seed ${config.seed}, ${config.patients} patients).`,
    "nifti/  layout of the 2023 NIfTI release (database_nifti/, database_split/)",
    "mhd/    layout of the 2019 challenge release (training/, testing/ without _gt)",
    "Labels: 0 background, 1 LV endocardium, 2 myocardium, 3 left atrium.",
  ]);
}
