/**
 * A two-parameter toy problem for Fig. 1: a main loss L_IP and an auxiliary
 * loss L_VR over the same θ ∈ R², with minima in different places, so that
 * their gradients agree far from both minima and conflict between them.
 *
 * @module
 */

/** A point or vector in R². */
export type Vec2 = [number, number];

/** Options of {@link twoParamProblem}. */
export interface TwoParamProblemOptions {
  /** Minimum θ* of L_IP (default `[1, 1]`). */
  thetaStar?: Vec2;
  /** Minimum of L_VR (default `[-1.5, 2.5]`). */
  thetaVr?: Vec2;
  /** Eigenvalues of L_IP's Hessian, both > 0 (default `[1, 10]`: a narrow valley). */
  eigenvalues?: Vec2;
  /** Angle in radians of the Hessian's first eigenvector (default π/6). */
  angle?: number;
}

/**
 * The toy problem: an anisotropic quadratic bowl for IP and an isotropic one
 * for VR. All values are plain numbers (float64).
 */
export interface TwoParamProblem {
  /** Minimum of L_IP. */
  thetaStar: Vec2;
  /** Minimum of L_VR. */
  thetaVr: Vec2;
  /** L_IP's (constant) Hessian A, symmetric positive definite. */
  hessianIp: [Vec2, Vec2];
  /** L_IP(θ) = ½ (θ − θ*)ᵀ A (θ − θ*). */
  lIp(theta: Vec2): number;
  /** L_VR(θ) = ½ |θ − θ_VR|² (unweighted: the auxiliary term of the total loss is λ·L_VR). */
  lVr(theta: Vec2): number;
  /** ∇L_IP(θ) = A (θ − θ*). */
  gradIp(theta: Vec2): Vec2;
  /** ∇L_VR(θ) = θ − θ_VR. */
  gradVr(theta: Vec2): Vec2;
  /** The point where ∇L_IP + λ∇L_VR = 0: where joint training with weight λ settles. */
  jointMinimum(lambda: number): Vec2;
}

/**
 * Builds the two-parameter toy problem. The gradients conflict (cos < 0)
 * exactly inside the ellipse (θ − θ*)ᵀ A (θ − θ_VR) < 0, which passes through
 * both minima, and agree outside it; joint training's minimum lies inside.
 *
 * @param options Minima, Hessian eigenvalues and rotation of L_IP.
 * @returns The losses, their gradients and minima.
 * @throws {RangeError} If an eigenvalue is not a positive finite number, or a point is not finite.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { twoParamProblem } from "./two_param_problem.ts";
 * const p = twoParamProblem();
 * assert.equal(p.lIp(p.thetaStar), 0);
 * assert.deepEqual(p.gradVr(p.thetaVr), [0, 0]);
 * ```
 */
export function twoParamProblem(options: TwoParamProblemOptions = {}): TwoParamProblem {
  const thetaStar = _vec(options.thetaStar ?? [1, 1], "thetaStar");
  const thetaVr = _vec(options.thetaVr ?? [-1.5, 2.5], "thetaVr");
  const [e1, e2] = _vec(options.eigenvalues ?? [1, 10], "eigenvalues");
  for (const e of [e1, e2]) {
    if (!(e > 0)) throw new RangeError(`Expected positive eigenvalues but found ${e}`);
  }
  const angle = options.angle ?? Math.PI / 6;
  if (!Number.isFinite(angle)) throw new RangeError(`Expected a finite angle but found ${angle}`);
  const c = Math.cos(angle), s = Math.sin(angle);
  const a00 = c * c * e1 + s * s * e2, a01 = c * s * (e1 - e2), a11 = s * s * e1 + c * c * e2;
  const mul = (x: number, y: number): Vec2 => [a00 * x + a01 * y, a01 * x + a11 * y];
  const gradIp = (t: Vec2): Vec2 => mul(t[0] - thetaStar[0], t[1] - thetaStar[1]);
  const gradVr = (t: Vec2): Vec2 => [t[0] - thetaVr[0], t[1] - thetaVr[1]];
  return {
    thetaStar,
    thetaVr,
    hessianIp: [[a00, a01], [a01, a11]],
    gradIp,
    gradVr,
    lIp(t) {
      const g = gradIp(t);
      return 0.5 * ((t[0] - thetaStar[0]) * g[0] + (t[1] - thetaStar[1]) * g[1]);
    },
    lVr(t) {
      return 0.5 * ((t[0] - thetaVr[0]) ** 2 + (t[1] - thetaVr[1]) ** 2);
    },
    jointMinimum(lambda) {
      // (A + λI) θ = A θ* + λ θ_VR
      const [b0, b1] = mul(thetaStar[0], thetaStar[1]);
      const r0 = b0 + lambda * thetaVr[0], r1 = b1 + lambda * thetaVr[1];
      const m00 = a00 + lambda, m11 = a11 + lambda, det = m00 * m11 - a01 * a01;
      return [(m11 * r0 - a01 * r1) / det, (m00 * r1 - a01 * r0) / det];
    },
  };
}

function _vec(v: readonly number[], name: string): Vec2 {
  if (!Array.isArray(v) || v.length !== 2 || !v.every(Number.isFinite)) {
    throw new RangeError(`Expected ${name} to be two finite numbers but found [${v}]`);
  }
  return [v[0], v[1]];
}
