/**
 * Convolutions into a few output channels (an image network's last layer: 3 colours, 1 grey
 * level), forward and filter gradient, as convolutions into many.
 *
 * oneDNN's convolution kernels work on blocks of 16 output channels (a vector), so a convolution
 * into 3 channels costs what one into 16 costs: at 8×64×64, a 32→3 9×9 forward takes 8 ms (62
 * GFLOP/s on 2 cores, where its 32→32 3×3 convolutions run at 350) and its filter gradient 7 ms.
 * Both are the same products as a 1×kw convolution into kh·cout channels (one group of cout per
 * filter row), whose output rows, shifted by their filter row, add up to the convolution's:
 *
 *   y[b, i, j, c] = Σ_r T[b, i + r − top, j, r·cout + c],
 *   T = conv_{1×kw}(x, W′), W′[0, s, ci, r·cout + c] = W[r, s, ci, c].
 *
 * oneDNN runs that 1×kw convolution at about 250 GFLOP/s (2 ms), and the shifted sum is one JS
 * pass over kh·cout values a pixel (about 1.3 ms here: smaller filters do not pay it back, see
 * {@link narrowOutputConv}). The filter gradient is the 1×kw filter gradient with `dy`
 * shifted into the same kh·cout channels, dT[b, i′, j, r·cout + c] = dy[b, i′ − r + top, j, c].
 * The backward-data convolution writes inC channels and needs none of this.
 *
 * The results equal the direct convolution's up to float rounding (the sums run in another
 * order; the rows' sum in float64). Internal to the onednn backend.
 *
 * @module
 */

import { convBackwardWeights, convForward, type ConvGeometry, type F32 } from "./_dnnl.ts";

/** Output channels up to this many take the row-split path. */
const _MAX_OUT = 4;

/** Scratch buffers: an allocator and a way to hand them back. */
export interface NarrowScratch {
  alloc(n: number): F32;
  release(a: F32): void;
}

/** Calls of the row-split path (for tests: that a narrow convolution took it). */
export const narrowConvCalls = { forward: 0, filter: 0 };

/**
 * Filter taps × input channels from which the row split pays: measured at 8×32×32 and 8×64×64
 * into 3 channels, on one and two threads, it wins from 32 channels 5×5 (800; 0.69 → 0.60 ms
 * forward on two threads), loses at 16 channels 5×5 (0.31 → 0.43 ms), and at 32 channels 9×9
 * takes 8.0 → 3.1 ms forward and 6.6 → 2.9 ms for the filter gradient (8×64×64).
 */
const _MIN_TAPS_CHANNELS = 800;

/**
 * True if `g` is a convolution this module runs faster than oneDNN does directly: at most
 * {@link _MAX_OUT} output channels, at least {@link _MIN_TAPS_CHANNELS} filter taps × input
 * channels, a filter at least 3 rows tall, unit strides and dilations.
 */
export function narrowOutputConv(g: ConvGeometry): boolean {
  return g.outC <= _MAX_OUT && g.kh * g.kw * g.inC >= _MIN_TAPS_CHANNELS && g.kh >= 3 &&
    g.strides[0] === 1 && g.strides[1] === 1 && g.dilations[0] === 1 && g.dilations[1] === 1;
}

/** The 1×kw convolution into kh·outC channels behind `g`. */
function _rows(g: ConvGeometry): ConvGeometry {
  return {
    ...g,
    kh: 1,
    outH: g.inH,
    outC: g.kh * g.outC,
    pad: [0, 0, g.pad[2], g.pad[3]],
  };
}

/**
 * `y = conv(x, w) + bias` for a {@link narrowOutputConv} geometry (see the module doc).
 *
 * @param g Geometry.
 * @param x Input, NHWC.
 * @param w Filter `[kh, kw, inC, outC]`.
 * @param bias Per-output-channel bias, or null.
 * @param y Output, NHWC (written).
 * @param scratch Where the kh·outC-channel intermediate comes from.
 */
export function narrowConvForward(
  g: ConvGeometry,
  x: F32,
  w: F32,
  bias: F32 | null,
  y: F32,
  scratch: NarrowScratch,
): void {
  const r = _rows(g);
  const { kh, kw, inC, outC, outH, outW, inH } = g;
  const k = r.outC;
  // W′[0, s, ci, row·outC + c] = W[row, s, ci, c]
  const w2 = scratch.alloc(kw * inC * k);
  for (let row = 0; row < kh; row++) {
    for (let s = 0; s < kw; s++) {
      for (let ci = 0; ci < inC; ci++) {
        const from = ((row * kw + s) * inC + ci) * outC, to = (s * inC + ci) * k + row * outC;
        for (let c = 0; c < outC; c++) w2[to + c] = w[from + c];
      }
    }
  }
  const t = scratch.alloc(g.n * inH * outW * k);
  convForward(r, x, w2, null, t);
  const top = g.pad[0];
  // Per output row, where each contributing filter row's channels start in T (one stream each).
  const from = new Int32Array(kh);
  for (let b = 0; b < g.n; b++) {
    for (let i = 0; i < outH; i++) {
      let rows = 0;
      for (let row = 0; row < kh; row++) {
        const src = i + row - top;
        if (src >= 0 && src < inH) from[rows++] = ((b * inH + src) * outW) * k + row * outC;
      }
      for (let j = 0, o = (b * outH + i) * outW * outC; j < outW; j++) {
        const at = j * k;
        for (let c = 0; c < outC; c++) {
          let sum = 0;
          for (let q = 0; q < rows; q++) sum += t[from[q] + at + c];
          y[o++] = sum + (bias === null ? 0 : bias[c]);
        }
      }
    }
  }
  scratch.release(t);
  scratch.release(w2);
  narrowConvCalls.forward++;
}

/**
 * The filter gradient `dw` of a {@link narrowOutputConv} geometry (see the module doc).
 *
 * @param g Geometry of the forward convolution.
 * @param x Its input, NHWC.
 * @param dy The gradient of its output, NHWC.
 * @param dw The filter gradient `[kh, kw, inC, outC]` (written).
 * @param scratch Where the shifted `dy` and the 1×kw gradient come from.
 */
export function narrowConvBackwardWeights(
  g: ConvGeometry,
  x: F32,
  dy: F32,
  dw: F32,
  scratch: NarrowScratch,
): void {
  const r = _rows(g);
  const { kh, kw, inC, outC, outH, outW, inH } = g;
  const k = r.outC;
  const top = g.pad[0];
  // dT[b, i′, j, row·outC + c] = dy[b, i′ − row + top, j, c], zero where that row is outside.
  const dt = scratch.alloc(g.n * inH * outW * k);
  for (let b = 0; b < g.n; b++) {
    for (let i2 = 0; i2 < inH; i2++) {
      const base = ((b * inH + i2) * outW) * k;
      for (let row = 0; row < kh; row++) {
        const i = i2 - row + top;
        if (i < 0 || i >= outH) {
          for (let j = 0, to = base + row * outC; j < outW; j++, to += k) {
            for (let c = 0; c < outC; c++) dt[to + c] = 0;
          }
          continue;
        }
        for (
          let j = 0, to = base + row * outC, from = ((b * outH + i) * outW) * outC;
          j < outW;
          j++
        ) {
          for (let c = 0; c < outC; c++) dt[to + c] = dy[from++];
          to += k;
        }
      }
    }
  }
  const dw2 = scratch.alloc(kw * inC * k);
  convBackwardWeights(r, x, dt, dw2);
  for (let row = 0; row < kh; row++) {
    for (let s = 0; s < kw; s++) {
      for (let ci = 0; ci < inC; ci++) {
        const to = ((row * kw + s) * inC + ci) * outC, from = (s * inC + ci) * k + row * outC;
        for (let c = 0; c < outC; c++) dw[to + c] = dw2[from + c];
      }
    }
  }
  scratch.release(dt);
  scratch.release(dw2);
  narrowConvCalls.filter++;
}
