/**
 * Training strategies: functions from (∇θ L_IP, ∇θ λ·L_VR) to θ's update (pure, except GradVac, which keeps an EMA of cosines).
 *
 * @module
 */
export type { Strategy, StrategyResult } from "./types.ts";
export { joint } from "./joint.ts";
export { ipOnly } from "./ip_only.ts";
export { gradProm, type GradPromOptions } from "./grad_prom.ts";
export { pcGrad, type PcGradOptions } from "./pcgrad.ts";
export { gradVac, type GradVacOptions, type GradVacStrategy } from "./gradvac.ts";
export { caGrad, type CaGradOptions } from "./cagrad.ts";
export { mgda, type MgdaOptions } from "./mgda.ts";
export { gradientSimilarity, type GradientSimilarityOptions } from "./gradient_similarity.ts";
export { defineStrategy } from "./factory.ts";
export {
  getStrategy,
  registerStrategy,
  STRATEGIES,
  type StrategyFactory,
  type StrategyName,
} from "./registry.ts";
