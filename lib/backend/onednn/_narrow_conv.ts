/**
 * Convolutions into a few output channels (an image network's last layer: 3 colours, 1 grey
 * level), forward and filter gradient, as convolutions into many.
 *
 * oneDNN's convolution kernels work on blocks of 16 output channels (a vector), so a convolution
 * into 3 channels costs what one into 16 costs: at 8×64×64, a 32→3 9×9 forward takes 8 ms (62
 * GFLOP/s on 2 cores, where its 32→32 3×3 convolutions run at 350) and its filter gradient 7 ms.
 * The forward pass is the same products as a 1×kw convolution into kh·cout channels (one group of
 * cout per filter row), whose output rows, shifted by their filter row, add up to the
 * convolution's:
 *
 *   y[b, i, j, c] = Σ_r T[b, i + r − top, j, r·cout + c],
 *   T = conv_{1×kw}(x, W′), W′[0, s, ci, r·cout + c] = W[r, s, ci, c].
 *
 * oneDNN runs that 1×kw convolution at about 250 GFLOP/s (2 ms), and the shifted sum is one JS
 * pass over kh·cout values a pixel (about 1.3 ms here: smaller filters do not pay it back, see
 * {@link narrowOutputConv}). The filter gradient swaps the roles of the two images instead
 * ({@link narrowConvBackwardWeights}). The backward-data convolution writes inC channels and
 * needs none of this.
 *
 * The results equal the direct convolution's up to float rounding (the sums run in another
 * order; the rows' sum in float64). Internal to the onednn backend.
 *
 * @module
 */

import { convBackwardWeights, convForward, type ConvGeometry, type F32 } from "./_dnnl.ts";

/** Output channels up to this many take this module's paths. */
const _MAX_OUT = 4;

/** Scratch buffers: an allocator and a way to hand them back. */
export interface NarrowScratch {
  alloc(n: number): F32;
  release(a: F32): void;
}

/** Calls of the forward row split and of the swapped filter gradient (for tests). */
export const narrowConvCalls = { forward: 0, filter: 0 };

/**
 * Filter taps × input channels from which the row split pays: measured at 8×32×32 and 8×64×64
 * into 3 channels, on one and two threads, it wins from 32 channels 5×5 (800; 0.69 → 0.60 ms
 * forward on two threads), loses at 16 channels 5×5 (0.31 → 0.43 ms), and at 32 channels 9×9
 * takes 8.0 → 3.1 ms (8×64×64).
 */
const _MIN_TAPS_CHANNELS = 800;

/**
 * True if `g` is a convolution whose forward pass this module runs faster than oneDNN does
 * directly (the row split): at most
 * {@link _MAX_OUT} output channels, at least {@link _MIN_TAPS_CHANNELS} filter taps × input
 * channels, a filter at least 3 rows tall, unit strides and dilations.
 */
export function narrowOutputConv(g: ConvGeometry): boolean {
  return g.outC <= _MAX_OUT && g.kh * g.kw * g.inC >= _MIN_TAPS_CHANNELS && g.kh >= 3 &&
    g.strides[0] === 1 && g.strides[1] === 1 && g.dilations[0] === 1 && g.dilations[1] === 1;
}

/**
 * True if {@link narrowConvBackwardWeights} computes `g`'s filter gradient: at most
 * {@link _MAX_OUT} output channels and more input channels than output ones, unit strides and
 * dilations. Measured faster for every such filter tried, 3×3 to 9×9, 8 to 32 input channels,
 * 1 to 4 output channels, 8×32×32 and 8×64×64, one and two threads: 2.5–10× (16→3 5×5 at
 * 8×32×32: 0.31 → 0.13 ms on two threads, 0.47 → 0.12 ms on one).
 */
export function swappedFilterGradient(g: ConvGeometry): boolean {
  return g.outC <= _MAX_OUT && g.inC > g.outC && g.strides[0] === 1 && g.strides[1] === 1 &&
    g.dilations[0] === 1 && g.dilations[1] === 1;
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
  const bv = bias ?? new Float32Array(outC); // one array type in the loop: 2.5× faster than a test
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
          y[o++] = sum + bv[c];
        }
      }
    }
  }
  scratch.release(t);
  scratch.release(w2);
  narrowConvCalls.forward++;
}

/**
 * The filter gradient `dw` of a {@link swappedFilterGradient} geometry, as the filter gradient of
 * the convolution with the roles of the two images swapped: `dy` (outC channels) as its input
 * and `x` as its output's gradient, the filter flipped and the padding mirrored,
 *
 *   dw[r, s, ci, c] = Σ dy[b, i, j, c] · x[b, i + r − top, j + s − left, ci] = dw′[kh−1−r, kw−1−s, c, ci],
 *
 * which oneDNN runs at its full rate (a filter gradient from few input channels into many:
 * 1.8 ms at 8×64×64, 3 → 32 channels 9×9, where the direct one takes 6.6 ms).
 *
 * @param g Geometry of the forward convolution.
 * @param x Its input, NHWC.
 * @param dy The gradient of its output, NHWC.
 * @param dw The filter gradient `[kh, kw, inC, outC]` (written).
 * @param scratch Where the swapped filter gradient comes from.
 * @returns False, writing nothing, where a padding exceeds the filter (no mirrored padding).
 */
export function narrowConvBackwardWeights(
  g: ConvGeometry,
  x: F32,
  dy: F32,
  dw: F32,
  scratch: NarrowScratch,
): boolean {
  const { kh, kw, inC, outC } = g;
  const pad: [number, number, number, number] = [
    kh - 1 - g.pad[0],
    kh - 1 - g.pad[1],
    kw - 1 - g.pad[2],
    kw - 1 - g.pad[3],
  ];
  if (pad.some((p) => p < 0)) return false;
  const swapped: ConvGeometry = {
    ...g,
    inH: g.outH,
    inW: g.outW,
    inC: outC,
    outH: g.inH,
    outW: g.inW,
    outC: inC,
    pad,
  };
  const dw2 = scratch.alloc(kh * kw * outC * inC);
  convBackwardWeights(swapped, dy, x, dw2);
  for (let r = 0; r < kh; r++) {
    for (let s = 0; s < kw; s++) {
      const to = (r * kw + s) * inC * outC, from = ((kh - 1 - r) * kw + (kw - 1 - s)) * outC * inC;
      for (let ci = 0; ci < inC; ci++) {
        for (let c = 0; c < outC; c++) dw[to + ci * outC + c] = dw2[from + c * inC + ci];
      }
    }
  }
  scratch.release(dw2);
  narrowConvCalls.filter++;
  return true;
}
