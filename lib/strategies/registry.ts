import { caGrad, type CaGradOptions } from "./cagrad.ts";
import { gradientSimilarity, type GradientSimilarityOptions } from "./gradient_similarity.ts";
import { gradProm, type GradPromOptions } from "./grad_prom.ts";
import { gradVac, type GradVacOptions, type GradVacStrategy } from "./gradvac.ts";
import { ipOnly } from "./ip_only.ts";
import { joint } from "./joint.ts";
import { mgda, type MgdaOptions } from "./mgda.ts";
import { pcGrad, type PcGradOptions } from "./pcgrad.ts";
import { defineStrategy as _factory, type StrategyFactory } from "./factory.ts";
import type { Strategy } from "./types.ts";

export type { StrategyFactory } from "./factory.ts";

type _None = Record<never, never>;

/** The type of {@link STRATEGIES}: each name with its options and strategy type. */
export interface StrategyRegistry {
  "joint": StrategyFactory<_None>;
  "ip-only": StrategyFactory<_None>;
  "gradprom": StrategyFactory<Omit<GradPromOptions, "mode">>;
  "gradprom-weighted": StrategyFactory<Omit<GradPromOptions, "mode">>;
  "gradprom-layer": StrategyFactory<Omit<GradPromOptions, "granularity">>;
  "pcgrad": StrategyFactory<PcGradOptions>;
  "gradvac": StrategyFactory<GradVacOptions, GradVacStrategy>;
  "cagrad": StrategyFactory<CaGradOptions>;
  "mgda": StrategyFactory<MgdaOptions>;
  "gradsim-weighted": StrategyFactory<Omit<GradientSimilarityOptions, "mode">>;
  "gradsim-unweighted": StrategyFactory<Omit<GradientSimilarityOptions, "mode">>;
}

/**
 * Every training strategy by name. Each entry builds a fresh strategy from
 * its options and carries a one-line `description`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STRATEGIES } from "./registry.ts";
 * for (const [name, f] of Object.entries(STRATEGIES)) console.log(name, "—", f.description);
 * const pcgrad = STRATEGIES.pcgrad({ symmetric: true });
 * assert.equal(typeof pcgrad, "function");
 * assert.ok(Object.values(STRATEGIES).every((f) => f.description.length > 0));
 * ```
 */
export const STRATEGIES: StrategyRegistry = {
  "joint": _factory<_None>(
    "joint",
    "main + aux: joint training on L_IP + λ·L_VR.",
    [],
    () => joint,
  ),
  "ip-only": _factory<_None>(
    "ip-only",
    "main alone: aux is measured (cosine) but never used.",
    [],
    () => ipOnly,
  ),
  "gradprom": _factory<Omit<GradPromOptions, "mode">>(
    "gradprom",
    "GradProm gate (Zhang & Cheng 2025): main + aux if cos ≥ 0, else main.",
    ["granularity"],
    (o) => gradProm({ ...o, mode: "gate" }),
  ),
  "gradprom-weighted": _factory<Omit<GradPromOptions, "mode">>(
    "gradprom-weighted",
    "GradProm Lemma 3.1 form: main + max(0, cos)·aux.",
    ["granularity"],
    (o) => gradProm({ ...o, mode: "weighted" }),
  ),
  "gradprom-layer": _factory<Omit<GradPromOptions, "granularity">>(
    "gradprom-layer",
    "GradProm with one cosine and one gate per variable (layer).",
    ["mode"],
    (o) => gradProm({ ...o, granularity: "layer" }),
  ),
  "pcgrad": _factory<PcGradOptions>(
    "pcgrad",
    "PCGrad (Yu et al. 2020): on conflict, project aux (and, if symmetric, main) onto the other's normal plane.",
    ["symmetric"],
    (o) => pcGrad(o),
  ),
  "gradvac": _factory<GradVacOptions, GradVacStrategy>(
    "gradvac",
    "GradVac (Wang et al. 2021): raise cos(aux, main) to an EMA target; stateful.",
    ["beta", "target", "symmetric"],
    (o) => gradVac(o),
  ),
  "cagrad": _factory<CaGradOptions>(
    "cagrad",
    "CAGrad (Liu et al. 2021): best worst-task step within c·|g₀| of the average gradient.",
    ["c", "rescale"],
    (o) => caGrad(o),
  ),
  "mgda": _factory<MgdaOptions>(
    "mgda",
    "MGDA (Sener & Koltun 2018): min-norm convex combination of main and aux (×2 by default).",
    ["rescale"],
    (o) => mgda(o),
  ),
  "gradsim-weighted": _factory<Omit<GradientSimilarityOptions, "mode">>(
    "gradsim-weighted",
    "Gradient similarity (Du et al. 2018), weighted: main + max(0, cos)·aux.",
    ["granularity"],
    (o) => gradientSimilarity({ ...o, mode: "weighted" }),
  ),
  "gradsim-unweighted": _factory<Omit<GradientSimilarityOptions, "mode">>(
    "gradsim-unweighted",
    "Gradient similarity (Du et al. 2018), unweighted: main + aux iff cos > 0 (strict).",
    ["granularity"],
    (o) => gradientSimilarity({ ...o, mode: "unweighted" }),
  ),
};

/** A name in {@link STRATEGIES}. */
export type StrategyName = keyof StrategyRegistry;

/**
 * Builds the strategy registered under `name`.
 *
 * @param name A key of {@link STRATEGIES}, e.g. `"gradprom"` or `"pcgrad"`.
 * @param options The strategy's options (unknown keys are an error).
 * @returns A fresh {@link Strategy}.
 * @throws {RangeError} For an unknown name, listing the known ones.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { getStrategy } from "./registry.ts";
 * await setupBackend({ quiet: true });
 * const step = getStrategy("mgda", { rescale: false });
 * const r = step({ w: tf.tensor([2, 0]) }, { w: tf.tensor([0, 2]) });
 * assert.deepEqual([...r.grads.w.dataSync()], [1, 1]);
 * ```
 */
export function getStrategy(name: string, options?: Record<string, unknown>): Strategy {
  return strategyFactory(name)(options);
}

/** Strategies added at run time by {@link registerStrategy}, by name. */
const _registered = new Map<string, StrategyFactory>();

/**
 * The factory of a strategy name: a built-in of {@link STRATEGIES} or one
 * added by {@link registerStrategy}.
 *
 * @param name A strategy name.
 * @returns Its factory (with `description` and `optionKeys`).
 * @throws {RangeError} For an unknown name, listing the known ones.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { strategyFactory } from "./registry.ts";
 * assert.deepEqual(strategyFactory("pcgrad").optionKeys, ["symmetric"]);
 * ```
 */
export function strategyFactory(name: string): StrategyFactory {
  if (Object.hasOwn(STRATEGIES, name)) return STRATEGIES[name as StrategyName] as StrategyFactory;
  const registered = _registered.get(name);
  if (registered) return registered;
  throw new RangeError(
    `Expected a strategy name among ${strategyNames().join(", ")} but found "${name}"`,
  );
}

/**
 * Every strategy name: the built-ins of {@link STRATEGIES}, then those added
 * by {@link registerStrategy}, in registration order.
 *
 * @returns The names.
 */
export function strategyNames(): string[] {
  return [...Object.keys(STRATEGIES), ..._registered.keys()];
}

/**
 * Adds a strategy at run time (a notebook, a test, a script), without editing
 * this file: afterwards {@link getStrategy} and {@link strategyFactory} know
 * it, and a method of `registerMethod` (`lib/experiments/methods.ts`) may use
 * it. Built-in names, their options and results are unchanged.
 *
 * The registration lives in this process only: a grid run with worker
 * processes (`runGrid`'s default) does not see it; run such a grid with
 * `workers: 0` (in-process). To add a strategy for good, give it its own
 * file and test and an entry of {@link STRATEGIES} instead.
 *
 * @param name The new name (not a built-in, not registered before).
 * @param make Builds a fresh strategy from options (checked against `optionKeys` first).
 * @param info `description` (one line, required) and `optionKeys` (default none).
 * @returns The factory now registered under `name`.
 * @throws {RangeError} For a name already taken, or an empty one.
 * @throws {TypeError} For a `make` that is not a function or an empty description.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { setupBackend } from "../backend/setup_backend.ts";
 * import { combine } from "./grad_math.ts";
 * import { getStrategy, registerStrategy } from "./registry.ts";
 * import type { Strategy } from "./types.ts";
 * await setupBackend({ quiet: true });
 * const halfAux: Strategy = (main, aux) => ({
 *   grads: combine(main, aux, () => 0.5),
 *   cosine: 0,
 *   auxWeight: 0.5,
 * });
 * registerStrategy("doc-half-aux", () => halfAux, { description: "main + ½·aux." });
 * const r = getStrategy("doc-half-aux")({ w: tf.tensor([1]) }, { w: tf.tensor([4]) });
 * assert.deepEqual([...r.grads.w.dataSync()], [3]);
 * assert.throws(() => registerStrategy("joint", () => halfAux, { description: "x" }), /already/);
 * ```
 */
export function registerStrategy(
  name: string,
  make: (options: Record<string, unknown>) => Strategy,
  info: { description: string; optionKeys?: readonly string[] },
): StrategyFactory {
  if (typeof name !== "string" || !name) {
    throw new RangeError(`Expected a non-empty strategy name but found ${JSON.stringify(name)}`);
  }
  if (Object.hasOwn(STRATEGIES, name) || _registered.has(name)) {
    throw new RangeError(`Expected a new strategy name but found "${name}", already registered`);
  }
  if (typeof make !== "function") {
    throw new TypeError(`Expected strategy "${name}" to be built by a function but found ${make}`);
  }
  if (typeof info?.description !== "string" || !info.description.trim()) {
    throw new TypeError(
      `Expected a one-line description of strategy "${name}" but found ${
        JSON.stringify(info?.description)
      }`,
    );
  }
  const factory = _factory<Record<string, unknown>>(
    name,
    info.description,
    [...(info.optionKeys ?? [])],
    make,
  );
  _registered.set(name, factory);
  return factory;
}
