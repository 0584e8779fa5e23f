/**
 * Registers the gradients of TF.js kernels, which `@tensorflow/tfjs-core` alone does not do.
 *
 * Without this, every `tf.grads`/`tf.variableGrads` fails with "gradient function not found
 * for Sum" (on any backend). The tfjs-core gradients come from a vendored bundle (see
 * `_build_tfjs_gradients.ts` for why and how it is built); importing this module loads it.
 * On top of them, kernels whose outputs are boolean (comparisons, logical ops) get a zero
 * gradient, as in TensorFlow, where they are "not differentiable": TF.js instead throws
 * "gradient function not found for Greater" as soon as `tf.where(tf.greater(a, b), …)` lies
 * between the loss and a variable.
 *
 * `FusedConv2D` (convolution plus bias, no activation) gets a gradient of its own kernel, so that
 * `lib/models/module.ts`'s `conv` can run the kernel directly: `tf.fused.conv2d` wraps it in a
 * custom gradient that computes the gradient of every input at once, including the input image's
 * (a convolution of the full output back to the input) that no step needs. A kernel gradient is
 * one function per input, and the tape calls only those on a path from a variable.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { bundledTfjsCoreVersion } from "./_vendor/tfjs_core_gradients.js";

/** Kernels with boolean outputs, and the names of their inputs. */
const _NON_DIFFERENTIABLE: Readonly<Record<string, readonly string[]>> = {
  Equal: ["a", "b"],
  NotEqual: ["a", "b"],
  Greater: ["a", "b"],
  GreaterEqual: ["a", "b"],
  Less: ["a", "b"],
  LessEqual: ["a", "b"],
  LogicalAnd: ["a", "b"],
  LogicalOr: ["a", "b"],
  LogicalXor: ["a", "b"],
  LogicalNot: ["x"],
  IsNan: ["x"],
  IsInf: ["x"],
  IsFinite: ["x"],
  All: ["x"],
  Any: ["x"],
};

/**
 * The gradient of `FusedConv2D` without an activation: the same `Conv2DBackpropInput`,
 * `Conv2DBackpropFilter` and bias sum over N, H, W that `tf.fused.conv2d`'s custom gradient runs,
 * one function per input. Registered only for activation "linear" (others throw when
 * differentiated: `tf.fused.conv2d` handles those with its own gradient).
 */
const _FUSED_CONV2D_GRADIENT: tf.GradConfig = {
  kernelName: "FusedConv2D",
  inputsToSave: ["x", "filter"],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as {
      strides: number | [number, number];
      pad: "same" | "valid" | number;
      dataFormat: "NHWC" | "NCHW";
      dilations: number | [number, number];
      dimRoundingMode?: "floor" | "round" | "ceil";
      activation?: string;
    };
    if ((a.activation ?? "linear") !== "linear") {
      throw new Error(
        `Expected FusedConv2D with activation "linear" to differentiate through its kernel ` +
          `gradient but found "${a.activation}"; use tf.fused.conv2d, which has its own`,
      );
    }
    const d = typeof a.dilations === "number" ? [a.dilations, a.dilations] : a.dilations ?? [1, 1];
    if (a.dataFormat !== "NHWC" || d[0] !== 1 || d[1] !== 1) {
      throw new Error(
        `Expected FusedConv2D in NHWC without dilation to differentiate but found ` +
          `${a.dataFormat}, dilations ${d}`,
      );
    }
    const g = dy as tf.Tensor4D;
    const common = {
      strides: a.strides,
      pad: a.pad,
      dataFormat: a.dataFormat,
      dimRoundingMode: a.dimRoundingMode,
    };
    return {
      x: () =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy: g, filter }, {
          ...common,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: g }, {
          ...common,
          filterShape: filter.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      bias: () => tf.sum(g, [0, 1, 2]),
    };
  },
};

let _done = false;

/**
 * Makes sure all tfjs-core gradients are registered, plus zero gradients for the kernels
 * with boolean outputs that have none (see the module doc). Idempotent; importing this
 * module already does it, the call makes the dependency explicit.
 *
 * @returns The kernel names that were given a zero gradient by this call (empty after the
 *   first call, or if they already had gradients).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { registerGradients } from "./register_gradients.ts";
 * registerGradients();
 * await tf.setBackend("cpu");
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]));
 * if (g.dataSync()[1] !== 4) throw new Error("unexpected gradient");
 * ```
 */
export function registerGradients(): string[] {
  if (_done) return [];
  if (tf.version_core !== bundledTfjsCoreVersion) {
    throw new Error(
      `Expected @tensorflow/tfjs-core ${bundledTfjsCoreVersion} (the version the vendored ` +
        `gradients were built from) but found ${tf.version_core}; ` +
        "rebuild them with lib/backend/_build_tfjs_gradients.ts",
    );
  }
  if (tf.getGradient("Sum") === undefined) {
    throw new Error("Expected the vendored tfjs-core gradients to be registered but found none");
  }
  const added: string[] = [];
  for (const [kernelName, inputs] of Object.entries(_NON_DIFFERENTIABLE)) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: [...inputs],
      gradFunc: (_dy, saved) =>
        Object.fromEntries(
          inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, "float32")]),
        ),
    });
    added.push(kernelName);
  }
  if (tf.getGradient(_FUSED_CONV2D_GRADIENT.kernelName) === undefined) {
    tf.registerGradient(_FUSED_CONV2D_GRADIENT);
    added.push(_FUSED_CONV2D_GRADIENT.kernelName);
  }
  _done = true;
  return added;
}

registerGradients();
