/**
 * Image degradations for the enhancement tasks of the paper, on NHWC float32 images
 * in [0, 1], all seeded and clipped to [0, 1]: additive Gaussian noise (denoising),
 * Poisson noise, Gaussian blur and their composite (the "composite" degradation), and
 * MATLAB-style bicubic downsampling (super-resolution). {@linkcode degrade} applies one
 * described by a plain, JSON-serialisable {@linkcode DegradationSpec}.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import { addGaussianNoise } from "../gaussian_noise.ts";
import { downsampleBicubic } from "./bicubic_downsample.ts";
import { compositeDegradation, type CompositeDegradationOptions } from "./composite_degradation.ts";
import { gaussianBlur } from "./gaussian_blur.ts";
import { addPoissonNoise } from "./poisson_noise.ts";

export { addGaussianNoise } from "../gaussian_noise.ts";
export { addPoissonNoise, POISSON_NORMAL_THRESHOLD } from "./poisson_noise.ts";
export { gaussianBlur, type GaussianBlurOptions } from "./gaussian_blur.ts";
export {
  COMPOSITE_DEFAULT_ORDER,
  compositeDegradation,
  type CompositeDegradationOptions,
  type CompositeStep,
} from "./composite_degradation.ts";
export { downsampleBicubic } from "./bicubic_downsample.ts";

/** A degradation, as a tagged union (JSON-serialisable, e.g. in an experiment config). */
export type DegradationSpec =
  | { kind: "gaussian"; sigma: number }
  | { kind: "poisson"; photons: number }
  | { kind: "blur"; sigma: number; radius?: number }
  | ({ kind: "composite" } & CompositeDegradationOptions)
  | { kind: "bicubic"; factor: 2 | 4 };

/** The `kind`s of {@linkcode DegradationSpec}. */
export const DEGRADATION_KINDS = ["gaussian", "poisson", "blur", "composite", "bicubic"] as const;

const _KEYS: Record<string, string[]> = {
  gaussian: ["sigma"],
  poisson: ["photons"],
  blur: ["sigma", "radius"],
  composite: ["sigma", "photons", "blurSigma", "blurRadius", "order"],
  bicubic: ["factor"],
};

/**
 * Applies the degradation `spec` to NHWC images `x` in [0, 1]. Unknown kinds,
 * unknown or missing fields and out-of-range values are errors that name what was
 * found. `bicubic` changes the spatial size and ignores `seed`.
 *
 * @param x Images `[n, h, w, c]` in [0, 1].
 * @param spec Which degradation, with its parameters.
 * @param seed Integer seed of the noise.
 * @returns The degraded images, float32 in [0, 1]; `x` is not disposed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../../backend/setup_backend.ts";
 * import { degrade } from "./mod.ts";
 * await setupBackend({ quiet: true });
 * const x = tf.fill([1, 8, 8, 3], 0.5) as tf.Tensor4D;
 * const noisy = degrade(x, { kind: "gaussian", sigma: 0.1 }, 1);
 * const small = degrade(x, { kind: "bicubic", factor: 2 }, 1);
 * assert.deepEqual(noisy.shape, [1, 8, 8, 3]);
 * assert.deepEqual(small.shape, [1, 4, 4, 3]);
 * tf.dispose([x, noisy, small]);
 * ```
 */
export function degrade(x: tf.Tensor4D, spec: DegradationSpec, seed: number): tf.Tensor4D {
  if (spec === null || typeof spec !== "object") {
    throw new TypeError(`Expected a degradation spec object but found ${JSON.stringify(spec)}`);
  }
  const kind = (spec as { kind?: unknown }).kind;
  const keys = _KEYS[kind as string];
  if (typeof kind !== "string" || !keys) {
    throw new TypeError(
      `Expected degradation kind ${DEGRADATION_KINDS.join(", ")} but found ${JSON.stringify(kind)}`,
    );
  }
  for (const key of Object.keys(spec)) {
    if (key !== "kind" && !keys.includes(key)) {
      throw new TypeError(
        `Unknown field "${key}" for degradation "${kind}"; expected ${keys.join(", ")}`,
      );
    }
  }
  const required = keys.filter((k) => !["radius", "blurRadius", "order"].includes(k));
  for (const key of required) {
    if ((spec as unknown as Record<string, unknown>)[key] === undefined) {
      throw new TypeError(`Missing field "${key}" for degradation "${kind}"`);
    }
  }
  switch (spec.kind) {
    case "gaussian":
      return addGaussianNoise(x, spec.sigma, seed) as tf.Tensor4D;
    case "poisson":
      return addPoissonNoise(x, spec.photons, seed) as tf.Tensor4D;
    case "blur":
      return gaussianBlur(x, spec.sigma, { radius: spec.radius });
    case "composite": {
      const { kind: _kind, ...options } = spec;
      return compositeDegradation(x, options, seed);
    }
    case "bicubic":
      return downsampleBicubic(x, spec.factor);
  }
}
