/**
 * Internal: paints one synthetic dermoscopy image (skin, lesion, hair, lighting)
 * and its exact lesion mask, deterministically from an {@linkcode Rng}.
 *
 * Everything is drawn in pixel space with lengths scaled by `S = min(width, height)`,
 * so a picture looks the same at any resolution. The lesion is the region `u < 1`,
 * where `u` is the distance from the lesion centre divided by the (irregular,
 * rotated, elongated) boundary radius in that direction; the mask is exactly that
 * region, and the lesion's colour is blended into the skin only inside it (with a
 * soft inner edge), so the skin outside the mask is never tinted.
 *
 * Class looks (the only thing that tells the classes apart; sizes are fractions
 * of S for the lesion's diameter):
 * - MEL: large (0.55–0.85), very irregular, dark brown/black mixed with blue-grey
 *   and red patches, sharp border.
 * - NV: medium (0.35–0.6), nearly round, uniform brown, faint network, soft border.
 * - BCC: medium, pink with pearly white sheen and thin red branching vessels.
 * - AKIEC: medium-large, red with rough high-frequency scaly texture, whitish flakes.
 * - BKL: medium-large, light brown with waxy mottling and pale milia-like dots,
 *   sharp "stuck-on" border.
 * - DF: small (0.22–0.38), brown ring around a pale centre.
 * - VASC: a cluster of red-to-purple lobules separated by pale septa.
 *
 * Within-class variation: size, position, rotation, elongation, boundary shape,
 * tone (brightness and per-channel jitter), skin colour, lighting and hair.
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";
import { _smoothstep, _valueNoise } from "./_synthetic_noise.ts";

type Rgb = [number, number, number];

/** An rendered image: `rgb` is HWC uint8, `mask` is 0 / 255 (lesion). */
export interface _Rendered {
  rgb: Uint8Array;
  mask: Uint8Array;
}

/** Per-pixel values a class painter may use. */
interface _Px {
  /** Normalised radius, < 1 inside the lesion, 0 at its centre. */
  u: number;
  /** Angle around the lesion centre (in the lesion's rotated frame). */
  theta: number;
  /** Position in units of S. */
  sx: number;
  sy: number;
  /** Pixel coordinates. */
  x: number;
  y: number;
  /** VASC: index of the nearest lobule and gap to the second nearest (septa). */
  lobule: number;
  gap: number;
}

type Painter = (p: _Px) => Rgb;

const _mix = (a: Rgb, b: Rgb, t: number): Rgb => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];

/** Fractal sum of `octaves` value noises, in [0, 1]. */
function _fbm(rng: Rng, freq: number, octaves: number): (sx: number, sy: number) => number {
  const layers = Array.from({ length: octaves }, (_, k) => _valueNoise(rng, freq * 2 ** k));
  const norm = 2 - 2 ** (1 - octaves);
  return (sx, sy) => {
    let s = 0;
    for (let k = 0; k < octaves; k++) s += layers[k](sx, sy) * 0.5 ** k;
    return s / norm;
  };
}

/** Flat list of segments (x0, y0, x1, y1, …) of a polyline through `points`. */
function _polylineSegments(points: number[][], out: number[]): void {
  for (let i = 0; i + 1 < points.length; i++) {
    out.push(points[i][0], points[i][1], points[i + 1][0], points[i + 1][1]);
  }
}

/** Distance from (x, y) to the nearest of the segments, or `Infinity` if all are beyond `cutoff`. */
function _segmentDistance(seg: readonly number[], x: number, y: number, cutoff: number): number {
  let best = cutoff * cutoff;
  for (let i = 0; i < seg.length; i += 4) {
    const ax = seg[i], ay = seg[i + 1], bx = seg[i + 2], by = seg[i + 3];
    if (
      x < Math.min(ax, bx) - cutoff || x > Math.max(ax, bx) + cutoff ||
      y < Math.min(ay, by) - cutoff || y > Math.max(ay, by) + cutoff
    ) continue;
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
    t = Math.min(1, Math.max(0, t));
    const ex = x - (ax + t * dx), ey = y - (ay + t * dy);
    const d2 = ex * ex + ey * ey;
    if (d2 < best) best = d2;
  }
  return best >= cutoff * cutoff ? Infinity : Math.sqrt(best);
}

/** Lesion size range (diameter as a fraction of S), boundary irregularity, edge softness (px at S = 96). */
const _SHAPES: Record<
  number,
  { size: [number, number]; irr: [number, number]; edge: [number, number]; elong: number }
> = {
  0: { size: [0.6, 0.9], irr: [0.1, 0.17], edge: [0.6, 1.2], elong: 1.5 }, // MEL
  1: { size: [0.4, 0.68], irr: [0.015, 0.045], edge: [1.5, 3], elong: 1.25 }, // NV
  2: { size: [0.4, 0.68], irr: [0.04, 0.09], edge: [1.5, 3], elong: 1.3 }, // BCC
  3: { size: [0.45, 0.75], irr: [0.07, 0.12], edge: [2, 4], elong: 1.4 }, // AKIEC
  4: { size: [0.5, 0.8], irr: [0.04, 0.08], edge: [0.5, 1], elong: 1.4 }, // BKL
  5: { size: [0.24, 0.4], irr: [0.015, 0.045], edge: [2, 4], elong: 1.2 }, // DF
  6: { size: [0.45, 0.7], irr: [0.02, 0.05], edge: [1, 2], elong: 1.2 }, // VASC (envelope)
};

/** Builds the class painter; draws all of its random parameters from `rng` up front. */
function _painter(
  cls: number,
  rng: Rng,
  scale: number,
  radiusPx: number,
  centre: number[],
): Painter {
  const tone = rng.range(0.8, 1.15);
  const jitter: Rgb = [rng.range(0.95, 1.05), rng.range(0.95, 1.05), rng.range(0.95, 1.05)];
  const shade = (
    c: Rgb,
  ): Rgb => [c[0] * tone * jitter[0], c[1] * tone * jitter[1], c[2] * tone * jitter[2]];
  switch (cls) {
    case 0: { // MEL
      const n1 = _fbm(rng, 3, 3),
        n2 = _fbm(rng, 4, 3),
        n3 = _fbm(rng, 3.5, 2),
        net = _valueNoise(rng, 22);
      const blueT = rng.range(0.52, 0.62), redT = rng.range(0.55, 0.68);
      const brown = shade([0.36, 0.21, 0.13]), black = shade([0.11, 0.08, 0.08]);
      const blue = shade([0.42, 0.47, 0.58]), red = shade([0.66, 0.29, 0.26]);
      const light = shade([0.56, 0.37, 0.25]);
      return (p) => {
        let c = _mix(light, brown, _smoothstep(0.2, 0.55, n1(p.sx, p.sy) + 0.25 * (1 - p.u)));
        c = _mix(c, black, _smoothstep(0.5, 0.75, n1(p.sx + 3.1, p.sy) + 0.15 * (1 - p.u)));
        c = _mix(c, blue, 0.85 * _smoothstep(blueT, blueT + 0.12, n2(p.sx, p.sy)));
        c = _mix(
          c,
          red,
          0.8 * _smoothstep(redT, redT + 0.1, n3(p.sx, p.sy)) * _smoothstep(0.3, 0.8, p.u),
        );
        const k = 0.9 + 0.2 * net(p.sx, p.sy);
        return [c[0] * k, c[1] * k, c[2] * k];
      };
    }
    case 1: { // NV
      const net = _valueNoise(rng, 26), darkCentre = rng.range(0.05, 0.2);
      const brown = shade([0.5, 0.32, 0.2]);
      return (p) => {
        const k = (1 - darkCentre * (1 - p.u)) * (0.95 + 0.1 * net(p.sx, p.sy));
        return [brown[0] * k, brown[1] * k, brown[2] * k];
      };
    }
    case 2: { // BCC
      const pearlN = _fbm(rng, 5, 2), pearlT = rng.range(0.5, 0.62);
      const pink = shade([0.88, 0.62, 0.62]), pearl = shade([0.98, 0.91, 0.9]);
      const vessel: Rgb = [0.7 * jitter[0], 0.1, 0.15];
      const seg: number[] = [];
      const branches = 3 + rng.int(3);
      for (let b = 0; b < branches; b++) {
        let a = rng.range(0, 2 * Math.PI);
        let r0 = rng.range(0, 0.4) * radiusPx;
        let x = centre[0] + r0 * Math.cos(a), y = centre[1] + r0 * Math.sin(a);
        const pts = [[x, y]];
        const steps = 4 + rng.int(4);
        for (let s = 0; s < steps; s++) {
          a += rng.normal() * 0.6;
          r0 = radiusPx * rng.range(0.12, 0.22);
          x += r0 * Math.cos(a);
          y += r0 * Math.sin(a);
          pts.push([x, y]);
          if (rng.uniform() < 0.3) { // a side branch
            const sa = a + (rng.uniform() < 0.5 ? 1 : -1) * rng.range(0.5, 1.1);
            const sl = radiusPx * rng.range(0.1, 0.2);
            seg.push(x, y, x + sl * Math.cos(sa), y + sl * Math.sin(sa));
          }
        }
        _polylineSegments(pts, seg);
      }
      const width = Math.max(0.55, 0.6 * scale);
      return (p) => {
        let c = _mix(pink, pearl, 0.75 * _smoothstep(pearlT, pearlT + 0.15, pearlN(p.sx, p.sy)));
        const d = _segmentDistance(seg, p.x, p.y, 4 * width);
        c = _mix(c, vessel, 0.9 * Math.exp(-(d * d) / (width * width)) * _smoothstep(1, 0.8, p.u));
        return c;
      };
    }
    case 3: { // AKIEC
      const rough = _fbm(rng, 16, 2), blotch = _fbm(rng, 4, 2), flakes = _valueNoise(rng, 12);
      const red = shade([0.8, 0.41, 0.35]), deep = shade([0.66, 0.26, 0.24]);
      const scale_ = shade([0.93, 0.87, 0.8]);
      const flakeT = rng.range(0.62, 0.72);
      return (p) => {
        let c = _mix(red, deep, _smoothstep(0.35, 0.7, blotch(p.sx, p.sy)));
        const k = 0.8 + 0.4 * rough(p.sx, p.sy);
        c = [c[0] * k, c[1] * k, c[2] * k];
        return _mix(c, scale_, 0.85 * _smoothstep(flakeT, flakeT + 0.08, flakes(p.sx, p.sy)));
      };
    }
    case 4: { // BKL
      const mottle = _fbm(rng, 7, 3), milia = _valueNoise(rng, 15), miliaT = rng.range(0.8, 0.88);
      const tan = shade([0.68, 0.5, 0.34]), light = shade([0.8, 0.66, 0.52]);
      const dark = shade([0.52, 0.37, 0.25]), pale = shade([0.92, 0.88, 0.77]);
      return (p) => {
        const m = mottle(p.sx, p.sy);
        let c = m < 0.5
          ? _mix(dark, tan, _smoothstep(0.25, 0.5, m))
          : _mix(tan, light, _smoothstep(0.5, 0.75, m));
        c = _mix(c, pale, 0.9 * _smoothstep(miliaT, miliaT + 0.05, milia(p.sx, p.sy)));
        return c;
      };
    }
    case 5: { // DF
      const inner = rng.range(0.3, 0.45), net = _valueNoise(rng, 20);
      const brown = shade([0.54, 0.36, 0.25]),
        pale = _mix(brown, shade([0.94, 0.87, 0.83]), rng.range(0.7, 1));
      return (p) => {
        const c = _mix(pale, brown, _smoothstep(inner, inner + 0.3, p.u));
        const k = 0.94 + 0.12 * net(p.sx, p.sy);
        return [c[0] * k, c[1] * k, c[2] * k];
      };
    }
    default: { // VASC
      const red = shade([0.72, 0.13, 0.22]), purple = shade([0.44, 0.15, 0.42]);
      const septum = shade([0.86, 0.6, 0.62]);
      const mixes = Array.from({ length: 12 }, () => rng.uniform());
      return (p) => {
        let c = _mix(red, purple, mixes[p.lobule % mixes.length]);
        const k = 0.78 + 0.22 * p.u;
        c = [c[0] * k, c[1] * k, c[2] * k];
        return _mix(c, septum, 0.8 * _smoothstep(0.12, 0.0, p.gap));
      };
    }
  }
}

/**
 * Paints one image of class `cls` (index into ISIC2018_CLASSES) at `width`×`height`.
 * All randomness comes from `rng`, consumed in a fixed order.
 */
export function _renderLesion(rng: Rng, cls: number, width: number, height: number): _Rendered {
  const S = Math.min(width, height);
  const scale = S / 96;
  const shapeRng = rng.fork("shape"), skinRng = rng.fork("skin"), hairRng = rng.fork("hair");
  const paintRng = rng.fork("paint"), lightRng = rng.fork("light"), noiseRng = rng.fork("noise");

  // Lesion geometry.
  const spec = _SHAPES[cls] ?? _SHAPES[6];
  const R = (shapeRng.range(spec.size[0], spec.size[1]) * S) / 2;
  const irr = shapeRng.range(spec.irr[0], spec.irr[1]);
  const edgePx = shapeRng.range(spec.edge[0], spec.edge[1]) * scale;
  const elong = shapeRng.range(1, spec.elong);
  const rot = shapeRng.range(0, Math.PI);
  const slackX = Math.max(0.03 * S, width / 2 - R), slackY = Math.max(0.03 * S, height / 2 - R);
  const cx = width / 2 + shapeRng.range(-0.6, 0.6) * slackX;
  const cy = height / 2 + shapeRng.range(-0.6, 0.6) * slackY;
  const harmonics: number[] = []; // flat (k, amplitude, phase) triples
  for (let k = 2; k <= 8; k++) {
    harmonics.push(k, (irr * shapeRng.normal()) / Math.sqrt(k - 1), shapeRng.range(0, 2 * Math.PI));
  }
  const lobes: number[][] = []; // VASC: [x, y, r]
  if (cls === 6) {
    const m = 3 + shapeRng.int(5);
    for (let i = 0; i < m; i++) {
      const a = shapeRng.range(0, 2 * Math.PI), d = shapeRng.range(0, 0.6) * R;
      lobes.push([cx + d * Math.cos(a), cy + d * Math.sin(a), shapeRng.range(0.35, 0.6) * R]);
    }
  }
  const cosR = Math.cos(rot), sinR = Math.sin(rot);
  const paint = _painter(cls, paintRng, scale, R, [cx, cy]);

  // Skin.
  const skinT = skinRng.uniform();
  const skin = _mix([0.93, 0.77, 0.67], [0.74, 0.53, 0.4], skinT);
  const skinJ: Rgb = [
    skinRng.range(0.97, 1.03),
    skinRng.range(0.97, 1.03),
    skinRng.range(0.97, 1.03),
  ];
  const skinTex = _fbm(skinRng, 4, 3),
    pores = _valueNoise(skinRng, 30),
    redness = _fbm(skinRng, 2, 2);
  const rednessAmt = skinRng.range(0, 0.08);

  // Hair: 0–3 dark quadratic curves crossing the image.
  const hairSeg: number[] = [];
  const hairs = hairRng.uniform() < 0.5 ? 0 : 1 + hairRng.int(3);
  for (let h = 0; h < hairs; h++) {
    const p0 = [hairRng.range(-0.1, 1.1) * width, hairRng.range(-0.1, 1.1) * height];
    const p2 = [hairRng.range(-0.1, 1.1) * width, hairRng.range(-0.1, 1.1) * height];
    const p1 = [hairRng.range(0, 1) * width, hairRng.range(0, 1) * height];
    const pts: number[][] = [];
    for (let i = 0; i <= 24; i++) {
      const t = i / 24, a = (1 - t) ** 2, b = 2 * t * (1 - t), c = t * t;
      pts.push([a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]]);
    }
    _polylineSegments(pts, hairSeg);
  }
  const hairW = hairRng.range(0.45, 0.8) * Math.max(1, scale);
  const hairColour: Rgb = _mix([0.16, 0.11, 0.08], [0.35, 0.27, 0.2], hairRng.uniform());

  // Lighting: a linear gradient and a dermoscope's circular vignette.
  const gA = lightRng.range(0, 2 * Math.PI), gS = lightRng.range(0.04, 0.14);
  const vig = lightRng.range(0.05, 0.45), vigR = lightRng.range(0.85, 1.15);
  const sensor = lightRng.range(0.004, 0.012);

  const rgb = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height);
  const px: _Px = { u: 0, theta: 0, sx: 0, sy: 0, x: 0, y: 0, lobule: 0, gap: 1 };
  const halfDiag = Math.hypot(width, height) / 2;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const x = i + 0.5, y = j + 0.5, sx = x / S, sy = y / S;
      // Skin colour with texture and blotchy redness.
      const t = 0.92 + 0.16 * skinTex(sx, sy) + 0.05 * (pores(sx, sy) - 0.5);
      const red = rednessAmt * redness(sx, sy);
      let c: Rgb = [
        skin[0] * skinJ[0] * t,
        skin[1] * skinJ[1] * t * (1 - red),
        skin[2] * skinJ[2] * t * (1 - red),
      ];
      // Lesion.
      let u: number, theta: number, lobule = 0, gap = 1;
      if (cls === 6) {
        let best = Infinity, second = Infinity;
        for (let l = 0; l < lobes.length; l++) {
          const ex = x - lobes[l][0], ey = y - lobes[l][1];
          const v = Math.sqrt(ex * ex + ey * ey) / lobes[l][2];
          if (v < best) {
            second = best;
            best = v;
            lobule = l;
          } else if (v < second) second = v;
        }
        u = best;
        gap = second - best;
        theta = 0;
      } else {
        const dx = x - cx, dy = y - cy;
        const qx = dx * cosR + dy * sinR, qy = (-dx * sinR + dy * cosR) * elong;
        theta = Math.atan2(qy, qx);
        let f = 1;
        for (let h = 0; h < harmonics.length; h += 3) {
          f += harmonics[h + 1] * Math.cos(harmonics[h] * theta + harmonics[h + 2]);
        }
        u = Math.sqrt(qx * qx + qy * qy) / (R * Math.max(0.35, f));
      }
      if (u < 1) {
        mask[j * width + i] = 255;
        px.u = u;
        px.theta = theta;
        px.sx = sx;
        px.sy = sy;
        px.x = x;
        px.y = y;
        px.lobule = lobule;
        px.gap = gap;
        const radiusHere = cls === 6 ? lobes[lobule][2] : R;
        const alpha = _smoothstep(1, 1 - Math.min(0.6, edgePx / radiusHere), u);
        c = _mix(c, paint(px), alpha);
      }
      // Hair.
      if (hairSeg.length > 0) {
        const d = _segmentDistance(hairSeg, x, y, 4 * hairW);
        if (d < Infinity) c = _mix(c, hairColour, 0.9 * Math.exp(-(d * d) / (hairW * hairW)));
      }
      // Lighting and sensor noise.
      const g = 1 +
        gS * (((x - width / 2) * Math.cos(gA) + (y - height / 2) * Math.sin(gA)) / halfDiag);
      const v = 1 -
        vig *
          _smoothstep(
            0.7 * vigR,
            1.05 * vigR,
            Math.sqrt((x - width / 2) ** 2 + (y - height / 2) ** 2) / halfDiag,
          );
      const o = (j * width + i) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const value = c[ch] * g * v + sensor * noiseRng.normal();
        rgb[o + ch] = Math.round(Math.min(1, Math.max(0, value)) * 255);
      }
    }
  }
  return { rgb, mask };
}
