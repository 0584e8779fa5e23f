/**
 * Regression test: oneDNN 2.x's `jit_1x1` backward-weights convolution overruns its
 * scratchpad on strided 1×1 convolutions of NHWC input with fewer than 16 channels
 * (`_rtusOverrun` in `_dnnl.ts` says how). On two threads that gave wrong filter gradients
 * (avx2) or a heap overflow that aborted a later, unrelated `malloc`/`free` (avx512:
 * `tests/train_step_update_test.ts` on onednn, through ResNet's 1×1 stride-2 shortcut from 4
 * to 8 channels). The filter gradients must match a float64 reference, and below 16 channels
 * come from another implementation (16 and more may keep `jit_1x1`).
 */
import assert from "node:assert/strict";
import { Rng } from "../../util/rng.ts";
import { _randn, _relError } from "../_testing.ts";
import { convBackwardWeights, type ConvGeometry, convImplementations, loadDnnl } from "./_dnnl.ts";

/** Why libdnnl 2.x cannot be used here, or undefined. */
const _missing = (() => {
  try {
    loadDnnl();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
})();

/** dW `[1, 1, inC, outC]` of a 1×1 NHWC convolution without padding, in float64. */
function filterGrad(g: ConvGeometry, x: Float32Array, dy: Float32Array): Float64Array {
  const dw = new Float64Array(g.inC * g.outC);
  for (let b = 0; b < g.n; b++) {
    for (let r = 0; r < g.outH; r++) {
      for (let q = 0; q < g.outW; q++) {
        const xi = ((b * g.inH + r * g.strides[0]) * g.inW + q * g.strides[1]) * g.inC;
        const di = ((b * g.outH + r) * g.outW + q) * g.outC;
        for (let c = 0; c < g.inC; c++) {
          for (let o = 0; o < g.outC; o++) dw[c * g.outC + o] += x[xi + c] * dy[di + o];
        }
      }
    }
  }
  return dw;
}

Deno.test({
  name: "strided 1×1 filter gradients on oneDNN match a reference and avoid jit_1x1 below 16 " +
    "input channels" + (_missing ? ` (skipped: ${_missing})` : ""),
  ignore: _missing !== undefined,
  fn: () => {
    const rng = new Rng(17);
    const cases: [number, number][] = [
      [1, 2],
      [3, 2],
      [4, 2],
      [7, 2],
      [8, 2],
      [15, 2],
      [4, 3],
      [16, 2],
      [20, 2],
    ];
    for (const [inC, stride] of cases) {
      const n = 3, inH = 12, out = inH / stride, outC = 8;
      const g: ConvGeometry = {
        n,
        inH,
        inW: inH,
        inC,
        outH: out,
        outW: out,
        outC,
        kh: 1,
        kw: 1,
        strides: [stride, stride],
        dilations: [1, 1],
        pad: [0, 0, 0, 0],
      };
      const what = `3×12×12×${inC} → ${out}×${out}×8, stride ${stride}`;
      for (let rep = 0; rep < 4; rep++) {
        const x = _randn(rng, n * inH * inH * inC);
        const dy = _randn(rng, n * out * out * outC);
        const dw = new Float32Array(inC * outC).fill(NaN);
        convBackwardWeights(g, x, dy, dw);
        const err = _relError(dw, filterGrad(g, x, dy));
        assert.ok(err <= 1e-5, `${what}: filter gradient error ${err}`);
      }
      const impls = convImplementations(g);
      assert.equal(impls.length, 1, `${what}: ${impls}`);
      if (inC < 16) {
        assert.ok(!impls[0].startsWith("bwd_weights:jit_1x1"), `${what}: ${impls[0]}`);
      }
    }
  },
});
