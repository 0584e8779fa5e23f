/**
 * Internal: paints one synthetic apical echocardiography frame (CAMUS-like) and its label
 * map, deterministically from a patient's geometry and a speckle {@linkcode Rng}.
 *
 * Picture (row 0 at the top, as the loader returns it): a fan-shaped ultrasound sector with
 * its apex at the top centre, tissue speckle fading with depth, black outside the fan. The
 * left ventricle (LV, label 1) is a dark cavity hanging from near the probe, a truncated
 * ellipse whose long axis points down the sector; the myocardium (label 2) is a bright ring
 * around it, open at the base (mitral plane); the left atrium (LA, label 3) is a dark
 * ellipse below the base. Contraction goes from ED (`t = 0`) to ES (`t = 1`): the LV gets
 * shorter and narrower, the wall thicker, the atrium larger. 4CH views add a dark,
 * unlabelled right ventricle and atrium beside them (bright walls), and tilt the LV the
 * other way; 2CH views have tissue there. Image quality (Good / Medium / Poor) lowers the
 * contrast, adds haze and a dropout of the lateral wall. Lengths are in units of the image
 * height, so a patient looks the same at any size.
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";

/** Per-patient, per-view geometry, drawn once with {@linkcode _drawEchoGeometry}. */
export interface _EchoGeometry {
  view: "2CH" | "4CH";
  quality: 0 | 1 | 2;
  apexX: number;
  tilt: number;
  lvLength: number;
  lvWidth: number;
  wall: number;
  laLength: number;
  laWidth: number;
  /** ES length / ED length and ES width / ED width. */
  shortening: number;
  narrowing: number;
  wobble: [number, number, number, number];
  gain: number;
}

/** Draws the geometry of one patient's view. */
export function _drawEchoGeometry(
  rng: Rng,
  view: "2CH" | "4CH",
  quality: 0 | 1 | 2,
): _EchoGeometry {
  const u = (a: number, b: number) => a + (b - a) * rng.uniform();
  return {
    view,
    quality,
    apexX: u(-0.03, 0.03) + (view === "4CH" ? 0.05 : 0),
    tilt: (view === "4CH" ? -0.12 : 0.1) + u(-0.05, 0.05),
    lvLength: u(0.4, 0.48),
    lvWidth: view === "4CH" ? u(0.1, 0.13) : u(0.12, 0.15),
    wall: u(0.035, 0.05),
    laLength: u(0.09, 0.12),
    laWidth: u(0.08, 0.11),
    shortening: u(0.8, 0.9),
    narrowing: u(0.62, 0.78),
    wobble: [u(-1, 1), u(-1, 1), u(0, 6.3), u(0, 6.3)],
    gain: u(0.85, 1.15),
  };
}

/** A rendered frame: `image` uint8 greyscale, `label` 0–3, both row-major `[y][x]`. */
export interface _EchoFrame {
  image: Uint8Array;
  label: Uint8Array;
}

const _APEX_Y = 0.02;
const _DEPTH = 0.95;
const _HALF_ANGLE = 0.5;

/**
 * Renders one frame at contraction `t` (0 ED, 1 ES) of `width`×`height` pixels.
 * `rng` only drives the speckle.
 */
export function _renderEcho(
  g: _EchoGeometry,
  t: number,
  width: number,
  height: number,
  rng: Rng,
): _EchoFrame {
  const H = height, W = width;
  const len = g.lvLength * (1 - (1 - g.shortening) * t);
  const half = g.lvWidth * (1 - (1 - g.narrowing) * t);
  const wall = g.wall * (1 + 0.5 * t);
  const laLen = g.laLength * (1 + 0.2 * t), laHalf = g.laWidth * (1 + 0.15 * t);
  const lvApex = 0.13; // distance of the LV apex from the probe
  const ca = Math.cos(g.tilt), sa = Math.sin(g.tilt);
  const label = new Uint8Array(W * H);
  const base = new Float32Array(W * H);
  const contrast = [1, 0.7, 0.45][g.quality];
  const haze = [0.02, 0.08, 0.14][g.quality];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const px = (x + 0.5 - W / 2) / H, py = (y + 0.5) / H - _APEX_Y;
      const r = Math.hypot(px, py), phi = Math.atan2(px, py);
      const i = y * W + x;
      if (!(r < _DEPTH && Math.abs(phi) < _HALF_ANGLE && py > 0)) continue;
      // LV frame: s along the axis from the LV apex (0) to the base (len), d lateral.
      const qx = px - g.apexX, qy = py - lvApex;
      const s = qx * sa + qy * ca, d = qx * ca - qy * sa;
      const ang = Math.atan2(d, s - 0.6 * len);
      const wob = 1 + 0.05 * g.wobble[0] * Math.sin(2 * ang + g.wobble[2]) +
        0.04 * g.wobble[1] * Math.sin(3 * ang + g.wobble[3]);
      const a = 0.6 * len, b = half;
      const e = Math.hypot((s - a) / a, d / b) / wob;
      const eo = Math.hypot((s - a) / (a + wall), d / (b + wall)) / wob;
      let cls = 0;
      let v = 0.22; // tissue
      if (s <= len && e < 1) {
        cls = 1;
        v = 0.04;
      } else if (s <= len && eo < 1) {
        cls = 2;
        v = 0.72;
      } else {
        const la = Math.hypot((s - len - laLen) / laLen, d / laHalf);
        const laWall = Math.hypot((s - len - laLen) / (laLen + 0.02), d / (laHalf + 0.02));
        if (s > len && la < 1) {
          cls = 3;
          v = 0.05;
        } else if (s > len - 0.01 && laWall < 1) v = 0.45;
      }
      if (cls === 0 && g.view === "4CH") {
        // right heart on the image's left of the septum: RV beside the LV, RA below it.
        const off = b + wall + 0.1;
        const rv = Math.hypot((s - 0.55 * len) / (0.5 * len), (d + off) / 0.08);
        const ra = Math.hypot((s - len - laLen) / laLen, (d + off) / 0.08);
        if (rv < 1 || ra < 1) v = 0.05;
        else if (rv < 1.25 || ra < 1.2) v = 0.55;
      }
      if (cls === 2 && g.quality === 2 && d > 0 && s > 0.3 * len) v = 0.3; // lateral dropout
      label[i] = cls;
      base[i] = (v * contrast + haze) * g.gain * (1 - 0.45 * r / _DEPTH);
    }
  }
  // Speckle: Rayleigh amplitudes, 3×3 box-blurred (correlated grain), multiplying a
  // 3×3-blurred base map (soft edges).
  const speckle = new Float32Array(W * H);
  for (let i = 0; i < speckle.length; i++) {
    speckle[i] = Math.sqrt(-2 * Math.log(1 - rng.uniform())) / 1.2533;
  }
  const sb = _box(speckle, W, H), bb = _box(base, W, H);
  const image = new Uint8Array(W * H);
  const spread = [0.9, 1.1, 1.3][g.quality];
  for (let i = 0; i < image.length; i++) {
    if (base[i] === 0 && bb[i] === 0) continue;
    const val = bb[i] * (1 + spread * (sb[i] - 1) * 1.6);
    image[i] = Math.max(0, Math.min(255, Math.round(val * 255)));
  }
  return { image, label };
}

function _box(src: Float32Array, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let sum = 0, n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= W) continue;
          sum += src[yy * W + xx];
          n++;
        }
      }
      out[y * W + x] = sum / n;
    }
  }
  return out;
}
