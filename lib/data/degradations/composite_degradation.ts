/**
 * The paper's "composite" degradation: Gaussian noise + Poisson noise + Gaussian blur
 * (the paper reports GradProm gaining 0.384 dB on it; it gives neither the order nor
 * the parameters, so both are options here).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../util/rng.ts";
import { addGaussianNoise } from "../gaussian_noise.ts";
import { gaussianBlur } from "./gaussian_blur.ts";
import { addPoissonNoise } from "./poisson_noise.ts";

/** One step of {@linkcode compositeDegradation}. */
export type CompositeStep = "blur" | "poisson" | "gaussian";

/** Parameters of {@linkcode compositeDegradation}. */
export interface CompositeDegradationOptions {
  /** Standard deviation of the additive Gaussian noise, in [0, 1] (0: no Gaussian step). */
  sigma: number;
  /** Photon count of a pixel of value 1 for the Poisson step, > 0 (`Infinity`: none). */
  photons: number;
  /** Standard deviation in pixels of the Gaussian blur, ≥ 0 (0: no blur). */
  blurSigma: number;
  /** Blur kernel radius (default `ceil(3·blurSigma)`). */
  blurRadius?: number;
  /** Order of the steps (default `["blur", "poisson", "gaussian"]`); each at most once. */
  order?: readonly CompositeStep[];
}

/** The default order: optics blur, then photon (shot) noise, then read-out noise. */
export const COMPOSITE_DEFAULT_ORDER: readonly CompositeStep[] = ["blur", "poisson", "gaussian"];

/**
 * Applies Gaussian blur, Poisson noise and additive Gaussian noise to NHWC images in
 * [0, 1], in the order of image formation by default: `y = clip(P(B(x)) + n)` with
 * `B` = {@linkcode gaussianBlur}(blurSigma), `P` = {@linkcode addPoissonNoise}(photons)
 * and `n ~ N(0, sigma²)` ({@linkcode addGaussianNoise}); each step clips to [0, 1].
 * Every step has its own seed, `new Rng(seed).fork("<step>").seed()`, so a step's
 * noise does not depend on the order or on which other steps run.
 *
 * @param x Images `[n, h, w, c]` in [0, 1].
 * @param options Strengths of the three steps and their order.
 * @param seed Integer seed.
 * @returns The degraded images, float32 in [0, 1]; `x` is not disposed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../../backend/setup_backend.ts";
 * import { compositeDegradation } from "./composite_degradation.ts";
 * await setupBackend({ quiet: true });
 * const x = tf.fill([1, 16, 16, 3], 0.5) as tf.Tensor4D;
 * const y = compositeDegradation(x, { sigma: 0.05, photons: 200, blurSigma: 1 }, 3);
 * assert.deepEqual(y.shape, [1, 16, 16, 3]);
 * tf.dispose([x, y]);
 * ```
 */
export function compositeDegradation(
  x: tf.Tensor4D,
  options: CompositeDegradationOptions,
  seed: number,
): tf.Tensor4D {
  const { sigma, photons, blurSigma, blurRadius, order = COMPOSITE_DEFAULT_ORDER } = options;
  const known = ["sigma", "photons", "blurSigma", "blurRadius", "order"];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Unknown option "${key}" for compositeDegradation; expected one of ${known.join(", ")}`,
      );
    }
  }
  if (!(Number.isFinite(sigma) && sigma >= 0 && sigma <= 1)) {
    throw new RangeError(`Expected sigma in [0, 1] but found ${sigma}`);
  }
  if (!(photons > 0)) throw new RangeError(`Expected photons > 0 but found ${photons}`);
  if (!(Number.isFinite(blurSigma) && blurSigma >= 0)) {
    throw new RangeError(`Expected blurSigma >= 0 but found ${blurSigma}`);
  }
  if (
    !Array.isArray(order) || new Set(order).size !== order.length ||
    !order.every((s) => COMPOSITE_DEFAULT_ORDER.includes(s))
  ) {
    throw new TypeError(
      `Expected order to list distinct steps of blur, poisson, gaussian but found ${
        JSON.stringify(order)
      }`,
    );
  }
  if (!Number.isFinite(seed)) throw new TypeError(`Expected a finite seed but found ${seed}`);
  const rng = new Rng(seed);
  let y = tf.cast(x, "float32") as tf.Tensor4D;
  for (const step of order) {
    const s = rng.fork(step).seed();
    let next: tf.Tensor4D;
    if (step === "blur") next = gaussianBlur(y, blurSigma, { radius: blurRadius });
    else if (step === "poisson") next = addPoissonNoise(y, photons, s) as tf.Tensor4D;
    else next = addGaussianNoise(y, sigma, s) as tf.Tensor4D;
    y.dispose();
    y = next;
  }
  return y;
}
