/**
 * One descriptor per training method: how tables and figures name and colour
 * it, how its recognition network takes part (`vrMode`), and which strategy of
 * `lib/strategies/registry.ts` combines the two gradients, with which options.
 * The method ids of configs (`METHODS` in `config.ts`), the runner, the tables
 * and the figures all read this table, so a method added here is a method
 * everywhere, and one missing a field is a type error.
 *
 * @module
 */
import {
  getStrategy,
  STRATEGIES,
  type StrategyFactory,
  type StrategyName,
  type StrategyRegistry,
} from "../strategies/registry.ts";
import type { Strategy } from "../strategies/types.ts";
import type { VrMode } from "../train/train_step.ts";
import type { ExperimentConfig } from "./config.ts";

/** The options a registered strategy accepts. */
export type StrategyOptionsOf<N extends StrategyName> = StrategyRegistry[N] extends
  StrategyFactory<infer O, infer _S> ? O : never;

/** Keys of `config.train` passed on to the strategy as the option of the same name. */
export type TrainOptionKey = "granularity";

/**
 * A method's strategy: a name of the registry, options fixed by the method,
 * and the `config.train` keys it takes as options (GradProm's `granularity`).
 * A config's `train.strategyOptions` are merged over `options`.
 */
export type StrategyRef = {
  [N in StrategyName]: {
    name: N;
    options?: StrategyOptionsOf<N>;
    fromTrain?: readonly (TrainOptionKey & keyof StrategyOptionsOf<N>)[];
  };
}[StrategyName];

/** How a table or figure shows a row: its label and colour. */
export interface RowStyle {
  /** The row's label in tables and figure legends. */
  label: string;
  /** Its colour in figures (CSS hex). */
  colour: string;
}

/** What a training method is. */
export interface MethodSpec extends RowStyle {
  /** A short label for image-grid columns (qualitative figures). */
  shortLabel: string;
  /** `none` (no VR), `trained` (VR trained with ∇φ L_VR) or `frozen` (the pre-trained VR, fixed). */
  vrMode: VrMode;
  /** The strategy combining ∇θ L_IP and ∇θ λ·L_VR. */
  strategy: StrategyRef;
  /** GradProm's gate: the progress shows how often it opened, dynamics figures its weight. */
  gate: boolean;
}

/**
 * Every training method by id, in the tables' default row order. A config's
 * `method` is one of these keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_SPECS } from "./methods.ts";
 * assert.equal(METHOD_SPECS.frozen.vrMode, "frozen");
 * assert.equal(METHOD_SPECS.gradsim.strategy.name, "gradsim-unweighted");
 * ```
 */
export const METHOD_SPECS = {
  "benchmark-i": {
    label: "Benchmark-i (IP only)",
    shortLabel: "Benchmark-i",
    colour: "#7f7f7f",
    vrMode: "none",
    strategy: { name: "ip-only" },
    gate: false,
  },
  "joint": {
    label: "Joint training",
    shortLabel: "Joint",
    colour: "#1f77b4",
    vrMode: "trained",
    strategy: { name: "joint" },
    gate: false,
  },
  "frozen": {
    label: "Frozen-params (ESTR)",
    shortLabel: "Frozen-params",
    colour: "#ff7f0e",
    vrMode: "frozen",
    strategy: { name: "joint" },
    gate: false,
  },
  "gradprom": {
    label: "GradProm (gate)",
    shortLabel: "GradProm",
    colour: "#2ca02c",
    vrMode: "trained",
    strategy: { name: "gradprom", fromTrain: ["granularity"] },
    gate: true,
  },
  "gradprom-weighted": {
    label: "GradProm (weighted, Lemma 3.1)",
    shortLabel: "GradProm (weighted)",
    colour: "#98df8a",
    vrMode: "trained",
    strategy: { name: "gradprom-weighted", fromTrain: ["granularity"] },
    gate: true,
  },
  // Gradient-surgery baselines on the same footing (VR trained, as in Joint/GradProm).
  "pcgrad": {
    label: "PCGrad (asymmetric)",
    shortLabel: "PCGrad",
    colour: "#d62728",
    vrMode: "trained",
    strategy: { name: "pcgrad" },
    gate: false,
  },
  "gradvac": {
    label: "GradVac",
    shortLabel: "GradVac",
    colour: "#8c564b",
    vrMode: "trained",
    strategy: { name: "gradvac" },
    gate: false,
  },
  "cagrad": {
    label: "CAGrad",
    shortLabel: "CAGrad",
    colour: "#e377c2",
    vrMode: "trained",
    strategy: { name: "cagrad" },
    gate: false,
  },
  "mgda": {
    label: "MGDA (two-task closed form)",
    shortLabel: "MGDA",
    colour: "#17becf",
    vrMode: "trained",
    strategy: { name: "mgda" },
    gate: false,
  },
  "gradsim": {
    label: "Gradient similarity (Du et al. 2018)",
    shortLabel: "Gradient similarity",
    colour: "#bcbd22",
    vrMode: "trained",
    strategy: { name: "gradsim-unweighted" },
    gate: false,
  },
} as const satisfies Record<string, MethodSpec>;

/** A training method's id (a key of {@link METHOD_SPECS}). */
export type MethodId = keyof typeof METHOD_SPECS;

/** The method ids, in {@link METHOD_SPECS}' order. */
export const METHOD_IDS: readonly MethodId[] = Object.keys(METHOD_SPECS) as MethodId[];

/**
 * Table rows that are not a trained method: Benchmark-ii, VR trained alone on
 * clean images (the pre-training every run shares).
 */
export const REFERENCE_ROWS = {
  "benchmark-ii": { label: "Benchmark-ii (VR only, clean images)", colour: "#9467bd" },
} as const satisfies Record<string, RowStyle>;

/** What a table row stands for: a method, or a reference row such as `benchmark-ii`. */
export type RowMethod = MethodId | keyof typeof REFERENCE_ROWS;

/**
 * The label and colour of a table row or figure trace.
 *
 * @param method A method id or a reference row (`benchmark-ii`).
 * @returns Its {@link RowStyle}.
 * @throws {RangeError} For an id that is neither (e.g. a result from an older version).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowStyle } from "./methods.ts";
 * assert.deepEqual(rowStyle("gradprom"), { label: "GradProm (gate)", colour: "#2ca02c" });
 * assert.equal(rowStyle("benchmark-ii").colour, "#9467bd");
 * ```
 */
export function rowStyle(method: RowMethod): RowStyle {
  const spec: RowStyle | undefined = Object.hasOwn(METHOD_SPECS, method)
    ? METHOD_SPECS[method as MethodId]
    : Object.hasOwn(REFERENCE_ROWS, method)
    ? REFERENCE_ROWS[method as keyof typeof REFERENCE_ROWS]
    : undefined;
  if (!spec) {
    throw new RangeError(
      `Expected a method among ${[...METHOD_IDS, ...Object.keys(REFERENCE_ROWS)].join(", ")} ` +
        `but found "${method}"`,
    );
  }
  return { label: spec.label, colour: spec.colour };
}

/**
 * Whether a string is a method id (a key of {@link METHOD_SPECS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMethod } from "./methods.ts";
 * assert.deepEqual([isMethod("joint"), isMethod("benchmark-ii")], [true, false]);
 * ```
 */
export function isMethod(id: string): id is MethodId {
  return Object.hasOwn(METHOD_SPECS, id);
}

/**
 * The descriptor of a config's method.
 *
 * @param method A config's `method`.
 * @returns Its {@link MethodSpec}.
 * @throws {RangeError} For an unknown method, listing the known ones.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodSpec } from "./methods.ts";
 * assert.equal(methodSpec("benchmark-i").vrMode, "none");
 * assert.throws(() => methodSpec("adam" as never), RangeError);
 * ```
 */
export function methodSpec(method: MethodId): MethodSpec {
  if (!Object.hasOwn(METHOD_SPECS, method)) {
    throw new RangeError(
      `Expected method among ${METHOD_IDS.join(", ")} but found "${method}"`,
    );
  }
  return METHOD_SPECS[method];
}

/**
 * The options a config passes to its method's strategy: the method's own,
 * then its `fromTrain` keys of `config.train`, then `train.strategyOptions`.
 */
function strategyOptions(
  config: Pick<ExperimentConfig, "method" | "train">,
): Record<string, unknown> {
  const ref: StrategyRef = methodSpec(config.method).strategy;
  return {
    ...ref.options,
    ...Object.fromEntries((ref.fromTrain ?? []).map((k) => [k, config.train[k]])),
    // Results cached before `strategyOptions` existed have none.
    ...config.train.strategyOptions,
  };
}

/**
 * Checks a config's `train.strategyOptions` against the option keys of its
 * method's strategy (the registry's `optionKeys`). Keys the method takes from
 * `config.train` (GradProm's `granularity`) are set there, not here.
 *
 * @param config A config (its `method` and `train`).
 * @throws {TypeError} For an unknown key, naming it and the allowed ones.
 * @throws {RangeError} For an unknown method.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
 * import { checkStrategyOptions } from "./methods.ts";
 * const ok = mergeConfig(DEFAULT_CONFIG, { method: "pcgrad", train: { strategyOptions: { symmetric: true } } });
 * checkStrategyOptions(ok);
 * const bad = mergeConfig(DEFAULT_CONFIG, { method: "pcgrad", train: { strategyOptions: { beta: 0.1 } } });
 * assert.throws(() => checkStrategyOptions(bad), /train\.strategyOptions\.beta.*symmetric/);
 * ```
 */
export function checkStrategyOptions(config: Pick<ExperimentConfig, "method" | "train">): void {
  const ref: StrategyRef = methodSpec(config.method).strategy;
  const fromTrain: readonly string[] = ref.fromTrain ?? [];
  const allowed = STRATEGIES[ref.name].optionKeys.filter((k) => !fromTrain.includes(k));
  const given = config.train.strategyOptions ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new TypeError(
      `Expected train.strategyOptions to be an object but found ${JSON.stringify(given)}`,
    );
  }
  const unknown = Object.keys(given).filter((k) => !allowed.includes(k));
  if (unknown.length) {
    const set = unknown.filter((k) => fromTrain.includes(k));
    throw new TypeError(
      `Unknown key${unknown.length > 1 ? "s" : ""} ${
        unknown.map((k) => `'train.strategyOptions.${k}'`).join(", ")
      } for method "${config.method}" (strategy "${ref.name}"); expected ${
        allowed.length ? `one of: ${allowed.join(", ")}` : "none"
      }` + (set.length ? ` (set ${set.map((k) => `train.${k}`).join(", ")} instead)` : ""),
    );
  }
}

/**
 * Builds a fresh strategy for a config: its method's strategy from the
 * registry, with the method's options, its `config.train` keys and
 * `train.strategyOptions` (checked first, see {@link checkStrategyOptions}).
 *
 * @param config A config (its `method` and `train`).
 * @returns A fresh {@link Strategy} (stateful ones, such as GradVac, start anew).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
 * import { methodStrategy } from "./methods.ts";
 * const c = mergeConfig(DEFAULT_CONFIG, { method: "gradprom", train: { granularity: "layer" } });
 * assert.equal(typeof methodStrategy(c), "function");
 * ```
 */
export function methodStrategy(config: Pick<ExperimentConfig, "method" | "train">): Strategy {
  checkStrategyOptions(config);
  return getStrategy(methodSpec(config.method).strategy.name, strategyOptions(config));
}
