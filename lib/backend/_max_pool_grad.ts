/**
 * The `MaxPoolGrad` loop shared by the wasm (`wasm_kernels.ts`) and onednn
 * (`onednn/_kernels.ts`) backends' replacement kernels: the same rule as the cpu kernel (the
 * first maximum of each window's valid, unpadded pixels, in row-major order, receives the
 * gradient, and gradients of overlapping windows add up), in one pass over NHWC float32 data.
 * Each backend reads its inputs, allocates the output and counts its calls itself.
 *
 * Internal to `lib/backend/`.
 *
 * @module
 */

import { backend_util, type MaxPoolGradAttrs } from "@tensorflow/tfjs-core";

/**
 * The pooling geometry of a `MaxPoolGrad` call.
 *
 * @param inputShape The NHWC shape of the forward pass's input.
 * @param attrs The kernel's attributes.
 * @returns The geometry, as `backend_util.computePool2DInfo` gives it.
 */
export function maxPoolGradInfo(
  inputShape: readonly number[],
  attrs: MaxPoolGradAttrs,
): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/**
 * Writes, for every output element of a 2-D max pooling, the index into `x` of its window's
 * maximum: the cpu kernel's rule (the first strictly larger value of the window's valid pixels,
 * in row-major order, starting from −∞, so that NaN never wins), or −1 where no value beats −∞
 * (an empty window, or only NaN and −∞).
 *
 * Branch-free in the common case: a window's running best index moves by `(x[k] > x[best]) ·
 * (k − best)`, channels innermost (contiguous). Data after a ReLU ties and flips at random, and a
 * branch per comparison mispredicted about half the time (3.5× slower at 8×64×64×16). A window
 * whose result is NaN or −∞ (its first pixel was NaN, or nothing beat −∞) is walked again
 * with the cpu kernel's loop.
 *
 * @param info The pooling geometry (`maxPoolGradInfo`, or `computePool2DInfo` in the forward).
 * @param x The pooling's input, NHWC float32.
 * @param pos One index per output element, NHWC (overwritten).
 *
 * @example
 * ```ts
 * import { maxPoolGradInfo, maxPoolPositions } from "./_max_pool_grad.ts";
 * const info = maxPoolGradInfo([1, 2, 2, 1], { filterSize: 2, strides: 2, pad: "valid" });
 * const pos = new Int32Array(1);
 * maxPoolPositions(info, new Float32Array([NaN, -2, -1, -1]), pos);
 * console.log(pos); // Int32Array(1) [ 2 ]
 * ```
 */
export function maxPoolPositions(
  info: backend_util.Conv2DInfo,
  x: Float32Array,
  pos: Int32Array,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const fh = info.effectiveFilterHeight, fw = info.effectiveFilterWidth;
  const { top, left } = info.padInfo;
  for (let bi = 0, o = 0; bi < n; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top;
      const yStart = Math.max(0, y0), yEnd = Math.min(h, y0 + fh);
      for (let ox = 0; ox < ow; ox++, o += c) {
        const x0 = ox * sw - left;
        const xStart = Math.max(0, x0), xEnd = Math.min(w, x0 + fw);
        if (yStart >= yEnd || xStart >= xEnd) {
          pos.fill(-1, o, o + c);
          continue;
        }
        const first = ((bi * h + yStart) * w + xStart) * c;
        for (let d = 0; d < c; d++) pos[o + d] = first + d;
        for (let y = yStart; y < yEnd; y++) {
          for (
            let k = ((bi * h + y) * w + xStart) * c, end = k + (xEnd - xStart) * c;
            k < end;
            k += c
          ) {
            for (let d = 0; d < c; d++) {
              const j = pos[o + d];
              pos[o + d] = j + +(x[k + d] > x[j]) * (k + d - j);
            }
          }
        }
        for (let d = 0; d < c; d++) {
          if (!(x[pos[o + d]] > Number.NEGATIVE_INFINITY)) {
            // NaN or −∞ won: the cpu kernel's loop, from −∞, for this channel.
            let best = Number.NEGATIVE_INFINITY, at = -1;
            for (let y = yStart; y < yEnd; y++) {
              for (let xx = xStart; xx < xEnd; xx++) {
                const k = ((bi * h + y) * w + xx) * c + d;
                if (x[k] > best) {
                  best = x[k];
                  at = k;
                }
              }
            }
            pos[o + d] = at;
          }
        }
      }
    }
  }
}

/**
 * Writes the gradient of a 2-D max pooling with respect to its input, bit-identical to the cpu
 * kernel (where windows overlap, each pixel's gradients are summed in a double, in output order).
 *
 * @param info The pooling geometry (`maxPoolGradInfo`).
 * @param x The forward pass's input, NHWC.
 * @param dy The gradient of the pooling's output, NHWC.
 * @param dx The gradient of the input, as long as `x` (overwritten).
 * @param pos Scratch of one index per element of `dy` (allocated when not given).
 *
 * @example
 * ```ts
 * import { maxPoolGradInfo, maxPoolGradInto } from "./_max_pool_grad.ts";
 * // One 2×2 window over a 1×2×2×1 input whose maximum, -1, is negative.
 * const info = maxPoolGradInfo([1, 2, 2, 1], { filterSize: 2, strides: 2, pad: "valid" });
 * const dx = new Float32Array(4);
 * maxPoolGradInto(info, new Float32Array([-3, -2, -1, -4]), new Float32Array([5]), dx);
 * console.log(dx); // Float32Array(4) [ 0, 0, 5, 0 ]
 * ```
 */
export function maxPoolGradInto(
  info: backend_util.Conv2DInfo,
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  pos: Int32Array = new Int32Array(dy.length),
): void {
  maxPoolPositions(info, x, pos);
  const overlapping = info.strideHeight < info.effectiveFilterHeight ||
    info.strideWidth < info.effectiveFilterWidth;
  if (!overlapping) {
    // One window per input pixel at most: each gradient lands once (added to +0, as the cpu
    // kernel's sum starts, so that −0 becomes +0).
    dx.fill(0);
    for (let o = 0; o < dy.length; o++) {
      const p = pos[o];
      if (p >= 0) dx[p] = 0 + dy[o];
    }
    return;
  }
  // The cpu kernel sums a pixel's gradients in a double, windows in output order, and rounds
  // once: the same here, so the bits match.
  const sum = new Float64Array(dx.length);
  for (let o = 0; o < dy.length; o++) {
    const p = pos[o];
    if (p >= 0) sum[p] += dy[o];
  }
  dx.set(sum);
}
