/**
 * Internal: the procedural-texture primitives the synthetic image renderers
 * share (`_synthetic_ct_slice.ts`, `_synthetic_lesion.ts`,
 * `_synthetic_nuclei.ts`): seeded value noise and a smooth step. Pure
 * functions of their arguments and the {@linkcode Rng} they are given, so the
 * generated images stay byte-identical for a seed.
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";

/**
 * Seeded smooth 2-D value noise in [0, 1]: a `grid` × `grid` lattice of
 * uniform values (wrapping), sampled with C1 (smoothstep) interpolation at
 * `freq` cells per unit of the coordinates it is called with.
 *
 * @param rng Generator of this noise; draws `grid²` lattice values, then the x and y offsets.
 * @param freq Lattice cells per unit.
 * @param grid Lattice size (64 unless a renderer fixed another).
 * @returns The noise function.
 */
export function _valueNoise(rng: Rng, freq: number, grid = 64): (x: number, y: number) => number {
  const n = grid;
  const values = new Float64Array(n * n);
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform();
  const ox = rng.range(0, n), oy = rng.range(0, n);
  return (sx, sy) => {
    const x = sx * freq + ox, y = sy * freq + oy;
    const xi = Math.floor(x), yi = Math.floor(y);
    const fx = x - xi, fy = y - yi;
    const wx = fx * fx * (3 - 2 * fx), wy = fy * fy * (3 - 2 * fy);
    const x0 = ((xi % n) + n) % n, y0 = ((yi % n) + n) % n;
    const x1 = (x0 + 1) % n, y1 = (y0 + 1) % n;
    const a = values[y0 * n + x0], b = values[y0 * n + x1];
    const c = values[y1 * n + x0], d = values[y1 * n + x1];
    return (a + (b - a) * wx) * (1 - wy) + (c + (d - c) * wx) * wy;
  };
}

/** Hermite smooth step of `v` from `e0` (0) to `e1` (1), clamped; `e1 < e0` falls instead. */
export function _smoothstep(e0: number, e1: number, v: number): number {
  const t = Math.min(1, Math.max(0, (v - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}
