/**
 * The run arguments shared by `experiment.ts`, `reproduce.ts` and `figures.ts`:
 * `--profile`, `--seeds` and `--data` (the parseArgs options and their checks).
 *
 * Internal to `tools/`.
 *
 * @module
 */
import { resolve } from "node:path";
import { DEFAULT_SEEDS, type Profile, PROFILES } from "../lib/experiments/registry.ts";

/**
 * The folder the user ran the tool from: `deno task` runs a task in the folder of `deno.json`
 * and leaves the shell's working directory in `INIT_CWD`, so that, else `Deno.cwd()`.
 * Relative paths given on the command line (`--data`, `--config`) are relative to it.
 *
 * @returns An absolute folder.
 */
export function invocationDir(): string {
  return Deno.env.get("INIT_CWD") || Deno.cwd();
}

/**
 * A folder or file named on the command line, absolute: relative to {@link invocationDir}.
 *
 * @param flag The flag it came from, for the error (e.g. `--data`).
 * @param path The path as given.
 * @returns The absolute path.
 * @throws {TypeError} For an empty path.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cliPath } from "./_cli.ts";
 * assert.equal(cliPath("--data", "/data/isic"), "/data/isic");
 * assert.throws(() => cliPath("--data", ""), { message: 'Expected --data to be a path but found ""' });
 * ```
 */
export function cliPath(flag: string, path: string): string {
  if (path === "") throw new TypeError(`Expected ${flag} to be a path but found ""`);
  return resolve(invocationDir(), path);
}

/**
 * The parseArgs options `--profile`, `--seeds` and `--data`, with the defaults
 * read now from `GRADPROM_PROFILE` (else `quick`) and `GRADPROM_SEEDS` (else the profile's:
 * `DEFAULT_SEEDS`, 3 for quick and paper, 1 for smoke; see {@link runArgs}).
 *
 * @returns Options to spread into a tool's parseArgs options.
 */
export function runOptions() {
  return {
    profile: { type: "string", default: Deno.env.get("GRADPROM_PROFILE") ?? "quick" },
    seeds: { type: "string", default: Deno.env.get("GRADPROM_SEEDS") || undefined },
    data: { type: "string" },
  } as const;
}

/** The checked run arguments of a tool. */
export interface RunArgs {
  profile: Profile;
  seeds: number;
  /**
   * `--data`, else `GRADPROM_DATA`, else null (the embedded synthetic data); absolute, a
   * relative path resolved against the folder the tool was run from ({@link invocationDir}).
   */
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
 * @throws {TypeError} For the paper profile without a data folder, with `paperNeedsData`;
 *   for an empty `--data` or `GRADPROM_DATA`.
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
  const seeds = values.seeds === undefined ? DEFAULT_SEEDS[profile] : Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) {
    throw new RangeError(
      `Expected --seeds ${options.seedsExpected ?? "≥ 1"} but found ${values.seeds}`,
    );
  }
  const given = values.data ?? Deno.env.get("GRADPROM_DATA");
  const dataRoot = given === undefined
    ? null
    : cliPath(values.data !== undefined ? "--data" : "GRADPROM_DATA", given);
  if (options.paperNeedsData && profile === "paper" && !dataRoot) {
    throw new TypeError(
      "--profile paper needs the real ISIC 2018 folder: --data DIR (or GRADPROM_DATA)",
    );
  }
  return { profile, seeds, dataRoot };
}
