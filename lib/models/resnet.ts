/**
 * A ResNet classifier (He et al. 2016), the paper's diagnosis (VR) network.
 *
 * ```
 * stem:   conv3×3 (in → w0, stride `stemStride`), BN, ReLU
 * stage i: blocks[i] × basic block [conv3×3, BN, ReLU, conv3×3, BN] + shortcut, ReLU
 *          (the first block of every stage but the first has stride 2; the
 *           shortcut is conv1×1 + BN when the shape changes)
 * head:   global average pool, dense → classes (logits)
 * ```
 *
 * Widths and depths are configurable so CPU-sized runs can use a narrow,
 * shallow version; ResNet-18 is `blocks: [2, 2, 2, 2], widths: [64, 128, 256, 512]`
 * (with a 7×7/2 stem and max pool in the ImageNet version, which small inputs
 * do without).
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
  /** Basic blocks per stage. */
  blocks: number[];
  /** Channel width per stage (same length as `blocks`). */
  widths: number[];
  /** Number of classes. */
  classes: number;
  /** Input image channels. */
  imageChannels: number;
  /** Stride of the stem convolution (1 for small inputs, 2 for large). */
  stemStride: 1 | 2;
}

/** Defaults: a narrow 3-stage ResNet for CPU-sized runs (ResNet-8-like). */
export const RESNET_DEFAULTS: ResNetOptions = {
  blocks: [1, 1, 1],
  widths: [16, 32, 64],
  classes: 7,
  imageChannels: 3,
  stemStride: 1,
};

/** A ResNet classifier: its variables and its forward pass. */
export interface ResNet {
  module: Module;
  options: ResNetOptions;
  /** Class logits `[N, classes]`. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
}

/**
 * Builds a ResNet classifier.
 *
 * @param options Overrides of {@link RESNET_DEFAULTS}.
 * @param seed Initialisation seed.
 * @returns The model.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { resNet } from "./resnet.ts";
 * await tf.setBackend("cpu");
 * const net = resNet({ classes: 2 }, 0);
 * const logits = net.apply(tf.zeros([4, 16, 16, 3]), { training: false });
 * if (logits.shape[1] !== 2) throw new Error("shape");
 * net.module.dispose();
 * ```
 */
export function resNet(options: Partial<ResNetOptions> = {}, seed = 0): ResNet {
  const o: ResNetOptions = { ...RESNET_DEFAULTS, ...options };
  if (o.blocks.length === 0 || o.blocks.length !== o.widths.length) {
    throw new RangeError(
      `Expected blocks and widths of the same non-zero length but found [${o.blocks}] and [${o.widths}]`,
    );
  }
  const m = new Module("resnet", seed);
  convParams(m, "stem/conv", 3, o.imageChannels, o.widths[0], false);
  batchNormParams(m, "stem/bn", o.widths[0]);
  let cin = o.widths[0];
  const plan: { path: string; stride: number; project: boolean }[] = [];
  o.blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const path = `stage${s}/block${b}`;
      const stride = b === 0 && s > 0 ? 2 : 1;
      const cout = o.widths[s];
      convParams(m, `${path}/conv1`, 3, cin, cout, false);
      batchNormParams(m, `${path}/bn1`, cout);
      convParams(m, `${path}/conv2`, 3, cout, cout, false);
      batchNormParams(m, `${path}/bn2`, cout);
      const project = stride !== 1 || cin !== cout;
      if (project) {
        convParams(m, `${path}/proj`, 1, cin, cout, false);
        batchNormParams(m, `${path}/proj_bn`, cout);
      }
      plan.push({ path, stride, project });
      cin = cout;
    }
  });
  m.addParam("fc/kernel", [cin, o.classes], { kind: "lecun", fanIn: cin });
  m.addParam("fc/bias", [o.classes], { kind: "constant", value: 0 });

  function apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    if (x.shape[3] !== o.imageChannels) {
      throw new RangeError(
        `Expected ${o.imageChannels} image channels but found input of shape [${x.shape}]`,
      );
    }
    let h = tf.relu(batchNorm(m, "stem/bn", conv(m, "stem/conv", x, o.stemStride), ctx));
    for (const { path, stride, project } of plan) {
      let r = tf.relu(batchNorm(m, `${path}/bn1`, conv(m, `${path}/conv1`, h, stride), ctx));
      r = batchNorm(m, `${path}/bn2`, conv(m, `${path}/conv2`, r), ctx);
      const s = project
        ? batchNorm(m, `${path}/proj_bn`, conv(m, `${path}/proj`, h, stride), ctx)
        : h;
      h = tf.relu(tf.add(r, s));
    }
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    return tf.add(
      tf.matMul(pooled, m.p("fc/kernel") as tf.Tensor2D),
      m.p("fc/bias"),
    ) as tf.Tensor2D;
  }
  return { module: m, options: o, apply };
}
