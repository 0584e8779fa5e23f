/**
 * The two-parameter toy problem behind the Fig. 1 notebook.
 *
 * @module
 */
export {
  type TwoParamProblem,
  twoParamProblem,
  type TwoParamProblemOptions,
  type Vec2,
} from "./two_param_problem.ts";
export {
  simulate,
  SIMULATE_DEFAULTS,
  type SimulateOptions,
  type ToyTrajectory,
} from "./simulate.ts";
