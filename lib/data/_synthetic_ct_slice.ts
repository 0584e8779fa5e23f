/**
 * Internal: paints one synthetic axial chest-CT slice (greyscale, lung window),
 * deterministically from an {@linkcode Rng}, for {@linkcode generateSyntheticCovidCt}.
 *
 * Anatomy, in "body" coordinates where the body outline is the unit disk (so the
 * picture stretches with the image's aspect ratio, like the variously cropped
 * figures of the real set): black air around a soft-tissue ellipse with a darker
 * subcutaneous fat ring; two dark lungs (ellipses, the left one notched by the
 * heart); mediastinum and heart (mid grey) with a brighter aorta; a bright
 * vertebral body with a dark spinal canal, a sternum, and 8–12 ribs near the body
 * outline; small bright vessel dots inside both lungs. Both classes share all of it.
 *
 * COVID slices add ground-glass opacities (GGO): hazy, textured, brighter patches
 * clipped to the lungs, placed peripherally (70–100% of the way to the lung's
 * outline, biased laterally and posteriorly) and usually bilateral (85%); their
 * `extent` in [0, 1] sets the number of patches per lung (1–5) and their size, so
 * some cases are subtle. Non-COVID slices get, in 30% of cases, one or two small
 * dense round nodules instead (compact, unlike the hazy GGO), so that "anything
 * bright in a lung" is not the rule.
 *
 * Then a random window (level/width and gamma, as figures cut from different
 * papers differ) and Gaussian noise of standard deviation 0.01–0.03.
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";
import { _valueNoise } from "./_synthetic_noise.ts";

/** A rendered slice: `grey` is HW uint8; `ggoFraction` the lung fraction with GGO (0 for non-COVID). */
export interface _CtSlice {
  grey: Uint8Array;
  ggoFraction: number;
}

interface _Ellipse {
  cx: number;
  cy: number;
  ax: number;
  ay: number;
}

const _inEllipse = (e: _Ellipse, x: number, y: number): number =>
  ((x - e.cx) / e.ax) ** 2 + ((y - e.cy) / e.ay) ** 2;

/**
 * Renders one slice of `width` × `height` pixels.
 *
 * @param rng Generator of this image (forked per image by the caller).
 * @param covid Whether to add ground-glass opacities.
 * @param width Image width in pixels.
 * @param height Image height in pixels.
 * @returns The greyscale pixels and the GGO lung fraction.
 */
export function _renderCtSlice(rng: Rng, covid: boolean, width: number, height: number): _CtSlice {
  const body: _Ellipse = {
    cx: 0.5 + rng.range(-0.02, 0.02),
    cy: 0.5 + rng.range(-0.02, 0.03),
    ax: rng.range(0.38, 0.47),
    ay: rng.range(0.3, 0.4),
  };
  const lungs: _Ellipse[] = [-1, 1].map((side) => ({
    cx: side * rng.range(0.42, 0.48),
    cy: rng.range(-0.1, 0.0),
    ax: rng.range(0.3, 0.36),
    ay: rng.range(0.55, 0.66),
  }));
  const heart: _Ellipse = {
    cx: rng.range(0.05, 0.15),
    cy: rng.range(0.05, 0.2),
    ax: rng.range(0.28, 0.34),
    ay: rng.range(0.26, 0.32),
  };
  const aorta: _Ellipse = { cx: -0.1, cy: 0.45, ax: 0.09, ay: 0.11 };
  const vertebra: _Ellipse = { cx: 0, cy: 0.7, ax: 0.14, ay: 0.13 };
  const canal: _Ellipse = { cx: 0, cy: 0.88, ax: 0.06, ay: 0.05 };
  const sternum: _Ellipse = { cx: 0, cy: -0.9, ax: 0.08, ay: 0.04 };
  const ribs: _Ellipse[] = [];
  const nRibs = 8 + rng.int(5);
  for (let k = 0; k < nRibs; k++) {
    // Angles on both sides, away from the sternum (top) and spine (bottom).
    const side = k % 2 === 0 ? 1 : -1;
    const t = rng.range(-1.2, 1.3);
    const a = side > 0 ? t : Math.PI - t;
    ribs.push({ cx: 0.9 * Math.cos(a), cy: 0.9 * Math.sin(a), ax: 0.05, ay: 0.035 });
  }
  const texture = _valueNoise(rng.fork("texture"), 12, 32);
  const haze = _valueNoise(rng.fork("haze"), 18, 32);

  const toBody = (x: number, y: number): [number, number] => [
    ((x + 0.5) / width - body.cx) / body.ax,
    ((y + 0.5) / height - body.cy) / body.ay,
  ];
  const inLung = (bx: number, by: number): boolean =>
    _inEllipse(heart, bx, by) >= 1 && lungs.some((l) => _inEllipse(l, bx, by) < 1);

  // Base anatomy.
  const img = new Float64Array(width * height);
  const lungMask = new Uint8Array(width * height);
  let lungPixels = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [bx, by] = toBody(x, y);
      const r2 = bx * bx + by * by;
      let v = 0.02;
      if (r2 < 1) {
        v = r2 > 0.85 ? 0.3 : 0.5; // fat ring, muscle
        v += 0.03 * (texture(bx, by) - 0.5);
        if (inLung(bx, by)) {
          v = 0.07 + 0.04 * texture(bx * 2, by * 2);
          lungMask[y * width + x] = 1;
          lungPixels++;
        } else if (_inEllipse(aorta, bx, by) < 1) v = 0.62;
        else if (_inEllipse(canal, bx, by) < 1) v = 0.3;
        else if (_inEllipse(vertebra, bx, by) < 1) v = 0.88;
        else if (_inEllipse(sternum, bx, by) < 1) v = 0.8;
        else if (ribs.some((e) => _inEllipse(e, bx, by) < 1)) v = 0.82;
        else if (_inEllipse(heart, bx, by) < 1) v = 0.52;
      }
      img[y * width + x] = v;
    }
  }

  /** Adds `amount * profile(d)` inside the lungs over a blob's bounding box (body coords). */
  const stamp = (
    cx: number,
    cy: number,
    radius: number,
    amount: (d2: number, bx: number, by: number) => number,
  ): number => {
    const px0 = Math.max(0, Math.floor((body.cx + (cx - radius) * body.ax) * width));
    const px1 = Math.min(width - 1, Math.ceil((body.cx + (cx + radius) * body.ax) * width));
    const py0 = Math.max(0, Math.floor((body.cy + (cy - radius) * body.ay) * height));
    const py1 = Math.min(height - 1, Math.ceil((body.cy + (cy + radius) * body.ay) * height));
    let touched = 0;
    for (let y = py0; y <= py1; y++) {
      for (let x = px0; x <= px1; x++) {
        const i = y * width + x;
        if (!lungMask[i]) continue;
        const [bx, by] = toBody(x, y);
        const d2 = ((bx - cx) ** 2 + (by - cy) ** 2) / (radius * radius);
        if (d2 >= 1) continue;
        const a = amount(d2, bx, by);
        img[i] += a;
        if (a > 0.04) touched++;
      }
    }
    return touched;
  };

  // Vessels: small bright dots in both lungs (both classes).
  for (const lung of lungs) {
    const n = 12 + rng.int(14);
    for (let k = 0; k < n; k++) {
      const a = rng.range(0, 2 * Math.PI), r = Math.sqrt(rng.uniform()) * 0.9;
      const cx = lung.cx + r * lung.ax * Math.cos(a), cy = lung.cy + r * lung.ay * Math.sin(a);
      const rad = rng.range(0.015, 0.035), peak = rng.range(0.25, 0.45);
      stamp(cx, cy, rad, (d2) => peak * (1 - d2));
    }
  }

  let ggoFraction = 0;
  const nodules = rng.fork("nodules");
  if (covid) {
    const g = rng.fork("ggo");
    const extent = g.uniform();
    const bilateral = g.uniform() < 0.85;
    const first = g.int(2);
    const perLung = 1 + Math.round(extent * 4);
    const ggo = new Uint8Array(width * height);
    for (let s = 0; s < 2; s++) {
      if (!bilateral && s !== first) continue;
      const lung = lungs[s], side = s === 0 ? -1 : 1;
      for (let k = 0; k < perLung; k++) {
        // Peripheral: 70–100% of the way to the outline, on the lateral/posterior side.
        const a = side > 0 ? g.range(-1.2, 1.9) : Math.PI - g.range(-1.2, 1.9);
        const r = g.range(0.7, 1.0);
        const cx = lung.cx + r * lung.ax * Math.cos(a), cy = lung.cy + r * lung.ay * Math.sin(a);
        const rad = g.range(0.12, 0.22) * (0.6 + 0.9 * extent);
        const strength = g.range(0.14, 0.26);
        stamp(cx, cy, rad, (d2, bx, by) => {
          const v = strength * Math.exp(-2.5 * d2) * (0.55 + 0.45 * haze(bx, by));
          if (v > 0.04) {
            const x = Math.round((body.cx + bx * body.ax) * width - 0.5);
            const y = Math.round((body.cy + by * body.ay) * height - 0.5);
            ggo[y * width + x] = 1;
          }
          return v;
        });
      }
    }
    let n = 0;
    for (let i = 0; i < ggo.length; i++) n += ggo[i];
    ggoFraction = lungPixels ? n / lungPixels : 0;
    // Cap the haze so overlapping patches stay ground-glass, not consolidation.
    for (let i = 0; i < img.length; i++) {
      if (lungMask[i] && img[i] > 0.55) img[i] = 0.55;
    }
  } else if (nodules.uniform() < 0.3) {
    const g = nodules;
    const count = 1 + g.int(2);
    for (let k = 0; k < count; k++) {
      const lung = lungs[g.int(2)];
      const a = g.range(0, 2 * Math.PI), r = Math.sqrt(g.uniform()) * 0.7;
      const cx = lung.cx + r * lung.ax * Math.cos(a), cy = lung.cy + r * lung.ay * Math.sin(a);
      const rad = g.range(0.04, 0.06), peak = g.range(0.4, 0.5);
      stamp(cx, cy, rad, (d2) => (d2 < 0.7 ? peak : 0));
    }
  }

  // Window, gamma, noise, quantise.
  const lo = rng.range(-0.03, 0.03), hi = rng.range(0.9, 1.05), gamma = rng.range(0.85, 1.15);
  const sigma = rng.range(0.01, 0.03);
  const noise = rng.fork("noise");
  const grey = new Uint8Array(width * height);
  for (let i = 0; i < img.length; i++) {
    const w = Math.min(1, Math.max(0, (img[i] - lo) / (hi - lo)));
    const v = w ** gamma + sigma * noise.normal();
    grey[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return { grey, ggoFraction };
}
