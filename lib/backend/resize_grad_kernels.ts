/**
 * Correct gradient kernels for `tf.image.resizeBilinear` and `resizeNearestNeighbor` on the
 * cpu and wasm backends.
 *
 * Three bugs in TF.js 4.22 (found by `wasm_kernels_test.ts`, checked against the transpose
 * of each backend's own forward resize in `resize_grad_kernels_test.ts`):
 * - every `ResizeBilinearGrad`/`ResizeNearestNeighborGrad` kernel ignores
 *   `halfPixelCenters`, so with `halfPixelCenters: true` (what PyTorch's
 *   `interpolate(..., align_corners=False)` does) the gradient is simply wrong;
 * - the cpu `ResizeBilinearGrad` labels its output `[N, W, H, C]` instead of `[N, H, W, C]`,
 *   so `tf.grads` throws for every non-square image;
 * - the cpu `ResizeNearestNeighborGrad` reads `dy` at the images' batch offset, so its
 *   gradient is wrong for every batch element after the first.
 *
 * The replacement kernels compute the transpose of the cpu backend's forward formulas in JS,
 * except on wasm with `halfPixelCenters: false`, where the stock (C++) kernels are right.
 *
 * @module
 */

import {
  type DataId,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type ResizeBilinearGradAttrs,
  type TensorInfo,
  unregisterKernel,
} from "@tensorflow/tfjs-core";

/** The part of a backend these kernels use (shared by cpu and wasm). */
interface _Backend {
  readSync(dataId: DataId): unknown;
  write(values: Float32Array, shape: number[], dtype: "float32"): DataId;
}

/** Source coordinates of one output row/column, as the forward kernels compute them. */
interface _Axis {
  ratio: number;
  inSize: number;
}

function _axis(inSize: number, outSize: number, alignCorners: boolean): _Axis {
  const aligned = alignCorners && outSize > 1;
  return { ratio: (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize), inSize };
}

/** Bilinear taps of output index `o`: floor and ceil source indices and the fraction. */
function _bilinearTap(a: _Axis, o: number, halfPixel: boolean): [number, number, number] {
  const src = halfPixel ? a.ratio * (o + 0.5) - 0.5 : a.ratio * o;
  const lo = Math.max(0, Math.floor(src));
  return [lo, Math.min(a.inSize - 1, Math.ceil(src)), src - lo];
}

/** Nearest source index of output index `o`. */
function _nearestTap(a: _Axis, o: number, halfPixel: boolean, alignCorners: boolean): number {
  const src = halfPixel ? a.ratio * (o + 0.5) : a.ratio * o;
  const i = Math.min(a.inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
  return halfPixel ? Math.max(0, i) : i;
}

function _gradJs(
  images: TensorInfo,
  dy: TensorInfo,
  attrs: ResizeBilinearGradAttrs,
  backend: _Backend,
  bilinear: boolean,
): TensorInfo {
  const [n, h, w, c] = images.shape;
  const [, oh, ow] = dy.shape;
  const g = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(n * h * w * c);
  const rows = _axis(h, oh, attrs.alignCorners), cols = _axis(w, ow, attrs.alignCorners);
  const hp = attrs.halfPixelCenters;
  let k = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      if (bilinear) {
        const [r0, r1, fr] = _bilinearTap(rows, r, hp);
        for (let q = 0; q < ow; q++) {
          const [c0, c1, fc] = _bilinearTap(cols, q, hp);
          const tl = ((b * h + r0) * w + c0) * c, tr = ((b * h + r0) * w + c1) * c;
          const bl = ((b * h + r1) * w + c0) * c, br = ((b * h + r1) * w + c1) * c;
          for (let d = 0; d < c; d++, k++) {
            const v = g[k];
            dx[tl + d] += v * (1 - fr) * (1 - fc);
            dx[tr + d] += v * (1 - fr) * fc;
            dx[bl + d] += v * fr * (1 - fc);
            dx[br + d] += v * fr * fc;
          }
        }
      } else {
        const r0 = _nearestTap(rows, r, hp, attrs.alignCorners);
        for (let q = 0; q < ow; q++) {
          const base = ((b * h + r0) * w + _nearestTap(cols, q, hp, attrs.alignCorners)) * c;
          for (let d = 0; d < c; d++, k++) dx[base + d] += g[k];
        }
      }
    }
  }
  const shape = [n, h, w, c];
  return { dataId: backend.write(dx, shape, "float32"), shape, dtype: "float32" };
}

/** The kernel functions registered by this module (to recognise them). */
const _ours = new Set<KernelFunc>();

function _replacement(stock: KernelConfig, bilinear: boolean): KernelFunc {
  const f: KernelFunc = ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as ResizeBilinearGradAttrs;
    if (stock.backendName === "wasm" && !a.halfPixelCenters) {
      return stock.kernelFunc({ inputs, backend, attrs });
    }
    return _gradJs(images, dy, a, backend as _Backend, bilinear);
  };
  _ours.add(f);
  return f;
}

/**
 * Replaces the `ResizeBilinearGrad` and `ResizeNearestNeighborGrad` kernels of the cpu and
 * wasm backends (those whose kernels are registered) by correct ones (see the module doc).
 * Idempotent; call it again after importing a backend package to patch that one too.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "./register_gradients.ts";
 * import { registerResizeGradKernels } from "./resize_grad_kernels.ts";
 * registerResizeGradKernels();
 * await tf.setBackend("cpu");
 * const x = tf.ones([1, 2, 3, 1]);
 * const g = tf.grad((a) => tf.sum(tf.image.resizeBilinear(a as tf.Tensor4D, [4, 6])))(x);
 * if (g.shape.join() !== "1,2,3,1") throw new Error("unexpected shape");
 * ```
 */
export function registerResizeGradKernels(): void {
  for (const backendName of ["cpu", "wasm"]) {
    for (
      const [kernelName, bilinear] of [
        ["ResizeBilinearGrad", true],
        ["ResizeNearestNeighborGrad", false],
      ] as const
    ) {
      const stock = getKernel(kernelName, backendName);
      if (stock === undefined || _ours.has(stock.kernelFunc)) continue;
      unregisterKernel(kernelName, backendName);
      registerKernel({
        kernelName,
        backendName,
        kernelFunc: _replacement(stock, bilinear),
        setupFunc: stock.setupFunc, // the stock wasm kernel still runs, so keep its setup
      });
    }
  }
}
