/**
 * U-Net (Ronneberger et al. 2015), the paper's segmentation (VR) network.
 *
 * ```
 * encoder level l = 0 … depth−1:  [conv3×3, BN, ReLU] ×2 (→ w·2^l), then max pool 2×2/2
 * bottleneck:                     [conv3×3, BN, ReLU] ×2 (→ w·2^depth)
 * decoder level l = depth−1 … 0:  up (w·2^(l+1) → w·2^l), concat encoder l's output,
 *                                 [conv3×3, BN, ReLU] ×2 (→ w·2^l)
 * head:                           conv1×1 (w → classes), logits
 * up "transpose": conv2dTranspose 2×2/2 (+ bias), Ronneberger's "up-convolution"
 * up "bilinear":  bilinear resize ×2 (half-pixel centres), conv3×3 (+ bias)
 * ```
 *
 * Differences from the 2015 paper, as in most current implementations: 'same' padding (the
 * output has the input's size, no cropping of the skips) and batch norm after every 3×3
 * convolution (whose bias it makes redundant, so those convolutions have none). Height and
 * width must be divisible by 2^depth. The paper's size is `depth: 4, baseWidth: 64`; the
 * defaults ({@link UNET_DEFAULTS}) are a CPU-sized `depth: 3, baseWidth: 16`.
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

/** Options of {@link unet}. */
export interface UNetOptions {
  /** Number of 2×2 poolings (Ronneberger et al.: 4). */
  depth: number;
  /** Channels of the first level; level l has `baseWidth·2^l` (Ronneberger et al.: 64). */
  baseWidth: number;
  /** Number of classes (channels of the logits, background included). */
  classes: number;
  /** Input image channels. */
  imageChannels: number;
  /** Decoder upsampling: `transpose` (2×2/2 transposed conv) or `bilinear` (resize + 3×3 conv). */
  upsampling: "transpose" | "bilinear";
}

/** Defaults: a CPU-sized U-Net (depth 3, 16 base channels, 2 classes, RGB, transposed conv). */
export const UNET_DEFAULTS: UNetOptions = {
  depth: 3,
  baseWidth: 16,
  classes: 2,
  imageChannels: 3,
  upsampling: "transpose",
};

/** A U-Net: its variables and its forward pass. */
export interface UNet {
  module: Module;
  options: UNetOptions;
  /** Per-pixel class logits `[N, H, W, classes]`. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D;
  /**
   * The forward pass split at a decoder level: that level's feature map and the rest of the
   * network as a function of it (the encoder's skips captured), so that `head(features)`
   * equals `apply(x, ctx)`. Level 0 is the bottleneck (`H/2^depth`, `baseWidth·2^depth`
   * channels), level k the output of the k-th decoder block (`H/2^(depth−k)`), level `depth`
   * (the default) the last decoder block, at full resolution, just before the 1×1 head.
   * Tensors captured by `head` live as long as the enclosing `tf.tidy`.
   */
  split(
    x: tf.Tensor4D,
    ctx: ForwardContext,
    level?: number,
  ): { features: tf.Tensor4D; head: (features: tf.Tensor4D) => tf.Tensor4D };
}

/**
 * Builds a U-Net.
 *
 * @param options Overrides of {@link UNET_DEFAULTS}.
 * @param seed Initialisation seed.
 * @returns The model.
 * @throws {RangeError} For a depth below 1, a base width below 1, fewer than 1 class or an
 *   unknown upsampling; `apply` throws for an input whose height or width is not divisible
 *   by 2^depth.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { unet } from "./unet.ts";
 * await tf.setBackend("cpu");
 * const net = unet({ depth: 2, baseWidth: 4, classes: 3 }, 0);
 * const logits = net.apply(tf.zeros([1, 16, 12, 3]), { training: false });
 * assert.deepEqual(logits.shape, [1, 16, 12, 3]);
 * net.module.dispose();
 * ```
 */
export function unet(options: Partial<UNetOptions> = {}, seed = 0): UNet {
  const o: UNetOptions = { ...UNET_DEFAULTS, ...options };
  if (!Number.isInteger(o.depth) || o.depth < 1) {
    throw new RangeError(`Expected an integer depth ≥ 1 but found ${o.depth}`);
  }
  if (!Number.isInteger(o.baseWidth) || o.baseWidth < 1) {
    throw new RangeError(`Expected an integer baseWidth ≥ 1 but found ${o.baseWidth}`);
  }
  if (!Number.isInteger(o.classes) || o.classes < 1) {
    throw new RangeError(`Expected an integer number of classes ≥ 1 but found ${o.classes}`);
  }
  if (o.upsampling !== "transpose" && o.upsampling !== "bilinear") {
    throw new RangeError(
      `Expected upsampling "transpose" or "bilinear" but found "${o.upsampling}"`,
    );
  }
  const m = new Module("unet", seed);
  const width = (l: number) => o.baseWidth * 2 ** l;
  const doubleConvParams = (path: string, cin: number, cout: number) => {
    convParams(m, `${path}/conv1`, 3, cin, cout, false);
    batchNormParams(m, `${path}/bn1`, cout);
    convParams(m, `${path}/conv2`, 3, cout, cout, false);
    batchNormParams(m, `${path}/bn2`, cout);
  };
  let cin = o.imageChannels;
  for (let l = 0; l < o.depth; l++) {
    doubleConvParams(`enc${l}`, cin, width(l));
    cin = width(l);
  }
  doubleConvParams("bottleneck", cin, width(o.depth));
  for (let l = o.depth - 1; l >= 0; l--) {
    const [from, to] = [width(l + 1), width(l)];
    if (o.upsampling === "transpose") {
      // Each output pixel sees exactly one tap from each input channel: fan-in = `from`.
      m.addParam(`dec${l}/up/kernel`, [2, 2, to, from], { kind: "he", fanIn: from });
      m.addParam(`dec${l}/up/bias`, [to], { kind: "constant", value: 0 });
    } else {
      convParams(m, `dec${l}/up`, 3, from, to, true);
    }
    doubleConvParams(`dec${l}`, 2 * to, to);
  }
  convParams(m, "head", 1, o.baseWidth, o.classes, true);

  const doubleConv = (path: string, h: tf.Tensor4D, ctx: ForwardContext) => {
    const a = tf.relu(batchNorm(m, `${path}/bn1`, conv(m, `${path}/conv1`, h), ctx));
    return tf.relu(batchNorm(m, `${path}/bn2`, conv(m, `${path}/conv2`, a), ctx));
  };

  function up(l: number, h: tf.Tensor4D): tf.Tensor4D {
    const [n, hh, ww] = h.shape;
    if (o.upsampling === "bilinear") {
      return conv(m, `dec${l}/up`, tf.image.resizeBilinear(h, [2 * hh, 2 * ww], false, true));
    }
    const y = tf.conv2dTranspose(
      h,
      m.p(`dec${l}/up/kernel`) as tf.Tensor4D,
      [n, 2 * hh, 2 * ww, width(l)],
      2,
      "same",
    );
    return tf.add(y, m.p(`dec${l}/up/bias`));
  }

  /** Decoder block of level l (from the deeper map `h` and the skip). */
  const decode = (l: number, h: tf.Tensor4D, skip: tf.Tensor4D, ctx: ForwardContext) =>
    doubleConv(`dec${l}`, tf.concat([up(l, h), skip], 3), ctx);

  function split(x: tf.Tensor4D, ctx: ForwardContext, level = o.depth) {
    if (!Number.isInteger(level) || level < 0 || level > o.depth) {
      throw new RangeError(`Expected a decoder level in [0, ${o.depth}] but found ${level}`);
    }
    const f = 2 ** o.depth;
    if (x.shape[3] !== o.imageChannels) {
      throw new RangeError(
        `Expected ${o.imageChannels} image channels but found input of shape [${x.shape}]`,
      );
    }
    if (x.shape[1] % f !== 0 || x.shape[2] % f !== 0) {
      throw new RangeError(
        `Expected input height and width divisible by 2^depth = ${f} but found shape [${x.shape}]`,
      );
    }
    const skips: tf.Tensor4D[] = [];
    let h = x;
    for (let l = 0; l < o.depth; l++) {
      h = doubleConv(`enc${l}`, h, ctx);
      skips.push(h);
      h = tf.maxPool(h, 2, 2, "valid");
    }
    h = doubleConv("bottleneck", h, ctx);
    // Decoder block k (k = 1 … depth) works at encoder level depth − k.
    for (let k = 1; k <= level; k++) h = decode(o.depth - k, h, skips[o.depth - k], ctx);
    const head = (features: tf.Tensor4D): tf.Tensor4D => {
      let g = features;
      for (let k = level + 1; k <= o.depth; k++) {
        g = decode(o.depth - k, g, skips[o.depth - k], ctx);
      }
      return conv(m, "head", g);
    };
    return { features: h, head };
  }

  function apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const { features, head } = split(x, ctx);
    return head(features);
  }
  return { module: m, options: o, apply, split };
}
