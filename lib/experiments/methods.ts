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
  type StrategyFactory,
  strategyFactory,
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
 * A method's strategy: a name of the registry (`{ name: "pcgrad" }`) or a
 * strategy defined in its own file with `defineStrategy` (`{ factory }`, no
 * registry entry needed), options fixed by the method, and the
 * `config.train` keys it takes as options (GradProm's `granularity`). A
 * config's `train.strategyOptions` are merged over `options`.
 */
export type StrategyRef =
  | {
    [N in StrategyName]: {
      name: N;
      factory?: never;
      options?: StrategyOptionsOf<N>;
      fromTrain?: readonly (TrainOptionKey & keyof StrategyOptionsOf<N>)[];
    };
  }[StrategyName]
  | _FactoryRef<object>;

/** A strategy given by its factory (see {@link StrategyRef}). */
interface _FactoryRef<O extends object> {
  name?: never;
  factory: StrategyFactory<O>;
  options?: O;
  fromTrain?: readonly (TrainOptionKey & keyof O)[];
}

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

/**
 * The methods the paper's claims and figures compare, by the role each
 * plays: the method it proposes, the IP-only baseline, joint training and
 * frozen-parameter training. Claims, summaries and the paper's figures name
 * methods through these roles, so a method id is spelt only here, in
 * {@link METHOD_SPECS} and in the paper's table specs (`registry.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_SPECS, PAPER_ROLES } from "./methods.ts";
 * assert.equal(METHOD_SPECS[PAPER_ROLES.proposed].gate, true);
 * assert.equal(METHOD_SPECS[PAPER_ROLES.ipOnly].vrMode, "none");
 * ```
 */
export const PAPER_ROLES = {
  proposed: "gradprom",
  ipOnly: "benchmark-i",
  joint: "joint",
  frozen: "frozen",
} as const satisfies Record<string, keyof typeof METHOD_SPECS>;

/** A training method's id (a key of {@link METHOD_SPECS}). */
export type MethodId = keyof typeof METHOD_SPECS;

/** The built-in method ids, in {@link METHOD_SPECS}' order (see {@link methodIds} for all). */
export const METHOD_IDS: readonly MethodId[] = Object.keys(METHOD_SPECS) as MethodId[];

/**
 * A strategy reference of any strategy, a registered one included (see
 * {@link StrategyRef} for the built-ins' typed form): a `name` or a `factory`.
 */
export interface AnyStrategyRef {
  /** A name of `STRATEGIES` or one added by `registerStrategy` (when there is no `factory`). */
  name?: string;
  /** The strategy itself, defined with `defineStrategy` (instead of a `name`). */
  factory?: StrategyFactory<never>;
  /** Options fixed by the method. */
  options?: object;
  /** Keys of `config.train` passed on as options. */
  fromTrain?: readonly TrainOptionKey[];
}

/** The factory a strategy reference stands for. */
function _factoryOf(ref: AnyStrategyRef): StrategyFactory {
  return (ref.factory as StrategyFactory | undefined) ?? strategyFactory(ref.name ?? "");
}

/** A method added at run time by {@link registerMethod}: a {@link MethodSpec} of any strategy. */
export interface RegisteredMethodSpec extends Omit<MethodSpec, "strategy"> {
  /** The strategy combining the gradients, by name (a built-in or a registered one). */
  strategy: AnyStrategyRef;
}

/** Methods added at run time by {@link registerMethod}, by id. */
const _registered = new Map<string, RegisteredMethodSpec>();

/**
 * Every method id: the built-ins of {@link METHOD_SPECS}, then those added by
 * {@link registerMethod}, in registration order. Tables without a
 * `methodOrder` show their rows in this order.
 *
 * @returns The ids.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_IDS, methodIds } from "./methods.ts";
 * assert.deepEqual(methodIds().slice(0, METHOD_IDS.length), [...METHOD_IDS]);
 * ```
 */
export function methodIds(): MethodId[] {
  return [...METHOD_IDS, ...(_registered.keys() as Iterable<MethodId>)];
}

const _VR_MODES: readonly VrMode[] = ["none", "trained", "frozen"];
const _TRAIN_OPTION_KEYS: readonly TrainOptionKey[] = ["granularity"];

/**
 * Adds a training method at run time (a notebook, a test, a script), without
 * editing {@link METHOD_SPECS}: afterwards configs may name it as `method`
 * ({@link checkStrategyOptions} and the runner accept it), and tables and
 * figures give it its label and colour ({@link rowStyle}). Built-in ids, run
 * keys and numbers are unchanged.
 *
 * The id is returned typed as a {@link MethodId} so that a typed config takes
 * it; it is one only in this process, after this call. Worker processes do not
 * see it: run grids of it with `runGrid(configs, { workers: 0 })`
 * (in-process). To add a method for good, add an entry to {@link METHOD_SPECS}.
 *
 * @param id The new id (not a built-in, a reference row or registered before).
 * @param spec Label, short label, colour (`#rgb` or `#rrggbb`), VR mode, strategy, gate.
 * @returns `id`, as a method id.
 * @throws {RangeError} For an id already taken or an unknown strategy name.
 * @throws {TypeError} For a missing or malformed field, or a strategy option it does not take.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registerMethod, rowStyle } from "./methods.ts";
 * const id = registerMethod("doc-joint-again", {
 *   label: "Joint again",
 *   shortLabel: "Joint²",
 *   colour: "#123456",
 *   vrMode: "trained",
 *   strategy: { name: "joint" },
 *   gate: false,
 * });
 * assert.deepEqual(rowStyle(id), { label: "Joint again", colour: "#123456" });
 * assert.throws(() => registerMethod("joint", { ...rowStyle("joint"), shortLabel: "J", vrMode: "trained", strategy: { name: "joint" }, gate: false }), /already/);
 * ```
 */
export function registerMethod(id: string, spec: RegisteredMethodSpec): MethodId {
  if (typeof id !== "string" || !id) {
    throw new RangeError(`Expected a non-empty method id but found ${JSON.stringify(id)}`);
  }
  if (Object.hasOwn(METHOD_SPECS, id) || Object.hasOwn(REFERENCE_ROWS, id) || _registered.has(id)) {
    throw new RangeError(`Expected a new method id but found "${id}", already registered`);
  }
  const bad = (field: string, want: string, found: unknown) =>
    new TypeError(
      `Expected ${field} of method "${id}" to be ${want} but found ${JSON.stringify(found)}`,
    );
  for (const field of ["label", "shortLabel"] as const) {
    if (typeof spec?.[field] !== "string" || !spec[field].trim()) {
      throw bad(field, "a non-empty string", spec?.[field]);
    }
  }
  if (typeof spec.colour !== "string" || !/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(spec.colour)) {
    throw bad("colour", "a CSS hex colour (#rgb or #rrggbb)", spec.colour);
  }
  if (!_VR_MODES.includes(spec.vrMode)) throw bad("vrMode", _VR_MODES.join(" or "), spec.vrMode);
  if (typeof spec.gate !== "boolean") throw bad("gate", "a boolean", spec.gate);
  const ref = spec.strategy;
  if (typeof ref?.factory !== "function" && typeof ref?.name !== "string") {
    throw bad("strategy", "{ name } or { factory }", ref);
  }
  const keys = _factoryOf(ref).optionKeys;
  const unknown = [
    ...Object.keys(ref.options ?? {}),
    ...(ref.fromTrain ?? []).filter((k) => _TRAIN_OPTION_KEYS.includes(k)),
  ].filter((k) => !keys.includes(k));
  const notTrain = (ref.fromTrain ?? []).filter((k) => !_TRAIN_OPTION_KEYS.includes(k));
  if (unknown.length || notTrain.length) {
    throw bad(
      "strategy options",
      `among [${keys.join(", ")}] (fromTrain among [${_TRAIN_OPTION_KEYS.join(", ")}])`,
      [...unknown, ...notTrain],
    );
  }
  _registered.set(id, {
    ...spec,
    strategy: { ...ref, ...(ref.fromTrain ? { fromTrain: [...ref.fromTrain] } : {}) },
  });
  return id as MethodId;
}

/**
 * Table rows that are not a trained method: Benchmark-ii, VR trained alone on
 * clean images (the pre-training every run shares).
 */
export const REFERENCE_ROWS = {
  "benchmark-ii": { label: "Benchmark-ii (VR only, clean images)", colour: "#9467bd" },
} as const satisfies Record<string, RowStyle>;

/** The reference row of VR trained alone on clean images (the key of {@link REFERENCE_ROWS}). */
export const VR_ONLY_ROW = "benchmark-ii" satisfies keyof typeof REFERENCE_ROWS;

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
  const spec: RowStyle | undefined = isMethod(method)
    ? methodSpec(method)
    : Object.hasOwn(REFERENCE_ROWS, method)
    ? REFERENCE_ROWS[method as keyof typeof REFERENCE_ROWS]
    : undefined;
  if (!spec) {
    throw new RangeError(
      `Expected a method among ${[...methodIds(), ...Object.keys(REFERENCE_ROWS)].join(", ")} ` +
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
  return Object.hasOwn(METHOD_SPECS, id) || _registered.has(id);
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
export function methodSpec(method: MethodId): MethodSpec | RegisteredMethodSpec {
  if (Object.hasOwn(METHOD_SPECS, method)) return METHOD_SPECS[method];
  const registered = _registered.get(method);
  if (registered) return registered;
  throw new RangeError(
    `Expected method among ${methodIds().join(", ")} but found "${method}"`,
  );
}

/**
 * The options a config passes to its method's strategy: the method's own,
 * then its `fromTrain` keys of `config.train`, then `train.strategyOptions`.
 */
function strategyOptions(
  config: Pick<ExperimentConfig, "method" | "train">,
): Record<string, unknown> {
  const ref: AnyStrategyRef = methodSpec(config.method).strategy;
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
  const ref: AnyStrategyRef = methodSpec(config.method).strategy;
  const fromTrain: readonly string[] = ref.fromTrain ?? [];
  const factory = _factoryOf(ref);
  const allowed = factory.optionKeys.filter((k) => !fromTrain.includes(k));
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
      } for method "${config.method}" (strategy "${factory.id}"); expected ${
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
  return _factoryOf(methodSpec(config.method).strategy)(strategyOptions(config));
}
