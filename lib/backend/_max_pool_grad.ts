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
 * Writes the gradient of a 2-D max pooling with respect to its input.
 *
 * @param info The pooling geometry (`maxPoolGradInfo`).
 * @param x The forward pass's input, NHWC.
 * @param dy The gradient of the pooling's output, NHWC.
 * @param dx The gradient of the input, as long as `x` (overwritten).
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
): void {
  dx.fill(0);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let bi = 0; bi < n; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top;
      const yStart = Math.max(0, y0), yEnd = Math.min(h, y0 + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - left;
        const xStart = Math.max(0, x0), xEnd = Math.min(w, x0 + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let y = yStart; y < yEnd; y++) {
          for (let xx = xStart; xx < xEnd; xx++) {
            const base = ((bi * h + y) * w + xx) * c;
            for (let ci = 0; ci < c; ci++) {
              const v = x[base + ci];
              if (v > best[ci]) {
                best[ci] = v;
                pos[ci] = base + ci;
              }
            }
          }
        }
        const dyBase = ((bi * oh + oy) * ow + ox) * c;
        for (let ci = 0; ci < c; ci++) {
          if (pos[ci] >= 0) dx[pos[ci]] += dy[dyBase + ci];
        }
      }
    }
  }
}
