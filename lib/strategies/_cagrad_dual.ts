/**
 * The one-dimensional dual of two-task CAGrad (see `cagrad.ts`).
 *
 * @module
 */

/** The simplex weight x that solves the CAGrad dual, and |g_w|² there. */
export interface CaGradSolution {
  /** Weight of `main` in g_w = x·main + (1 − x)·aux, in [0, 1]. */
  x: number;
  /** |g_w|² at x. */
  gwSq: number;
}

/**
 * (Internal to `caGrad`.) Minimises the two-task CAGrad dual
 * F(x) = ⟨g_w, g₀⟩ + c·|g₀|·|g_w| over x ∈ [0, 1], with
 * g_w = x·m + (1 − x)·a and g₀ = (m + a)/2, from the Gram entries
 * mm = |m|², aa = |a|², ma = ⟨m, a⟩. F is convex (linear plus the norm of an
 * affine map), so its derivative
 *
 *   F'(x) = (mm − aa)/2 + c·|g₀|·(x·|m − a|² + ma − aa) / |g_w|
 *
 * is non-decreasing: x = 0 if F'(0) ≥ 0, x = 1 if F'(1) ≤ 0, else the root
 * of F' found by bisection on its sign (to float64 resolution; a search on F
 * itself would stop near 1e-8, where F's differences drown in rounding).
 *
 * @param mm |main|².
 * @param aa |aux|².
 * @param ma ⟨main, aux⟩.
 * @param c The radius c ≥ 0.
 * @returns The minimiser x and |g_w|² there.
 */
export function caGradDual(mm: number, aa: number, ma: number, c: number): CaGradSolution {
  const radius = c * Math.sqrt(Math.max(0, (mm + 2 * ma + aa) / 4));
  const diffSq = mm - 2 * ma + aa; // |m − a|²
  const gwSq = (x: number) =>
    Math.max(0, x * x * mm + 2 * x * (1 - x) * ma + (1 - x) * (1 - x) * aa);
  const slope = (x: number) => {
    const q = gwSq(x), half = x * diffSq + ma - aa; // ½·d|g_w|²/dx
    // At |g_w| = 0 (a kink of F) report the sign of the one-sided slopes' sum: 0 stops there.
    const normTerm = q > 0 ? half / Math.sqrt(q) : 0;
    return (mm - aa) / 2 + radius * normTerm;
  };
  let x: number;
  if (slope(0) >= 0) x = 0;
  else if (slope(1) <= 0) x = 1;
  else {
    let lo = 0, hi = 1;
    for (let i = 0; i < 200 && hi - lo > 0; i++) {
      const mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      const s = slope(mid);
      if (s === 0) {
        lo = hi = mid;
      } else if (s < 0) lo = mid;
      else hi = mid;
    }
    x = (lo + hi) / 2;
  }
  return { x, gwSq: gwSq(x) };
}
