/**
 * SR-ResNet (Ledig et al. 2017), the paper's image-processing (IP) network.
 *
 * ```
 * head:  conv k×k (in → C), PReLU
 * body:  B × [conv3×3, BN, PReLU, conv3×3, BN] + skip
 *        conv3×3, BN, + head skip
 * up:    log2(scale) × [conv3×3 (C → 4C), pixel shuffle ×2, PReLU]
 * tail:  conv k×k (C → out), then (tanh + 1) / 2
 * ```
 *
 * The output is in [0, 1] through `(tanh(z) + 1) / 2`, as in ESTR's SRResNet.
 * With `globalResidual` it is instead `up(x) + tanh(z) / 2`, where `up` is
 * bilinear upsampling (identity when `scale` is 1): the network learns a
 * bounded correction of its input. That output is not clipped (so gradients
 * flow); metrics clip to [0, 1]. It is off by default (the paper's network has
 * none) and exists because CPU-sized runs converge much faster on the residual.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { pixelShuffle } from "../backend/pixel_shuffle.ts";
import {
  batchNorm,
  batchNormParams,
  conv,
  convParams,
  type ForwardContext,
  Module,
} from "./module.ts";

/** Options of {@link srResNet}. */
export interface SrResNetOptions {
  /** Feature width C. Paper/ESTR: 64. */
  channels: number;
  /** Residual blocks B. ESTR's SRResNet: 5; Ledig et al.: 16. */
  blocks: number;
  /** Upsampling factor: 1 (denoising, same size out), 2 or 4. */
  scale: 1 | 2 | 4;
  /** Image channels in and out (3 for RGB). */
  imageChannels: number;
  /** Kernel size of the head and tail convolutions (Ledig et al.: 9). */
  outerKernel: number;
  /** Batch norm in the residual blocks (Ledig et al.: yes). */
  batchNorm: boolean;
  /** Add the (upsampled) input to the output, learning the residual. Default false. */
  globalResidual: boolean;
}

/** Defaults: ESTR's SRResNet (64 channels, 5 blocks, 9×9 outer kernels, BN). */
export const SR_RESNET_DEFAULTS: SrResNetOptions = {
  channels: 64,
  blocks: 5,
  scale: 1,
  imageChannels: 3,
  outerKernel: 9,
  batchNorm: true,
  globalResidual: false,
};

/** An SR-ResNet: its variables and its forward pass. */
export interface SrResNet {
  module: Module;
  options: SrResNetOptions;
  /** Enhanced image NHWC in [0, 1], `scale` times the input size. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D;
}

/**
 * Builds an SR-ResNet.
 *
 * @param options Overrides of {@link SR_RESNET_DEFAULTS}.
 * @param seed Initialisation seed.
 * @returns The model.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { srResNet } from "./sr_resnet.ts";
 * await tf.setBackend("cpu");
 * const net = srResNet({ channels: 8, blocks: 1 }, 0);
 * const y = net.apply(tf.zeros([1, 16, 16, 3]), { training: false });
 * if (y.shape[1] !== 16) throw new Error("shape");
 * net.module.dispose();
 * ```
 */
export function srResNet(options: Partial<SrResNetOptions> = {}, seed = 0): SrResNet {
  const o: SrResNetOptions = { ...SR_RESNET_DEFAULTS, ...options };
  if (![1, 2, 4].includes(o.scale)) {
    throw new RangeError(`Expected scale 1, 2 or 4 but found ${o.scale}`);
  }
  if (!(o.channels >= 1 && o.blocks >= 0)) {
    throw new RangeError(
      `Expected channels ≥ 1 and blocks ≥ 0 but found ${o.channels}, ${o.blocks}`,
    );
  }
  const m = new Module("srresnet", seed);
  const C = o.channels;
  const prelu = (path: string) =>
    m.addParam(`${path}/alpha`, [C], { kind: "constant", value: 0.25 });
  convParams(m, "head", o.outerKernel, o.imageChannels, C);
  prelu("head_act");
  for (let b = 0; b < o.blocks; b++) {
    convParams(m, `block${b}/conv1`, 3, C, C, !o.batchNorm);
    if (o.batchNorm) batchNormParams(m, `block${b}/bn1`, C);
    prelu(`block${b}/act`);
    convParams(m, `block${b}/conv2`, 3, C, C, !o.batchNorm);
    if (o.batchNorm) batchNormParams(m, `block${b}/bn2`, C);
  }
  convParams(m, "body_out", 3, C, C, !o.batchNorm);
  if (o.batchNorm) batchNormParams(m, "body_bn", C);
  const ups = Math.log2(o.scale);
  for (let u = 0; u < ups; u++) {
    convParams(m, `up${u}/conv`, 3, C, 4 * C);
    prelu(`up${u}/act`);
  }
  convParams(m, "tail", o.outerKernel, C, o.imageChannels);

  const act = (path: string, x: tf.Tensor4D) =>
    tf.prelu(x, m.p(`${path}/alpha`) as tf.Tensor) as tf.Tensor4D;
  const bn = (path: string, x: tf.Tensor4D, ctx: ForwardContext) =>
    o.batchNorm ? batchNorm(m, path, x, ctx) : x;

  function apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    if (x.shape[3] !== o.imageChannels) {
      throw new RangeError(
        `Expected ${o.imageChannels} image channels but found input of shape [${x.shape}]`,
      );
    }
    const head = act("head_act", conv(m, "head", x));
    let h = head;
    for (let b = 0; b < o.blocks; b++) {
      let r = act(`block${b}/act`, bn(`block${b}/bn1`, conv(m, `block${b}/conv1`, h), ctx));
      r = bn(`block${b}/bn2`, conv(m, `block${b}/conv2`, r), ctx);
      h = tf.add(h, r);
    }
    h = tf.add(head, bn("body_bn", conv(m, "body_out", h), ctx));
    for (let u = 0; u < ups; u++) {
      h = act(`up${u}/act`, pixelShuffle(conv(m, `up${u}/conv`, h), 2));
    }
    const z = conv(m, "tail", h);
    if (!o.globalResidual) return tf.div(tf.add(tf.tanh(z), 1), 2);
    const base = o.scale === 1
      ? x
      : tf.image.resizeBilinear(x, [x.shape[1] * o.scale, x.shape[2] * o.scale]);
    return tf.add(base, tf.div(tf.tanh(z), 2));
  }
  return { module: m, options: o, apply };
}
