/**
 * How a strategy is packaged for configs and registries: a factory that
 * builds a fresh {@link Strategy} from checked options, with its name, a
 * one-line description and the option keys it takes. A strategy defined in
 * its own file with {@link defineStrategy} can be named by a method of
 * `METHOD_SPECS` (`lib/experiments/methods.ts`) directly, without an entry in
 * `STRATEGIES`.
 *
 * @module
 */
import type { Strategy } from "./types.ts";

/**
 * Builds a fresh {@link Strategy} from options (a fresh one matters for
 * stateful strategies such as GradVac), with a one-line description.
 * Unknown option keys are an error.
 */
export interface StrategyFactory<
  O extends object = Record<string, unknown>,
  S extends Strategy = Strategy,
> {
  (options?: O): S;
  /** The strategy's name, as errors and registries spell it. */
  readonly id: string;
  /** What the strategy does, in one line. */
  readonly description: string;
  /** The option keys it accepts. */
  readonly optionKeys: readonly string[];
}

/**
 * Packages a strategy as a {@link StrategyFactory}: options are checked to
 * be an object with known keys before `make` sees them.
 *
 * @param id The strategy's name (used in error messages and registries).
 * @param description What it does, in one line.
 * @param optionKeys The option keys `make` accepts.
 * @param make Builds a fresh strategy from the options.
 * @returns The factory.
 * @throws {TypeError} From the factory, for options that are not an object or have unknown keys.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineStrategy } from "./factory.ts";
 * import { joint } from "./joint.ts";
 * const scaled = defineStrategy<{ scale?: number }>(
 *   "doc-scaled",
 *   "main + aux, the same as joint (the scale is only checked).",
 *   ["scale"],
 *   () => joint,
 * );
 * assert.equal(scaled.id, "doc-scaled");
 * assert.equal(typeof scaled({ scale: 2 }), "function");
 * assert.throws(() => scaled({ size: 2 } as never), /among \[scale\].*"size"/);
 * ```
 */
export function defineStrategy<O extends object, S extends Strategy = Strategy>(
  id: string,
  description: string,
  optionKeys: readonly (keyof O & string)[],
  make: (options: O) => S,
): StrategyFactory<O, S> {
  const factory = (options: O = {} as O): S => {
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError(
        `Expected options of strategy "${id}" to be an object but found ${options}`,
      );
    }
    const unknown = Object.keys(options).filter((k) =>
      !(optionKeys as readonly string[]).includes(k)
    );
    if (unknown.length) {
      throw new TypeError(
        `Expected options of strategy "${id}" among [${optionKeys.join(", ")}] ` +
          `but found unknown ${unknown.map((k) => `"${k}"`).join(", ")}`,
      );
    }
    return make(options);
  };
  return Object.assign(factory, { id, description, optionKeys });
}
