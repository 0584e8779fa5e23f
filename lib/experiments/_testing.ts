/**
 * Test helpers of the experiment engine's tests (internal; not part of the library surface).
 *
 * @module
 */
import {
  type ConfigOverrides,
  DEFAULT_CONFIG,
  type ExperimentConfig,
  mergeConfig,
} from "./config.ts";
import type { RunResult } from "./run_experiment.ts";

/**
 * A finished run of `overrides` with PSNR `psnr` (SSIM `psnr / 40`, accuracy 0.5) and a short
 * training log of cosines and gate weights (default: one open step, one shut).
 */
export function _fakeRun(
  overrides: ConfigOverrides<ExperimentConfig>,
  psnr: number,
  log: { cosine: number[]; auxWeight: number[] } = { cosine: [1, -1], auxWeight: [1, 0] },
): RunResult {
  return {
    key: JSON.stringify(overrides),
    config: mergeConfig(DEFAULT_CONFIG, overrides),
    metrics: { psnr, ssim: psnr / 40, psnrInput: 20, ssimInput: 0.4, accuracy: 0.5 },
    log: { lossIp: [], lossVr: [], ...log },
    vrPretrain: { key: "p", accuracyClean: 0.9, accuracyDegraded: 0.5, seconds: 1 },
    seconds: 1,
    backend: "cpu",
    version: "test",
    createdAt: "",
  };
}
