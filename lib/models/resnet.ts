/**
 * A ResNet classifier (He et al. 2016), the paper's diagnosis (VR) network.
 *
 * ```
 * stem "small":    conv3×3 (in → w0, stride `stemStride`), BN, ReLU
 * stem "imagenet": conv7×7 (in → w0, stride `stemStride`, 2 in torchvision), BN, ReLU,
 *                  max pool 3×3/2
 * stage i: blocks[i] × block, then
 *   basic:      [conv3×3 (stride s), BN, ReLU, conv3×3, BN] + shortcut, ReLU     (out wᵢ)
 *   bottleneck: [conv1×1, BN, ReLU, conv3×3 (stride s), BN, ReLU, conv1×1, BN]
 *               + shortcut, ReLU                                                 (out 4·wᵢ)
 *   (s = 2 in the first block of every stage but the first; the shortcut is
 *    conv1×1 (stride s) + BN when the shape changes, the identity otherwise)
 * head:   global average pool, dense → classes (logits)
 * ```
 *
 * Widths are multiplied by `widthMultiplier` (rounded, at least 1), so a CPU-sized run can use a
 * narrow version of the very same architecture. {@link resNetPreset} gives ResNet-18/34/50/101
 * exactly as torchvision builds them (v1.5: the bottleneck's stride is on its 3×3 convolution);
 * at width 1 their trainable parameter counts equal torchvision's `parameters()` (batch-norm
 * running statistics are state, not parameters). The defaults ({@link RESNET_DEFAULTS}) are a
 * narrow 3-stage ResNet-8 with the small stem, for 64×64 inputs on a CPU.
 *
 * Convolutions use TF's 'same' padding. At stride 2 on an even input that pads one pixel at the
 * bottom/right only, where PyTorch pads both sides: output shapes agree, but weights ported from
 * torchvision would sample a grid shifted by one pixel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  batchNorm,
  batchNormParams,
  conv,
  convParams,
  type ForwardContext,
  Module,
} from "./module.ts";

/** Options of {@link resNet}. */
export interface ResNetOptions {
  /** Residual blocks per stage (ResNet-18: `[2, 2, 2, 2]`). */
  blocks: number[];
  /**
   * Base channel width per stage (same length as `blocks`), before `widthMultiplier`. A basic
   * block outputs this many channels, a bottleneck block 4×.
   */
  widths: number[];
  /** Number of classes. */
  classes: number;
  /** Input image channels. */
  imageChannels: number;
  /** Stride of the stem convolution: 1 for small inputs, 2 for large (torchvision: 2). */
  stemStride: 1 | 2;
  /** Residual block kind: `basic` (ResNet-18/34) or `bottleneck` (ResNet-50/101, expansion 4). */
  block: "basic" | "bottleneck";
  /** Stem: `small` (one 3×3 conv) or `imagenet` (7×7 conv, then 3×3/2 max pool). */
  stem: "small" | "imagenet";
  /** Multiplies every width (rounded, at least 1): 1 is the paper size. */
  widthMultiplier: number;
}

/**
 * Defaults: a narrow 3-stage ResNet for CPU-sized runs (ResNet-8-like): basic blocks, small
 * stem, widths 16/32/64.
 */
export const RESNET_DEFAULTS: ResNetOptions = {
  blocks: [1, 1, 1],
  widths: [16, 32, 64],
  classes: 7,
  imageChannels: 3,
  stemStride: 1,
  block: "basic",
  stem: "small",
  widthMultiplier: 1,
};

/** A ResNet classifier: its variables and its forward pass. */
export interface ResNet {
  module: Module;
  options: ResNetOptions;
  /** Class logits `[N, classes]`. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
  /**
   * The forward pass split after a stage: that stage's output feature map `[N, h, w, C]`
   * (after its last ReLU) and the rest of the network as a function of it, so that
   * `head(features)` equals `apply(x, ctx)`. Grad-CAM differentiates `head` at `features`.
   *
   * @param stage Stage index, default the last (the usual Grad-CAM layer).
   */
  split(
    x: tf.Tensor4D,
    ctx: ForwardContext,
    stage?: number,
  ): { features: tf.Tensor4D; head: (features: tf.Tensor4D) => tf.Tensor2D };
}

/** Names of the {@link resNetPreset} architectures. */
export type ResNetPresetName = "resnet18" | "resnet34" | "resnet50" | "resnet101";

const _PRESETS: Record<ResNetPresetName, { blocks: number[]; block: ResNetOptions["block"] }> = {
  resnet18: { blocks: [2, 2, 2, 2], block: "basic" },
  resnet34: { blocks: [3, 4, 6, 3], block: "basic" },
  resnet50: { blocks: [3, 4, 6, 3], block: "bottleneck" },
  resnet101: { blocks: [3, 4, 23, 3], block: "bottleneck" },
};

/** Options of {@link resNetPreset}. */
export interface ResNetPresetOptions {
  /** Number of classes. */
  classes: number;
  /** Width multiplier (default 1: torchvision's size). */
  widthMultiplier?: number;
  /** Input channels (default 3). */
  imageChannels?: number;
  /**
   * Stem (default `imagenet`, with stem stride 2, as torchvision). `small` (3×3, stride 1)
   * suits inputs of 64² and below.
   */
  stem?: ResNetOptions["stem"];
}

/**
 * Options of torchvision's ResNet-18/34/50/101 (widths 64/128/256/512), for {@link resNet}.
 *
 * @param name `resnet18`, `resnet34`, `resnet50` or `resnet101`.
 * @param options Classes, and optionally a width multiplier, input channels and the stem.
 * @returns Complete options.
 * @throws {RangeError} For an unknown name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resNetPreset } from "./resnet.ts";
 * const o = resNetPreset("resnet50", { classes: 7, widthMultiplier: 0.125 });
 * assert.deepEqual(o.blocks, [3, 4, 6, 3]);
 * assert.equal(o.block, "bottleneck");
 * assert.deepEqual(o.widths, [64, 128, 256, 512]);
 * ```
 */
export function resNetPreset(name: ResNetPresetName, options: ResNetPresetOptions): ResNetOptions {
  const preset = _PRESETS[name];
  if (!preset) {
    throw new RangeError(
      `Expected a preset name in ${Object.keys(_PRESETS).join(", ")} but found "${name}"`,
    );
  }
  const stem = options.stem ?? "imagenet";
  return {
    blocks: [...preset.blocks],
    widths: [64, 128, 256, 512],
    classes: options.classes,
    imageChannels: options.imageChannels ?? 3,
    stemStride: stem === "imagenet" ? 2 : 1,
    block: preset.block,
    stem,
    widthMultiplier: options.widthMultiplier ?? 1,
  };
}

/** One residual block of the plan. */
interface _BlockPlan {
  path: string;
  stage: number;
  stride: number;
  project: boolean;
}

/**
 * Builds a ResNet classifier.
 *
 * Unspecified options come from {@link RESNET_DEFAULTS}, except that `stem: "imagenet"` without
 * an explicit `stemStride` gets stride 2 (torchvision's stem).
 *
 * @param options Overrides of {@link RESNET_DEFAULTS}, or a {@link resNetPreset}.
 * @param seed Initialisation seed.
 * @returns The model.
 * @throws {RangeError} For blocks and widths of different or zero length, a width multiplier
 *   that is not positive, or unknown block or stem kinds.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { resNet, resNetPreset } from "./resnet.ts";
 * await tf.setBackend("cpu");
 * const net = resNet({ classes: 2 }, 0);
 * const logits = tf.tidy(() => net.apply(tf.zeros([4, 16, 16, 3]), { training: false }));
 * assert.deepEqual(logits.shape, [4, 2]);
 * tf.dispose(logits);
 * net.module.dispose();
 * // A 1/16-width ResNet-50 with the ImageNet stem.
 * const r50 = resNet(resNetPreset("resnet50", { classes: 3, widthMultiplier: 1 / 16 }), 0);
 * const y = tf.tidy(() => r50.apply(tf.zeros([1, 64, 64, 3]), { training: false }));
 * assert.deepEqual(y.shape, [1, 3]);
 * y.dispose();
 * r50.module.dispose();
 * ```
 */
export function resNet(options: Partial<ResNetOptions> = {}, seed = 0): ResNet {
  const o: ResNetOptions = {
    ...RESNET_DEFAULTS,
    ...(options.stem === "imagenet" && options.stemStride === undefined ? { stemStride: 2 } : {}),
    ...options,
  };
  if (o.blocks.length === 0 || o.blocks.length !== o.widths.length) {
    throw new RangeError(
      `Expected blocks and widths of the same non-zero length but found [${o.blocks}] and [${o.widths}]`,
    );
  }
  if (!(o.widthMultiplier > 0) || !Number.isFinite(o.widthMultiplier)) {
    throw new RangeError(`Expected a positive widthMultiplier but found ${o.widthMultiplier}`);
  }
  if (o.block !== "basic" && o.block !== "bottleneck") {
    throw new RangeError(`Expected block "basic" or "bottleneck" but found "${o.block}"`);
  }
  if (o.stem !== "small" && o.stem !== "imagenet") {
    throw new RangeError(`Expected stem "small" or "imagenet" but found "${o.stem}"`);
  }
  const widths = o.widths.map((w) => Math.max(1, Math.round(w * o.widthMultiplier)));
  const expansion = o.block === "bottleneck" ? 4 : 1;
  const m = new Module("resnet", seed);
  convParams(m, "stem/conv", o.stem === "imagenet" ? 7 : 3, o.imageChannels, widths[0], false);
  batchNormParams(m, "stem/bn", widths[0]);
  let cin = widths[0];
  const plan: _BlockPlan[] = [];
  o.blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const path = `stage${s}/block${b}`;
      const stride = b === 0 && s > 0 ? 2 : 1;
      const w = widths[s];
      const cout = w * expansion;
      if (o.block === "basic") {
        convParams(m, `${path}/conv1`, 3, cin, w, false);
        batchNormParams(m, `${path}/bn1`, w);
        convParams(m, `${path}/conv2`, 3, w, w, false);
        batchNormParams(m, `${path}/bn2`, w);
      } else {
        convParams(m, `${path}/conv1`, 1, cin, w, false);
        batchNormParams(m, `${path}/bn1`, w);
        convParams(m, `${path}/conv2`, 3, w, w, false);
        batchNormParams(m, `${path}/bn2`, w);
        convParams(m, `${path}/conv3`, 1, w, cout, false);
        batchNormParams(m, `${path}/bn3`, cout);
      }
      const project = stride !== 1 || cin !== cout;
      if (project) {
        convParams(m, `${path}/proj`, 1, cin, cout, false);
        batchNormParams(m, `${path}/proj_bn`, cout);
      }
      plan.push({ path, stage: s, stride, project });
      cin = cout;
    }
  });
  m.addParam("fc/kernel", [cin, o.classes], { kind: "lecun", fanIn: cin });
  m.addParam("fc/bias", [o.classes], { kind: "constant", value: 0 });

  /** conv{i}, bn{i} of a block. */
  const convBn = (path: string, i: number, h: tf.Tensor4D, ctx: ForwardContext, stride = 1) =>
    batchNorm(m, `${path}/bn${i}`, conv(m, `${path}/conv${i}`, h, stride), ctx);

  function block(p: _BlockPlan, h: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const { path, stride, project } = p;
    let r: tf.Tensor4D;
    if (o.block === "basic") {
      r = convBn(path, 2, tf.relu(convBn(path, 1, h, ctx, stride)), ctx);
    } else {
      r = tf.relu(convBn(path, 1, h, ctx));
      r = tf.relu(convBn(path, 2, r, ctx, stride));
      r = convBn(path, 3, r, ctx);
    }
    const s = project
      ? batchNorm(m, `${path}/proj_bn`, conv(m, `${path}/proj`, h, stride), ctx)
      : h;
    return tf.relu(tf.add(r, s));
  }

  function stem(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    if (x.shape[3] !== o.imageChannels) {
      throw new RangeError(
        `Expected ${o.imageChannels} image channels but found input of shape [${x.shape}]`,
      );
    }
    const h = tf.relu(batchNorm(m, "stem/bn", conv(m, "stem/conv", x, o.stemStride), ctx));
    return o.stem === "imagenet" ? tf.maxPool(h, 3, 2, "same") : h;
  }

  function classify(h: tf.Tensor4D): tf.Tensor2D {
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    return tf.add(
      tf.matMul(pooled, m.p("fc/kernel") as tf.Tensor2D),
      m.p("fc/bias"),
    ) as tf.Tensor2D;
  }

  function apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    let h = stem(x, ctx);
    for (const p of plan) h = block(p, h, ctx);
    return classify(h);
  }

  function split(x: tf.Tensor4D, ctx: ForwardContext, stage = o.blocks.length - 1) {
    if (!Number.isInteger(stage) || stage < 0 || stage >= o.blocks.length) {
      throw new RangeError(
        `Expected a stage index in [0, ${o.blocks.length - 1}] but found ${stage}`,
      );
    }
    let h = stem(x, ctx);
    for (const p of plan) if (p.stage <= stage) h = block(p, h, ctx);
    const head = (features: tf.Tensor4D): tf.Tensor2D => {
      let g = features;
      for (const p of plan) if (p.stage > stage) g = block(p, g, ctx);
      return classify(g);
    };
    return { features: h, head };
  }
  return { module: m, options: o, apply, split };
}
