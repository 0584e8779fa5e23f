/**
 * The run arguments shared by `experiment.ts`, `reproduce.ts` and `figures.ts`:
 * `--profile`, `--seeds` and `--data` (the parseArgs options and their checks).
 *
 * Internal to `tools/`.
 *
 * @module
 */
import { type Profile, PROFILES } from "../lib/experiments/registry.ts";

/**
 * The parseArgs options `--profile`, `--seeds` and `--data`, with the defaults
 * read now from `GRADPROM_PROFILE` (else `quick`) and `GRADPROM_SEEDS` (else 1).
 *
 * @returns Options to spread into a tool's parseArgs options.
 */
export function runOptions() {
  return {
    profile: { type: "string", default: Deno.env.get("GRADPROM_PROFILE") ?? "quick" },
    seeds: { type: "string", default: Deno.env.get("GRADPROM_SEEDS") ?? "1" },
    data: { type: "string" },
  } as const;
}

/** The checked run arguments of a tool. */
export interface RunArgs {
  profile: Profile;
  seeds: number;
  /** `--data`, else `GRADPROM_DATA`, else null (the embedded synthetic data). */
  dataRoot: string | null;
}

/**
 * Checks a tool's `--profile`, `--seeds` and `--data` values.
 *
 * @param values The parsed values.
 * @param options `paperNeedsData`: the paper profile needs a data folder;
 *   `seedsExpected`: what the seeds error says is expected (default `≥ 1`).
 * @returns The profile, the number of seeds and the data folder.
 * @throws {RangeError} For an unknown profile or a seed count that is not an integer ≥ 1.
 * @throws {TypeError} For the paper profile without a data folder, with `paperNeedsData`.
 *
 * @example
 * ```ts
 * import { runArgs } from "./_cli.ts";
 * const { profile, seeds } = runArgs({ profile: "quick", seeds: "3", data: "/data/isic" });
 * console.log(profile, seeds); // quick 3
 * ```
 */
export function runArgs(
  values: { profile?: string; seeds?: string; data?: string },
  options: { paperNeedsData?: boolean; seedsExpected?: string } = {},
): RunArgs {
  const profile = values.profile as Profile;
  if (!PROFILES.includes(profile)) {
    throw new RangeError(`Expected --profile ${PROFILES.join("|")} but found ${profile}`);
  }
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) {
    throw new RangeError(
      `Expected --seeds ${options.seedsExpected ?? "≥ 1"} but found ${values.seeds}`,
    );
  }
  const dataRoot = values.data ?? Deno.env.get("GRADPROM_DATA") ?? null;
  if (options.paperNeedsData && profile === "paper" && !dataRoot) {
    throw new TypeError(
      "--profile paper needs the real ISIC 2018 folder: --data DIR (or GRADPROM_DATA)",
    );
  }
  return { profile, seeds, dataRoot };
}
