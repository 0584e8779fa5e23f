/**
 * Seeded pseudo-random numbers, one generator per component (never a global one).
 *
 * Written by hand rather than taken from npm because it is 30 lines and every
 * component of the library must be able to derive an independent, reproducible
 * stream from a seed and a name (`rng.fork("noise")`), which the usual packages
 * (e.g. `seedrandom`) do not offer directly.
 *
 * @module
 */

/** A seeded generator: mulberry32 for uniforms, Box–Muller for normals. */
export class Rng {
  #state: number;
  #origin: number;
  #spare: number | undefined;

  /**
   * @param seed Any integer; the same seed always gives the same stream.
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const a = new Rng(7), b = new Rng(7);
   * if (a.uniform() !== b.uniform()) throw new Error("not reproducible");
   * ```
   */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError(`Expected a finite seed but found ${seed}`);
    this.#state = hashString(String(Math.trunc(seed))) >>> 0;
    this.#origin = this.#state;
  }

  /** A uniform float in [0, 1). */
  uniform(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A standard normal sample (mean 0, std 1). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A Fisher–Yates shuffled copy of `items`. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** A 31-bit integer seed, e.g. for `tf.randomNormal(..., seed)`. */
  seed(): number {
    return Math.floor(this.uniform() * 0x7fffffff);
  }

  /**
   * An independent generator derived from this one's seed and a name. The
   * result depends only on the seed and the name, not on how far this
   * generator has advanced, and forking does not advance it.
   */
  fork(name: string): Rng {
    const child = new Rng(0);
    child.#state = hashString(`${this.#origin}:${name}`) >>> 0;
    child.#origin = child.#state;
    return child;
  }
}

/** FNV-1a 32-bit hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
