/**
 * Internal: paints one synthetic H&E colon tile (eosin-pink stroma with nuclei of the
 * six Lizard classes) and its exact instance map, deterministically from an
 * {@linkcode Rng}.
 *
 * Class looks (sizes in pixels at `scale` 1; what tells the classes apart):
 * - 1 Neutrophil: 3–4 small dark lobes (radius ~2.4) in a pale pink cytoplasm halo.
 * - 2 Epithelial: large oval (semi-axes ~8.5 × 5.5), pale purple, speckled vesicular
 *   chromatin and one dark nucleolus.
 * - 3 Lymphocyte: small round (radius ~4), very dark blue-purple, uniform.
 * - 4 Plasma: round (radius ~4.5), "clock-face" dark chromatin spots, set eccentrically in
 *   a magenta-purple cytoplasm.
 * - 5 Eosinophil: two dark lobes (radius ~3) in bright red-orange granular cytoplasm.
 * - 6 Connective: elongated spindle (semi-axes ~11 × 3), medium purple.
 *
 * The mask of a nucleus is its nuclear region only (as in Lizard's `inst_map`); the
 * cytoplasm is painted outside it. Nuclei never overlap. Each tile has a dominant class
 * (about 70% of its nuclei) so that the majority class by pixel count is mostly it.
 * A `tint` per source shifts the stain colours slightly (stain variation between centres).
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";
import { _smoothstep, _valueNoise } from "./_synthetic_noise.ts";

type Rgb = [number, number, number];

/** A rendered tile: `rgb` HWC uint8, `inst` row-major instance ids (0 background), `classes[k]` of id k+1. */
export interface _Tile {
  rgb: Uint8Array;
  inst: Uint16Array;
  classes: number[];
}

/** Options of {@linkcode _renderTile}. */
export interface _TileOptions {
  width: number;
  height: number;
  /** Dominant nucleus class 1–6. */
  dominant: number;
  /** Per-channel stain multipliers of the tile's source. */
  tint: Rgb;
  /** Length scale of nuclei (default 1). */
  scale?: number;
}

const _clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Relative frequency of non-dominant classes (lymphocytes, epithelium, stroma are common). */
const _BASE_WEIGHTS = [0, 0.5, 2, 2, 1, 0.5, 1.5];

/** A nucleus: `nuc(x, y)` < 1 inside the nucleus, `cyto(x, y)` < 1 inside its cytoplasm. */
interface _Nucleus {
  cls: number;
  cx: number;
  cy: number;
  /** Radius enclosing nucleus and cytoplasm (for non-overlap). */
  reach: number;
  nuc: (x: number, y: number) => number;
  cyto?: (x: number, y: number) => number;
  /** Nuclear colour at a pixel inside. */
  colour: (x: number, y: number, f: number) => Rgb;
  cytoColour?: (x: number, y: number) => Rgb;
}

function _ellipse(cx: number, cy: number, a: number, b: number, angle: number) {
  const c = Math.cos(angle), s = Math.sin(angle);
  return (x: number, y: number) => {
    const dx = x - cx, dy = y - cy;
    const u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
    return Math.sqrt(u * u + v * v);
  };
}

function _lobes(centres: [number, number][], r: number) {
  return (x: number, y: number) => {
    let m = Infinity;
    for (const [lx, ly] of centres) m = Math.min(m, Math.hypot(x - lx, y - ly) / r);
    return m;
  };
}

function _jitter(rng: Rng, c: Rgb, tint: Rgb, amount = 12): Rgb {
  const d = rng.range(-amount, amount);
  return [c[0] * tint[0] + d, c[1] * tint[1] + d, c[2] * tint[2] + d];
}

function _makeNucleus(rng: Rng, cls: number, cx: number, cy: number, s: number, tint: Rgb) {
  const angle = rng.range(0, Math.PI);
  const grain = _valueNoise(rng.fork("grain"), 0.9);
  const size = rng.range(0.85, 1.15) * s;
  switch (cls) {
    case 1: { // neutrophil: 3-4 lobes, pale halo
      const k = 3 + rng.int(2), r = 2.4 * size, d = 2.9 * size;
      const centres: [number, number][] = [];
      for (let i = 0; i < k; i++) {
        const t = angle + (i * 2 * Math.PI) / k + rng.range(-0.3, 0.3);
        centres.push([cx + d * Math.cos(t), cy + d * Math.sin(t)]);
      }
      const c = _jitter(rng, [80, 40, 125], tint);
      const cyto = _jitter(rng, [235, 195, 215], tint, 6);
      return {
        cls,
        cx,
        cy,
        reach: 7.5 * size,
        nuc: _lobes(centres, r),
        cyto: _ellipse(cx, cy, 7 * size, 7 * size, 0),
        colour: () => c,
        cytoColour: () => cyto,
      };
    }
    case 2: { // epithelial: large pale oval, speckled chromatin, nucleolus
      const a = 8.5 * size, b = 5.5 * size * rng.range(0.85, 1.1);
      const c = _jitter(rng, [140, 105, 185], tint);
      const speck = _valueNoise(rng.fork("speck"), 0.7);
      const nx = cx + rng.range(-2, 2) * size, ny = cy + rng.range(-1.5, 1.5) * size;
      return {
        cls,
        cx,
        cy,
        reach: a + 1.5,
        nuc: _ellipse(cx, cy, a, b, angle),
        colour: (x: number, y: number, f: number): Rgb => {
          if (Math.hypot(x - nx, y - ny) < 1.5 * size) return [70, 30, 105];
          const dark = speck(x, y) > 0.62 ? 0.72 : 1;
          const rim = f > 0.8 ? 0.8 : 1; // darker nuclear membrane
          return [c[0] * dark * rim, c[1] * dark * rim, c[2] * dark * rim];
        },
      };
    }
    case 3: { // lymphocyte: small, round, very dark, uniform
      const r = 4 * size;
      const c = _jitter(rng, [52, 30, 95], tint, 8);
      return {
        cls,
        cx,
        cy,
        reach: r + 1,
        nuc: _ellipse(cx, cy, r, r * rng.range(0.9, 1), angle),
        colour: (x: number, y: number): Rgb => {
          const g = (grain(x, y) - 0.5) * 14;
          return [c[0] + g, c[1] + g, c[2] + g];
        },
      };
    }
    case 4: { // plasma: eccentric round nucleus with clock-face chromatin in magenta cytoplasm
      const r = 4.5 * size;
      const off = 3.2 * size;
      const nx = cx + off * Math.cos(angle), ny = cy + off * Math.sin(angle);
      const c = _jitter(rng, [110, 65, 150], tint);
      const cyto = _jitter(rng, [180, 105, 180], tint, 8);
      const spots: [number, number][] = [];
      for (let i = 0; i < 6; i++) {
        const t = (i * Math.PI) / 3 + angle;
        spots.push([nx + 0.6 * r * Math.cos(t), ny + 0.6 * r * Math.sin(t)]);
      }
      return {
        cls,
        cx,
        cy,
        reach: 9 * size,
        nuc: _ellipse(nx, ny, r, r, 0),
        cyto: _ellipse(cx, cy, 8 * size, 6 * size, angle),
        colour: (x: number, y: number): Rgb => {
          const spot = spots.some(([sx, sy]) => Math.hypot(x - sx, y - sy) < 1.1 * size);
          return spot ? [45, 20, 80] : c;
        },
        cytoColour: () => cyto,
      };
    }
    case 5: { // eosinophil: bilobed nucleus, red-orange granular cytoplasm
      const r = 3 * size, d = 2.6 * size;
      const centres: [number, number][] = [
        [cx + d * Math.cos(angle), cy + d * Math.sin(angle)],
        [cx - d * Math.cos(angle), cy - d * Math.sin(angle)],
      ];
      const c = _jitter(rng, [85, 40, 120], tint, 8);
      const gran = _valueNoise(rng.fork("granules"), 1.1);
      return {
        cls,
        cx,
        cy,
        reach: 8.5 * size,
        nuc: _lobes(centres, r),
        cyto: _ellipse(cx, cy, 8 * size, 7 * size, angle),
        colour: () => c,
        cytoColour: (x: number, y: number): Rgb =>
          gran(x, y) > 0.5 ? [235 * tint[0], 70 * tint[1], 70 * tint[2]] : [
            250 * tint[0],
            140 * tint[1],
            110 * tint[2],
          ],
      };
    }
    default: { // connective: elongated spindle
      const a = 11 * size * rng.range(0.9, 1.2), b = 3 * size;
      const c = _jitter(rng, [100, 60, 145], tint);
      return {
        cls,
        cx,
        cy,
        reach: a + 1,
        nuc: _ellipse(cx, cy, a, b, angle),
        colour: (x: number, y: number): Rgb => {
          const g = (grain(x, y) - 0.5) * 20;
          return [c[0] + g, c[1] + g, c[2] + g];
        },
      };
    }
  }
}

/**
 * Paints one tile.
 *
 * @param rng Source of randomness (consumed).
 * @param options Size, dominant class, source tint and nucleus scale.
 * @returns Pixels, instance map (ids 1..N in placement order) and class per id.
 */
export function _renderTile(rng: Rng, options: _TileOptions): _Tile {
  const { width: w, height: h, dominant, tint, scale = 1 } = options;
  const rgb = new Uint8Array(w * h * 3);
  const inst = new Uint16Array(w * h);
  const classes: number[] = [];

  // Stroma: eosin pink with fibre-like streaks and a few pale lumen patches.
  const low = _valueNoise(rng.fork("low"), 0.04);
  const fibre = _valueNoise(rng.fork("fibre"), 0.25);
  const lumen = _valueNoise(rng.fork("lumen"), 0.02);
  const stretch = rng.range(0.2, 0.5);
  const base = _jitter(rng.fork("stroma"), [232, 160, 190], tint, 8);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const f = fibre(x * stretch, y) - 0.5, l = low(x, y) - 0.5;
      const pale = _smoothstep(0.62, 0.72, lumen(x, y));
      const k = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = base[c] + f * 30 + l * 25;
        rgb[k + c] = _clamp(v + (246 - v) * pale * 0.85);
      }
    }
  }

  // Nuclei: rejection-sampled centres, no overlap of their reach circles.
  const weights = _BASE_WEIGHTS.map((b, c) => (c === dominant ? 0 : b));
  const others = weights.reduce((a, b) => a + b, 0);
  const placed: { x: number; y: number; r: number }[] = [];
  const target = Math.round((w * h) / (320 * scale * scale));
  const nuclei: _Nucleus[] = [];
  for (let k = 0; k < target; k++) {
    let cls = dominant;
    if (rng.uniform() >= 0.7) {
      let r = rng.uniform() * others;
      for (let c = 1; c <= 6; c++) {
        r -= weights[c];
        if (r < 0) {
          cls = c;
          break;
        }
      }
    }
    // Up to 40 positions for this class, so large nuclei are not crowded out by small ones.
    const nrng = rng.fork(`n${k}`);
    for (let attempt = 0; attempt < 40; attempt++) {
      const cx = nrng.range(0, w), cy = nrng.range(0, h);
      const n = _makeNucleus(nrng.fork(`a${attempt}`), cls, cx, cy, scale, tint);
      if (placed.some((p) => Math.hypot(p.x - cx, p.y - cy) < p.r + n.reach + 1)) continue;
      placed.push({ x: cx, y: cy, r: n.reach });
      nuclei.push(n);
      break;
    }
  }

  for (const n of nuclei) {
    const x0 = Math.max(0, Math.floor(n.cx - n.reach - 2)),
      x1 = Math.min(w - 1, Math.ceil(n.cx + n.reach + 2));
    const y0 = Math.max(0, Math.floor(n.cy - n.reach - 2)),
      y1 = Math.min(h - 1, Math.ceil(n.cy + n.reach + 2));
    const id = classes.length + 1;
    let area = 0;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5, py = y + 0.5;
        const k = y * w + x;
        const f = n.nuc(px, py);
        if (n.cyto && n.cytoColour && f >= 1) {
          const g = n.cyto(px, py);
          if (g < 1.1) {
            const a = 1 - _smoothstep(0.85, 1.1, g), col = n.cytoColour(px, py);
            for (let c = 0; c < 3; c++) {
              rgb[k * 3 + c] = _clamp(rgb[k * 3 + c] + (col[c] - rgb[k * 3 + c]) * a);
            }
          }
        }
        if (f < 1.15) {
          const a = 1 - _smoothstep(0.9, 1.15, f), col = n.colour(px, py, f);
          for (let c = 0; c < 3; c++) {
            rgb[k * 3 + c] = _clamp(rgb[k * 3 + c] + (col[c] - rgb[k * 3 + c]) * a);
          }
          if (f < 1) {
            inst[k] = id;
            area++;
          }
        }
      }
    }
    if (area === 0) { // entirely off the tile edge: paint stays, no label id used
      continue;
    }
    classes.push(n.cls);
  }
  // Ids of nuclei with no pixels were skipped above; ids are contiguous 1..N.
  return { rgb, inst, classes };
}
