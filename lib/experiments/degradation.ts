/**
 * A config's degradation: its spec for `lib/data/degradations`, its label,
 * and the seeded degraded images of a run (training batches, the fixed test set).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type DegradationSpec, degrade } from "../data/degradations/mod.ts";
import { Rng } from "../util/rng.ts";
import type { ExperimentConfig } from "./config.ts";

/**
 * The degradation of a config as the `degrade` function of
 * `lib/data/degradations` takes it.
 *
 * @param d A config's `degradation`.
 * @returns The spec of its kind (the fields the kind uses).
 * @throws {RangeError} For a bicubic factor other than 2 or 4.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { degradationSpec } from "./degradation.ts";
 * const d = { kind: "bicubic", sigma: 0, photons: 0, blurSigma: 0, factor: 4 } as const;
 * assert.deepEqual(degradationSpec(d), { kind: "bicubic", factor: 4 });
 * ```
 */
export function degradationSpec(d: ExperimentConfig["degradation"]): DegradationSpec {
  switch (d.kind) {
    case "gaussian":
      return { kind: "gaussian", sigma: d.sigma };
    case "poisson":
      return { kind: "poisson", photons: d.photons };
    case "blur":
      return { kind: "blur", sigma: d.blurSigma };
    case "composite":
      return {
        kind: "composite",
        sigma: d.sigma,
        photons: d.photons > 0 ? d.photons : Infinity,
        blurSigma: d.blurSigma,
      };
    case "bicubic":
      if (d.factor !== 2 && d.factor !== 4) {
        throw new RangeError(
          `Expected degradation.factor 2 or 4 for bicubic but found ${d.factor}`,
        );
      }
      return { kind: "bicubic", factor: d.factor };
  }
  throw new TypeError(`Unknown degradation kind ${JSON.stringify((d as { kind: unknown }).kind)}`);
}

/**
 * A short label of a degradation: `σ=0.1`, `bicubic ×4`, `composite σ=0.05 …`.
 *
 * @param d A config's `degradation`.
 * @returns The label (progress lines, tables, errors).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeDegradation } from "./degradation.ts";
 * const d = { kind: "gaussian", sigma: 0.1, photons: 0, blurSigma: 0, factor: 1 } as const;
 * assert.equal(describeDegradation(d), "σ=0.1");
 * ```
 */
export function describeDegradation(d: ExperimentConfig["degradation"]): string {
  switch (d.kind) {
    case "gaussian":
      return `σ=${d.sigma}`;
    case "poisson":
      return `Poisson ${d.photons} photons`;
    case "blur":
      return `blur σ=${d.blurSigma}px`;
    case "composite":
      return `composite σ=${d.sigma}${d.photons > 0 ? ` ${d.photons} photons` : ""}${
        d.blurSigma > 0 ? ` blur ${d.blurSigma}px` : ""
      }`;
    case "bicubic":
      return `bicubic ×${d.factor}`;
  }
  return String(d.kind);
}

/**
 * Degrades clean images as a config says, with a seed (a training batch: the
 * run's noise stream gives one seed per step).
 *
 * @param config An experiment config (its `degradation`).
 * @param clean Clean images `[N, H, W, C]` in [0, 1] (not disposed).
 * @param seed Seed of the degradation's randomness.
 * @returns The degraded images (a new tensor; smaller for super-resolution).
 */
export function degradeImages(
  config: ExperimentConfig,
  clean: tf.Tensor4D,
  seed: number,
): tf.Tensor4D {
  return degrade(clean, degradationSpec(config.degradation), seed);
}

/**
 * Degrades clean test images exactly as the runner does for a config's
 * held-out metrics: the seed comes from `data.splitSeed` and the degradation,
 * never from the run's seed, so every method and training seed sees the same
 * degraded test set (for super-resolution: the low-resolution images).
 *
 * @param config An experiment config.
 * @param clean Clean test images `[N, H, W, C]` in [0, 1] (not disposed).
 * @returns The degraded images (a new tensor).
 */
export function degradeTestImages(config: ExperimentConfig, clean: tf.Tensor4D): tf.Tensor4D {
  return degradeImages(config, clean, testSeed(config));
}

/** The seed of the fixed degraded test set (the same for every method and training seed). */
function testSeed(config: ExperimentConfig): number {
  const d = config.degradation;
  // Gaussian keeps the stream of earlier versions; other kinds are keyed by their whole spec.
  const tag = d.kind === "gaussian"
    ? `test-noise:${d.sigma}`
    : `test-noise:${JSON.stringify(degradationSpec(d))}`;
  return new Rng(config.data.splitSeed).fork(tag).seed();
}
