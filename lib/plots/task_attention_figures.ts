/**
 * The figures of the Fig. 2 notebook (what each task attends to), drawn from two runs the caller
 * loaded (see `taskAttentionRuns` in `lib/experiments/report.ts`): shared by
 * `notebooks/fig2_task_attention.ipynb` and figure export. Nothing here runs an experiment; the
 * runs' saved networks are read from the results cache.
 *
 * The networks are each trained for their own task alone: IP and the U-Net from Table 2's
 * Benchmark-i run, the ResNet from Table 1's Benchmark-i run (for Benchmark-i, a run's VR is the
 * one pre-trained on clean images), both at the profile's lowest σ, seed 0. The images are the
 * Task 1 test split (lesion masks) with the runs' fixed test noise. See {@link taskAttention} for
 * the maps.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ISIC2018_CLASSES } from "../data/isic2018_classes.ts";
import type { ExperimentConfig } from "../experiments/config.ts";
import { getExperiment, type Profile } from "../experiments/registry.ts";
import { ResultsCache } from "../experiments/results_cache.ts";
import { loadRunModels, type RunResult } from "../experiments/run_experiment.ts";
import { psnrPerImage } from "../metrics/psnr.ts";
import type { ResNet } from "../models/resnet.ts";
import type { UNet } from "../models/unet.ts";
import { taskAttention } from "./attention_maps.ts";
import { type MapStats, mapStats, mapStatsFigure } from "./attention_stats.ts";
import { degradedTestSet } from "./degraded_test_set.ts";
import { gridImages, imageGridFigure, imageGridHtml, type ImageGridOptions } from "./image_grid.ts";
import { mapImages } from "./map_images.ts";
import type { PlotlyFigure } from "./plotly.ts";
import { PAPER_ROLES } from "../experiments/methods.ts";

/** The names of the five maps, in the figure's column order. */
export const TASK_MAPS = [
  "denoising |∂L/∂Ŷ|",
  "segmentation |∂L/∂Ŷ|",
  "segmentation CAM",
  "diagnosis |∂L/∂Ŷ|",
  "diagnosis Grad-CAM",
] as const;

/** Options of {@link taskAttentionFigures}. */
export interface TaskAttentionFiguresOptions {
  /** The runs' profile (named in the title). */
  profile: Profile;
  /** Test images drawn in the grid (default 3; the statistics use the whole test split). */
  shown?: number;
  /** Results cache the runs' networks are read from (default: `$GRADPROM_CACHE` or `results/cache`). */
  cache?: ResultsCache;
}

/** What {@link taskAttentionFigures} returns. */
export interface TaskAttentionFigures {
  /** The image grid (a row per shown image) and its HTML twin. */
  grid: PlotlyFigure;
  gridHtml: string;
  /** Where each map's mass lies ({@link mapStatsFigure}). */
  stats: PlotlyFigure;
  /** Per map (keys {@link TASK_MAPS}), per test image. */
  mapStats: Record<string, MapStats[]>;
  /** Per pair of tasks, per test image: cos(∂L_a/∂Ŷ, ∂L_b/∂Ŷ). */
  cosine: Record<string, number[]>;
  /** Per test image: PSNR of the noisy input and of IP's output; and the run's reported mean. */
  psnr: { input: number[]; output: number[]; reported: number };
  /** The Benchmark-i runs used. */
  runs: { diagnosis: RunResult; segmentation: RunResult };
  ids: string[];
}

/**
 * The two Benchmark-i configs the figure reads (lowest σ, seed 0): Table 1's (diagnosis) and
 * Table 2's (segmentation).
 *
 * @param profile Run profile.
 * @param dataRoot Real data folder, or null.
 * @returns Both configs.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskAttentionConfigs } from "./task_attention_figures.ts";
 * const { segmentation } = taskAttentionConfigs("quick");
 * assert.deepEqual([segmentation.method, segmentation.data.task], ["benchmark-i", "segmentation"]);
 * ```
 */
export function taskAttentionConfigs(
  profile: Profile,
  dataRoot: string | null = null,
): { diagnosis: ExperimentConfig; segmentation: ExperimentConfig } {
  const pick = (id: string) => {
    const grid = getExperiment(id).grid(profile, { seeds: 1, dataRoot });
    const sigma0 = Math.min(...grid.map((c) => c.degradation.sigma));
    return grid.find((c) => c.method === PAPER_ROLES.ipOnly && c.degradation.sigma === sigma0)!;
  };
  return { diagnosis: pick("table1-isic-denoise"), segmentation: pick("table2-isic-seg-denoise") };
}

/**
 * Draws the Fig. 2 figures from the two Benchmark-i runs of {@link taskAttentionConfigs}: loads
 * their networks and maps every Task 1 test image.
 *
 * @param runs The diagnosis and the segmentation run (e.g. from `taskAttentionRuns`).
 * @param options Profile, number of images drawn, cache holding the networks.
 * @returns The grid, the statistics figure and the numbers behind them.
 * @example
 * ```ts ignore
 * const f = await taskAttentionFigures(await taskAttentionRuns({ profile: "quick" }), {
 *   profile: "quick",
 * });
 * plotly(f.grid, f.gridHtml);
 * ```
 */
export async function taskAttentionFigures(
  runs: { diagnosis: RunResult; segmentation: RunResult },
  options: TaskAttentionFiguresOptions,
): Promise<TaskAttentionFigures> {
  const cache = options.cache ?? new ResultsCache();
  const { diagnosis: rDiag, segmentation: rSeg } = runs;
  const configs = { diagnosis: rDiag.config, segmentation: rSeg.config };
  const diag = await loadRunModels(rDiag, cache);
  const seg = await loadRunModels(rSeg, cache);
  const test = await degradedTestSet(configs.segmentation);
  const masks = test.targets.segmentation!;
  const maps = taskAttention(
    { ip: seg.ip, classifier: diag.vr as unknown as ResNet, segmenter: seg.vr as unknown as UNet },
    test.degraded,
    test.clean,
    { masks },
  );
  const held: tf.Tensor[] = [];
  try {
    const input = psnrPerImage(test.degraded, test.clean, { maxValue: 1 });
    const output = psnrPerImage(maps.enhanced, test.clean, { maxValue: 1 });
    const tensors: Record<string, tf.Tensor3D> = {
      [TASK_MAPS[0]]: maps.denoising,
      [TASK_MAPS[1]]: maps.segmentation!.gradient,
      [TASK_MAPS[2]]: maps.segmentation!.cam,
      [TASK_MAPS[3]]: maps.diagnosis!.gradient,
      [TASK_MAPS[4]]: maps.diagnosis!.cam,
    };
    const stats = Object.fromEntries(TASK_MAPS.map((k) => [k, mapStats(tensors[k], masks)]));

    const n = Math.min(options.shown ?? 3, test.ids.length);
    const head = (t: tf.Tensor) => {
      const h = tf.slice(t, 0, n);
      held.push(h);
      return h;
    };
    const dB = (ps: number[]) => ps.slice(0, n).map((p) => `${p.toFixed(2)} dB`);
    const share = (s: MapStats[]) =>
      s.slice(0, n).map((x) =>
        Number.isFinite(x.insideShare)
          ? `${(100 * x.insideShare).toFixed(0)}% in lesion`
          : "all zero"
      );
    const outline = head(masks);
    const columns = [
      gridImages(head(test.degraded), { captions: dB(input) }),
      gridImages(head(maps.enhanced), { captions: dB(output) }),
      gridImages(head(test.clean), { outline }),
      ...TASK_MAPS.map((k) => mapImages(head(tensors[k]), { outline, captions: share(stats[k]) })),
    ];
    const rows = Array.from({ length: n }, (_, i) => columns.map((c) => c[i]));
    const className = (c: number) => ISIC2018_CLASSES[c] ?? String(c);
    const gridOptions: ImageGridOptions = {
      title:
        `What each task attends to (σ = ${configs.segmentation.degradation.sigma}, ${options.profile} profile)`,
      columnTitles: [
        "noisy input X̃",
        "IP output Ŷ",
        "clean Y, lesion",
        "denoising<br>|∂L/∂Ŷ|",
        "segmentation<br>|∂L/∂Ŷ|",
        "segmentation<br>CAM (lesion)",
        "diagnosis<br>|∂L/∂Ŷ|",
        "diagnosis<br>Grad-CAM",
      ],
      rowTitles: test.ids.slice(0, n).map((id, i) =>
        `${id}<br>predicted ${className(maps.diagnosis!.predicted[i])}`
      ),
      cellSize: 112,
    };
    return {
      grid: imageGridFigure(rows, gridOptions),
      gridHtml: imageGridHtml(rows, gridOptions),
      stats: mapStatsFigure(stats, {
        title: "Where each task's map lies (mean ± std over the test images)",
      }),
      mapStats: stats,
      cosine: {
        "denoising vs segmentation": maps.cosine.denoisingSegmentation!,
        "denoising vs diagnosis": maps.cosine.denoisingDiagnosis!,
        "segmentation vs diagnosis": maps.cosine.segmentationDiagnosis!,
      },
      psnr: { input, output, reported: rSeg.metrics.psnr },
      runs: { diagnosis: rDiag, segmentation: rSeg },
      ids: test.ids,
    };
  } finally {
    for (const h of held) h.dispose();
    maps.dispose();
    test.dispose();
    diag.dispose();
    seg.dispose();
  }
}
