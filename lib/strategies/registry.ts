import { caGrad, type CaGradOptions } from "./cagrad.ts";
import { gradientSimilarity, type GradientSimilarityOptions } from "./gradient_similarity.ts";
import { gradProm, type GradPromOptions } from "./grad_prom.ts";
import { gradVac, type GradVacOptions, type GradVacStrategy } from "./gradvac.ts";
import { ipOnly } from "./ip_only.ts";
import { joint } from "./joint.ts";
import { mgda, type MgdaOptions } from "./mgda.ts";
import { pcGrad, type PcGradOptions } from "./pcgrad.ts";
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
  /** What the strategy does, in one line. */
  readonly description: string;
  /** The option keys it accepts. */
  readonly optionKeys: readonly string[];
}

function _factory<O extends object, S extends Strategy = Strategy>(
  name: string,
  description: string,
  optionKeys: readonly (keyof O & string)[],
  make: (options: O) => S,
): StrategyFactory<O, S> {
  const factory = (options: O = {} as O): S => {
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError(
        `Expected options of strategy "${name}" to be an object but found ${options}`,
      );
    }
    const unknown = Object.keys(options).filter((k) =>
      !(optionKeys as readonly string[]).includes(k)
    );
    if (unknown.length) {
      throw new TypeError(
        `Expected options of strategy "${name}" among [${optionKeys.join(", ")}] ` +
          `but found unknown ${unknown.map((k) => `"${k}"`).join(", ")}`,
      );
    }
    return make(options);
  };
  return Object.assign(factory, { description, optionKeys });
}

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
  if (!Object.hasOwn(STRATEGIES, name)) {
    throw new RangeError(
      `Expected a strategy name among ${Object.keys(STRATEGIES).join(", ")} but found "${name}"`,
    );
  }
  const factory = STRATEGIES[name as StrategyName] as StrategyFactory;
  return factory(options);
}
