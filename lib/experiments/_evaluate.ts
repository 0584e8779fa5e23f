/**
 * Evaluation of a run's networks on the held-out test images: IP's PSNR and
 * SSIM against the clean images, the recognition scores of each VR on IP's
 * output, and IP on another dataset (cross-domain).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { accuracy } from "../metrics/accuracy.ts";
import { meanIoU } from "../metrics/miou.ts";
import { psnrPerImage } from "../metrics/psnr.ts";
import { ssimPerImage } from "../metrics/ssim.ts";
import type { SrResNet } from "../models/sr_resnet.ts";
import type { Recognizer } from "../train/train_step.ts";
import type { ExperimentConfig } from "./config.ts";
import { datasetInfo, loadSplits, type Split, subtasks } from "./_data.ts";
import { degradeTestImages } from "./degradation.ts";
import { classesOf } from "./_networks.ts";

/** VR's predictions (argmax on the last axis) on `images`, in batches, flattened. */
export function predict(vr: Recognizer, images: tf.Tensor4D, batchSize: number): number[] {
  const preds: number[] = [];
  for (let i = 0; i < images.shape[0]; i += batchSize) {
    const size = Math.min(batchSize, images.shape[0] - i);
    const p = tf.tidy(() =>
      tf.argMax(
        vr.apply(tf.slice(images, [i, 0, 0, 0], [size, -1, -1, -1]), { training: false }),
        -1,
      )
    );
    preds.push(...(p.dataSync() as Int32Array));
    p.dispose();
  }
  return preds;
}

/** Recognition scores of predictions: accuracy (pixel accuracy for masks) and, for masks, mIoU. */
export function recognitionScores(
  preds: number[],
  labels: tf.Tensor,
  classes: number,
): { accuracy: number; miou?: number } {
  const truth = Array.from(labels.dataSync());
  if (labels.rank === 1) return { accuracy: accuracy(preds, truth) };
  return { accuracy: accuracy(preds, truth), miou: meanIoU(preds, truth, { classes }) };
}

/** IP's output on the degraded test set in batches, clipped to [0, 1]. */
function enhanceAll(ip: SrResNet, input: tf.Tensor4D, batchSize: number): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  for (let i = 0; i < input.shape[0]; i += batchSize) {
    const size = Math.min(batchSize, input.shape[0] - i);
    parts.push(tf.tidy(() =>
      tf.clipByValue(
        ip.apply(tf.slice(input, [i, 0, 0, 0], [size, -1, -1, -1]), { training: false }),
        0,
        1,
      )
    ));
  }
  const out = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return out;
}

/**
 * Evaluates IP (PSNR, SSIM against clean) and each VR on IP's output
 * (accuracy for diagnosis; pixel accuracy and mIoU for segmentation; with
 * both tasks, `accuracy` is the diagnosis accuracy).
 */
export function evaluate(
  config: ExperimentConfig,
  ip: SrResNet,
  vrs: Recognizer[],
  test: Split,
  testInput: tf.Tensor4D,
): { psnr: number; ssim: number; accuracy: number; miou?: number } {
  const batchSize = config.train.batchSize;
  const enhanced = enhanceAll(ip, testInput, batchSize);
  try {
    const psnr = mean(psnrPerImage(enhanced, test.images, { maxValue: 1 }));
    const ssim = mean(ssimPerImage(enhanced, test.images, { dataRange: 1 }));
    const tasks = subtasks(config.data.task);
    const scores = tasks.map((t, k) =>
      recognitionScores(
        predict(vrs[k], enhanced, batchSize),
        test.targets[t]!,
        classesOf(config, t),
      )
    );
    return {
      psnr,
      ssim,
      accuracy: scores[0].accuracy,
      ...(scores.at(-1)!.miou !== undefined ? { miou: scores.at(-1)!.miou } : {}),
    };
  } finally {
    enhanced.dispose();
  }
}

/** IP on another dataset's test split, degraded the same way (cross-domain). */
export async function evaluateCrossDomain(
  config: ExperimentConfig,
  ip: SrResNet,
): Promise<
  { dataset: string; psnr: number; ssim: number; psnrInput: number; ssimInput: number }
> {
  const dataset = config.data.evalDataset!;
  const data = await loadSplits({
    dataset,
    root: config.data.evalRoot,
    task: datasetInfo(dataset)!.tasks[0],
    size: config.data.size,
    splitSeed: config.data.splitSeed,
    trainLimit: 1,
    testLimit: config.data.testLimit,
  });
  const input = degradeTestImages(config, data.test.images);
  try {
    const enhanced = enhanceAll(ip, input, config.train.batchSize);
    const view = atCleanSize(input, data.test.images);
    const out = {
      dataset,
      psnr: mean(psnrPerImage(enhanced, data.test.images, { maxValue: 1 })),
      ssim: mean(ssimPerImage(enhanced, data.test.images, { dataRange: 1 })),
      psnrInput: mean(psnrPerImage(view, data.test.images, { maxValue: 1 })),
      ssimInput: mean(ssimPerImage(view, data.test.images, { dataRange: 1 })),
    };
    tf.dispose([enhanced, ...(view === input ? [] : [view])]);
    return out;
  } finally {
    input.dispose();
    data.dispose();
  }
}

/**
 * The degraded images at the clean images' size: themselves, or for
 * super-resolution bilinearly upsampled (what VR and the input PSNR see).
 */
export function atCleanSize(x: tf.Tensor4D, like: tf.Tensor4D): tf.Tensor4D {
  const [h, w] = [like.shape[1], like.shape[2]];
  if (x.shape[1] === h && x.shape[2] === w) return x;
  return tf.tidy(() => tf.clipByValue(tf.image.resizeBilinear(x, [h, w], true), 0, 1));
}

/** The mean of a list of numbers. */
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
