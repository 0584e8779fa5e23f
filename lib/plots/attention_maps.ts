/**
 * What each task attends to on the same input (the paper's Fig. 2): for a denoising network IP
 * and the recognition networks, maps over IP's output `Ŷ = IP(X̃)` of
 *
 * - denoising: `|∂L_IP/∂Ŷ|` with `L_IP = MSE(Ŷ, Y)`, i.e. `2|Ŷ − Y|/n`, IP's error map;
 * - segmentation: `|∂L_seg/∂Ŷ|` (cross-entropy + Dice against the mask) and the U-Net's class
 *   activation map of the lesion class (`segmentationCam`);
 * - diagnosis: `|∂L_cls/∂Ŷ|` (cross-entropy against the label, or the predicted class when no
 *   label is given) and the ResNet's Grad-CAM (`gradCam`) of the same class.
 *
 * Gradient maps are summed over colour channels. These image-space gradients are what each loss
 * sends back into the enhanced image: the parameter gradients GradProm compares are
 * `G = J_θᵀ ∂L/∂Ŷ`, with the same Jacobian `J_θ = ∂Ŷ/∂θ` for both tasks, so the per-image
 * cosine between two tasks' `∂L/∂Ŷ` (also returned) is the image-level view of their conflict.
 *
 * Every network runs in evaluation mode on each image alone: the Dice term couples the images of
 * a batch (a batch would change each image's map), and the maps stay independent of how many
 * images are passed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { gradCam } from "../cam/grad_cam.ts";
import { segmentationCam } from "../cam/segmentation_cam.ts";
import type { ResNet } from "../models/resnet.ts";
import type { SrResNet } from "../models/sr_resnet.ts";
import type { UNet } from "../models/unet.ts";
import { crossEntropyLoss, mseLoss, segmentationLoss } from "../train/losses.ts";

/** The networks whose attention {@link taskAttention} maps. Either recognition network may be left out. */
export interface TaskAttentionNetworks {
  /** The enhancement network. */
  ip: SrResNet;
  /** The diagnosis network. */
  classifier?: ResNet;
  /** The segmentation network. */
  segmenter?: UNet;
}

/** Options of {@link taskAttention}. */
export interface TaskAttentionOptions {
  /** Masks `[N, H, W, 1]` (class per pixel): needed with a segmenter. */
  masks?: tf.Tensor;
  /** Class labels `[N]` for the diagnosis loss and Grad-CAM (default: the predicted classes). */
  labels?: number[];
  /** The segmentation class whose activation map is drawn (default 1, the lesion). */
  segClass?: number;
}

/** The maps of {@link taskAttention}; all `[N, H, W]` (IP's output size), owned by the caller. */
export interface TaskAttentionMaps {
  /** `IP(X̃)` clipped to [0, 1] (for display). */
  enhanced: tf.Tensor4D;
  /** `|∂L_IP/∂Ŷ|`. */
  denoising: tf.Tensor3D;
  segmentation?: { gradient: tf.Tensor3D; cam: tf.Tensor3D };
  diagnosis?: {
    gradient: tf.Tensor3D;
    cam: tf.Tensor3D;
    /** The class each image's loss and Grad-CAM used. */
    classes: number[];
    /** The classifier's prediction on `Ŷ`. */
    predicted: number[];
  };
  /** Per image: cosine between two tasks' `∂L/∂Ŷ` (NaN where a gradient is zero). */
  cosine: {
    denoisingSegmentation?: number[];
    denoisingDiagnosis?: number[];
    segmentationDiagnosis?: number[];
  };
  /** Frees every tensor above. */
  dispose(): void;
}

/**
 * Maps of what denoising, segmentation and diagnosis attend to on the same degraded inputs.
 *
 * @param nets IP and the recognition networks (any subset of the two).
 * @param degraded Degraded inputs `X̃` `[N, H, W, C]`.
 * @param clean Clean targets `Y`, IP's output shape.
 * @param options Masks (with a segmenter), labels, the segmentation class.
 * @returns The maps (call `dispose()` after use).
 * @throws {TypeError} With a segmenter but no masks. {@link RangeError} for labels of the wrong
 *   length, a class out of range, or a target of another shape than IP's output.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { resNet } from "../models/resnet.ts";
 * import { srResNet } from "../models/sr_resnet.ts";
 * import { taskAttention } from "./attention_maps.ts";
 * await setupBackend({ quiet: true });
 * const ip = srResNet({ channels: 4, blocks: 1 }, 0);
 * const classifier = resNet({ blocks: [1, 1], widths: [4, 8], classes: 3 }, 0);
 * const y = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const x = tf.add(y, tf.randomNormal(y.shape, 0, 0.1, "float32", 2)) as tf.Tensor4D;
 * const maps = taskAttention({ ip, classifier }, x, y);
 * assert.deepEqual(maps.denoising.shape, [2, 16, 16]);
 * assert.deepEqual(maps.diagnosis!.cam.shape, [2, 16, 16]);
 * maps.dispose();
 * tf.dispose([x, y]);
 * ip.module.dispose();
 * classifier.module.dispose();
 * ```
 */
export function taskAttention(
  nets: TaskAttentionNetworks,
  degraded: tf.Tensor4D,
  clean: tf.Tensor4D,
  options: TaskAttentionOptions = {},
): TaskAttentionMaps {
  const n = degraded.shape[0];
  if (nets.segmenter && !options.masks) {
    throw new TypeError("Expected masks for the segmenter's loss but found none");
  }
  if (options.labels && options.labels.length !== n) {
    throw new RangeError(`Expected ${n} labels but found ${options.labels.length}`);
  }
  const segClass = options.segClass ?? 1;
  if (nets.segmenter) {
    const k = nets.segmenter.options.classes;
    if (!Number.isInteger(segClass) || segClass < 0 || segClass >= k) {
      throw new RangeError(`Expected segClass in [0, ${k}) but found ${segClass}`);
    }
  }
  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
  try {
    const one = (t: tf.Tensor, i: number) =>
      tf.slice(t, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    /** `f` on each image alone, concatenated. */
    const each = <T extends tf.Tensor>(f: (i: number) => T): T =>
      keep(tf.tidy(() => tf.concat(Array.from({ length: n }, (_, i) => f(i))) as T));
    const raw = each((i) => nets.ip.apply(one(degraded, i), { training: false }));
    if (raw.shape.join() !== clean.shape.join()) {
      throw new RangeError(
        `Expected clean images of IP's output shape [${raw.shape}] but found [${clean.shape}]`,
      );
    }
    const enhanced = keep(tf.tidy(() => tf.clipByValue(raw, 0, 1) as tf.Tensor4D));
    /** Per image: the gradient of `loss(ŷ_i, i)` w.r.t. ŷ_i, stacked `[N, H, W, C]`. */
    const perImage = (loss: (y: tf.Tensor4D, i: number) => tf.Scalar) =>
      each((i) => tf.grad((y) => loss(y as tf.Tensor4D, i))(one(raw, i)) as tf.Tensor4D);
    const magnitude = (g: tf.Tensor4D) => keep(tf.tidy(() => tf.sum(tf.abs(g), 3) as tf.Tensor3D));

    const gIp = perImage((y, i) => tf.tidy(() => mseLoss(y, one(clean, i))));
    const out: TaskAttentionMaps = {
      enhanced,
      denoising: magnitude(gIp),
      cosine: {},
      dispose: () => tf.dispose(owned),
    };
    let gSeg: tf.Tensor4D | undefined, gCls: tf.Tensor4D | undefined;
    if (nets.segmenter) {
      const seg = nets.segmenter, masks = options.masks!;
      gSeg = perImage((y, i) =>
        tf.tidy(() =>
          segmentationLoss(
            seg.apply(y, { training: false }),
            tf.slice(masks, [i, 0, 0, 0], [1, -1, -1, -1]),
          )
        )
      );
      out.segmentation = {
        gradient: magnitude(gSeg),
        cam: each((i) => segmentationCam(seg, one(raw, i), segClass)),
      };
    }
    if (nets.classifier) {
      const cls = nets.classifier;
      const argmax = each((i) => tf.argMax(cls.apply(one(raw, i), { training: false }), 1));
      const predicted = Array.from(argmax.dataSync());
      const classes = options.labels ?? predicted;
      gCls = perImage((y, i) =>
        tf.tidy(() =>
          crossEntropyLoss(cls.apply(y, { training: false }), tf.tensor1d([classes[i]], "int32"))
        )
      );
      out.diagnosis = {
        gradient: magnitude(gCls),
        cam: each((i) => gradCam(cls, one(raw, i), { classIndex: classes[i] })),
        classes,
        predicted,
      };
    }
    if (gSeg) out.cosine.denoisingSegmentation = _cosines(gIp, gSeg);
    if (gCls) out.cosine.denoisingDiagnosis = _cosines(gIp, gCls);
    if (gSeg && gCls) out.cosine.segmentationDiagnosis = _cosines(gSeg, gCls);
    return out;
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }
}

/** Per image, the cosine between two `[N, ...]` tensors flattened per image. */
function _cosines(a: tf.Tensor, b: tf.Tensor): number[] {
  const [dot, na, nb] = tf.tidy(() => {
    const n = a.shape[0];
    const fa = tf.reshape(a, [n, -1]), fb = tf.reshape(b, [n, -1]);
    return [tf.sum(tf.mul(fa, fb), 1), tf.norm(fa, 2, 1), tf.norm(fb, 2, 1)];
  }) as tf.Tensor[];
  const d = Array.from(dot.dataSync() as Float32Array), x = na.dataSync(), y = nb.dataSync();
  tf.dispose([dot, na, nb]);
  return d.map((v, i) => (x[i] > 0 && y[i] > 0 ? v / (x[i] * y[i]) : NaN));
}
