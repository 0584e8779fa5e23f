/**
 * The figures of the qualitative-results notebook, drawn from runs the caller loaded (see
 * `qualitativeRuns` in `lib/experiments/report.ts`): shared by `notebooks/qualitative_results.ipynb`
 * and figure export. Nothing here runs an experiment; the runs' saved networks are read from the
 * results cache.
 *
 * From Table 1's runs (diagnosis as the auxiliary task, seed 0, every σ of the profile):
 * - per σ, a grid of test images (one per diagnosis class, the first met in test-split order):
 *   the noisy input, each method's output, the clean image, with PSNR; and every method's PSNR
 *   on every test image;
 * - at the lowest σ, a grid of Grad-CAM overlays: the pre-trained ResNet on the clean and the
 *   noisy image, then each run's own ResNet on that run's output (predicted class, ✓ if right);
 * - on the Task 1 test images (lesion masks; same size and test noise as Table 2): PSNR pooled
 *   inside and outside the lesion per method and σ, and the statistics of each run's Grad-CAM
 *   against the masks at the lowest σ.
 *
 * IP and the classifier run in batches of the config's batch size, as the runner evaluates them
 * (so the PSNR here equals the run's), Grad-CAM on each image alone.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { camOverlay } from "../cam/cam_overlay.ts";
import { gradCam } from "../cam/grad_cam.ts";
import { ISIC2018_CLASSES } from "../data/isic2018_classes.ts";
import { type ExperimentConfig, mergeConfig, type Method } from "../experiments/config.ts";
import { METHOD_SPECS, PAPER_ROLES } from "../experiments/methods.ts";
import { getExperiment, type Profile, TABLE1_METHODS } from "../experiments/registry.ts";
import { ResultsCache } from "../experiments/results_cache.ts";
import { loadRunModels, type RunResult } from "../experiments/run_experiment.ts";
import { psnrPerImage } from "../metrics/psnr.ts";
import type { ResNet } from "../models/resnet.ts";
import type { SrResNet } from "../models/sr_resnet.ts";
import { type MapStats, mapStats, mapStatsFigure } from "./attention_stats.ts";
import { degradedTestSet } from "./degraded_test_set.ts";
import {
  type GridImage,
  gridImages,
  imageGridFigure,
  imageGridHtml,
  type ImageGridOptions,
} from "./image_grid.ts";
import type { PlotlyFigure } from "./plotly.ts";

/** Short labels of the methods shown (Table 1's, from `METHOD_SPECS`), in column order. */
export const QUALITATIVE_METHODS: Partial<Record<Method, string>> = Object.fromEntries(
  TABLE1_METHODS.map((m) => [m, METHOD_SPECS[m].shortLabel]),
);

/** Options of {@link qualitativeFigures}. */
export interface QualitativeFiguresOptions {
  /** The runs' profile (named in the titles). */
  profile: Profile;
  /** Test images per grid (default 4). */
  shown?: number;
  /** Results cache the runs' networks are read from (default: `$GRADPROM_CACHE` or `results/cache`). */
  cache?: ResultsCache;
}

/** A grid as a figure and its HTML twin. */
export interface GridFigure {
  figure: PlotlyFigure;
  html: string;
}

/** What {@link qualitativeFigures} returns. */
export interface QualitativeFigures {
  /** The methods shown (those of the grid), in column order. */
  methods: Method[];
  /** The short label of each method shown, by method. */
  labels: Record<string, string>;
  sigmas: number[];
  /** Per σ: the denoising grid; PSNR per test image by method (and `noisy`); the run's means. */
  denoising: {
    sigma: number;
    grid: GridFigure;
    psnr: Record<string, number[]>;
    reported: Record<string, number>;
  }[];
  /** Grad-CAM overlays at the lowest σ. */
  cams: GridFigure;
  /** Per σ, per method (and `noisy`): PSNR pooled inside and outside the lesion (Task 1 images). */
  lesion: { sigma: number; psnr: Record<string, { inside: number; outside: number }> }[];
  /** Per method label: each run's Grad-CAM against the lesion masks at the lowest σ. */
  camStats: Record<string, MapStats[]>;
  camStatsFigure: PlotlyFigure;
  /** Number of Task 1 test images. */
  lesionImages: number;
  runs: RunResult[];
}

/**
 * The configs the figures read: Table 1's grid for the profile, seed 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { qualitativeConfigs } from "./qualitative_figures.ts";
 * assert.equal(qualitativeConfigs("quick").length, 10); // 5 methods × 2 σ
 * ```
 */
export function qualitativeConfigs(
  profile: Profile,
  dataRoot: string | null = null,
): ExperimentConfig[] {
  return getExperiment("table1-isic-denoise").grid(profile, { seeds: 1, dataRoot })
    .filter((c) => c.method in QUALITATIVE_METHODS);
}

/**
 * Draws the qualitative figures (see the module documentation) from the runs: their saved networks
 * applied to the test images.
 *
 * @param results The runs of {@link qualitativeConfigs} (e.g. from `qualitativeRuns`).
 * @param options Profile, images per grid, cache holding the networks.
 * @returns The grids, the lesion measurements and the CAM statistics.
 * @example
 * ```ts ignore
 * const q = await qualitativeFigures(await qualitativeRuns({ profile: "quick" }), { profile: "quick" });
 * plotly(q.cams.figure, q.cams.html);
 * ```
 */
export async function qualitativeFigures(
  results: RunResult[],
  options: QualitativeFiguresOptions,
): Promise<QualitativeFigures> {
  const cache = options.cache ?? new ResultsCache();
  const shown = options.shown ?? 4;
  const configs = results.map((r) => r.config);
  const methods = (Object.keys(QUALITATIVE_METHODS) as Method[]).filter((m) =>
    configs.some((c) => c.method === m)
  );
  const label = (m: Method) => QUALITATIVE_METHODS[m]!;
  const sigmas = [...new Set(configs.map((c) => c.degradation.sigma))].sort((a, b) => a - b);
  const run = (m: Method, sigma: number) =>
    results.find((r) => r.config.method === m && r.config.degradation.sigma === sigma)!;
  const size = configs[0].train.batchSize;
  const profile = options.profile;

  const out: QualitativeFigures = {
    methods,
    labels: Object.fromEntries(methods.map((m) => [m, label(m)])),
    sigmas,
    denoising: [],
    cams: { figure: { data: [], layout: {} }, html: "" },
    lesion: [],
    camStats: {},
    camStatsFigure: { data: [], layout: {} },
    lesionImages: 0,
    runs: results,
  };
  const column = (m: string) => (m in QUALITATIVE_METHODS ? label(m as Method) : m);
  const titles = (cols: string[]) => cols.map((c) => column(c).replace(" (", "<br>("));

  for (const sigma of sigmas) {
    const test = await degradedTestSet(run(methods[0], sigma).config);
    const labels = Array.from(test.targets.diagnosis!.dataSync());
    const pick: number[] = [];
    for (let i = 0; i < labels.length && pick.length < shown; i++) {
      if (!pick.some((j) => labels[j] === labels[i])) pick.push(i);
    }
    const truth = pick.map((i) => labels[i]);
    const idx = tf.tensor1d(pick, "int32");
    const sel = (x: tf.Tensor4D) => tf.gather(x, idx) as tf.Tensor4D;
    const [xShown, yShown] = [sel(test.degraded), sel(test.clean)];
    const psnr: Record<string, number[]> = {
      noisy: psnrPerImage(test.degraded, test.clean, { maxValue: 1 }),
    };
    const reported: Record<string, number> = {};
    const images: Record<string, GridImage[]> = {
      noisy: gridImages(xShown, { captions: pick.map((i) => `${psnr.noisy[i].toFixed(2)} dB`) }),
      clean: gridImages(yShown, { captions: pick.map(() => "ground truth") }),
    };
    const cams: Record<string, GridImage[]> = {};
    try {
      for (const m of methods) {
        const r = run(m, sigma);
        reported[m] = r.metrics.psnr;
        const models = await loadRunModels(r, cache);
        const vr = models.vr as unknown as ResNet;
        const enhanced = _enhance(models.ip, test.degraded, size);
        const outShown = sel(enhanced);
        try {
          psnr[m] = psnrPerImage(enhanced, test.clean, { maxValue: 1 });
          images[m] = gridImages(outShown, {
            captions: pick.map((i) => `${psnr[m][i].toFixed(2)} dB`),
          });
          if (sigma === sigmas[0]) {
            if (m === PAPER_ROLES.ipOnly) {
              // Benchmark-i's VR is the one pre-trained on clean images: the reference columns.
              cams.clean = _camImages(vr, yShown, truth, size);
              cams.noisy = _camImages(vr, xShown, truth, size);
            }
            cams[m] = _camImages(vr, outShown, truth, size);
          }
        } finally {
          tf.dispose([enhanced, outShown]);
          models.dispose();
        }
      }
      const rowTitles = pick.map((i) =>
        `${test.ids[i]}<br>${ISIC2018_CLASSES[labels[i]] ?? labels[i]}`
      );
      const grid = (cols: string[], from: Record<string, GridImage[]>, o: ImageGridOptions) => {
        const rows = pick.map((_, r) => cols.map((c) => from[c][r]));
        return { figure: imageGridFigure(rows, o), html: imageGridHtml(rows, o) };
      };
      const dCols = ["noisy", ...methods, "clean"];
      out.denoising.push({
        sigma,
        psnr,
        reported,
        grid: grid(dCols, images, {
          title: `Denoising at σ = ${sigma} (${profile} profile, seed 0)`,
          columnTitles: titles(dCols).map((t) => (t === "noisy" ? "noisy input" : t)),
          rowTitles,
        }),
      });
      if (sigma === sigmas[0]) {
        const cCols = ["clean", "noisy", ...methods];
        out.cams = grid(cCols, cams, {
          title: `Grad-CAM of the diagnosis network, σ = ${sigma} (${profile} profile, seed 0)`,
          columnTitles: ["clean<br>(pre-trained)", "noisy<br>(pre-trained)", ...titles(methods)],
          rowTitles,
        });
      }
    } finally {
      tf.dispose([idx, xShown, yShown]);
      test.dispose();
    }
  }

  // Task 1 images with lesion masks: the lesion kept, and the CAM on it.
  for (const sigma of sigmas) {
    const segConfig = mergeConfig(run(methods[0], sigma).config, {
      data: { task: "segmentation" },
    });
    const test = await degradedTestSet(segConfig);
    const masks = test.targets.segmentation!;
    out.lesionImages = test.ids.length;
    const psnr: Record<string, { inside: number; outside: number }> = {
      noisy: _lesionPsnr(test.degraded, test.clean, masks),
    };
    try {
      for (const m of methods) {
        const models = await loadRunModels(run(m, sigma), cache);
        const vr = models.vr as unknown as ResNet;
        const enhanced = _enhance(models.ip, test.degraded, size);
        try {
          psnr[m] = _lesionPsnr(enhanced, test.clean, masks);
          if (sigma === sigmas[0]) {
            const pred = _predict(vr, enhanced, size);
            const cams = tf.tidy(() =>
              tf.concat(
                pred.map((c, i) => gradCam(vr, tf.slice(enhanced, i, 1), { classIndex: c })),
              )
            );
            out.camStats[label(m)] = mapStats(cams, masks);
            cams.dispose();
          }
        } finally {
          enhanced.dispose();
          models.dispose();
        }
      }
    } finally {
      test.dispose();
    }
    out.lesion.push({ sigma, psnr });
  }
  out.camStatsFigure = mapStatsFigure(out.camStats, {
    title: `Where each run's Grad-CAM lies, σ = ${sigmas[0]} (Task 1 test images)`,
  });
  return out;
}

/** `f` on batches of `size` images, concatenated. */
function _batched(x: tf.Tensor4D, size: number, f: (b: tf.Tensor4D) => tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.concat(
      Array.from(
        { length: Math.ceil(x.shape[0] / size) },
        (_, k) => f(tf.slice(x, k * size, Math.min(size, x.shape[0] - k * size))),
      ),
    )
  );
}

/** IP's output clipped to [0, 1], as the runner evaluates it. */
function _enhance(ip: SrResNet, x: tf.Tensor4D, size: number): tf.Tensor4D {
  return _batched(
    x,
    size,
    (b) => tf.clipByValue(ip.apply(b, { training: false }), 0, 1),
  ) as tf.Tensor4D;
}

/** The classifier's predicted classes. */
function _predict(vr: ResNet, x: tf.Tensor4D, size: number): number[] {
  const p = _batched(x, size, (b) => tf.argMax(vr.apply(b, { training: false }), 1));
  const out = Array.from(p.dataSync());
  p.dispose();
  return out;
}

/** Grad-CAM of each image's predicted class over the image, captioned with the class (✓ if right). */
function _camImages(vr: ResNet, x: tf.Tensor4D, truth: number[], size: number): GridImage[] {
  const pred = _predict(vr, x, size);
  const over = tf.tidy(() =>
    tf.concat(pred.map((c, i) => {
      const image = tf.slice(x, i, 1);
      return camOverlay(image, gradCam(vr, image as tf.Tensor4D, { classIndex: c }), {
        alpha: 0.5,
      });
    }))
  );
  const captions = pred.map((p, i) => `${ISIC2018_CLASSES[p] ?? p} ${p === truth[i] ? "✓" : "✗"}`);
  try {
    return gridImages(over, { captions });
  } finally {
    over.dispose();
  }
}

/** PSNR pooled over the pixels inside, and outside, the lesion masks. */
function _lesionPsnr(
  out: tf.Tensor4D,
  clean: tf.Tensor4D,
  masks: tf.Tensor4D,
): { inside: number; outside: number } {
  const region = (inside: boolean) => {
    const mse = tf.tidy(() => {
      const m = inside ? masks : tf.sub(1, masks);
      const se = tf.sum(tf.mul(tf.square(tf.sub(out, clean)), m));
      return tf.div(se, tf.mul(tf.sum(m), out.shape[3]));
    });
    const v = mse.dataSync()[0];
    mse.dispose();
    return -10 * Math.log10(v);
  };
  return { inside: region(true), outside: region(false) };
}
