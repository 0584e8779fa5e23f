/**
 * Training strategies: pure functions from (∇θ L_IP, ∇θ λ·L_VR) to θ's update.
 *
 * @module
 */
export type { Strategy, StrategyResult } from "./types.ts";
export { joint } from "./joint.ts";
export { ipOnly } from "./ip_only.ts";
export { gradProm, type GradPromOptions } from "./grad_prom.ts";
