import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { Rng } from "../util/rng.ts";
import { caGrad } from "./cagrad.ts";
import { caGradDual } from "./_cagrad_dual.ts";
import { mgda } from "./mgda.ts";
import { assertClose, mapOf, read } from "./_testing.ts";

await setupBackend({ quiet: true });

const dot2 = (u: number[], v: number[]) => u[0] * v[0] + u[1] * v[1];

Deno.test("caGrad() with c = 0 is joint training", () => {
  const r = caGrad({ c: 0 })(mapOf({ w: [1, 0] }), mapOf({ w: [-3, 2] }));
  assert.deepEqual(read(r.grads).w, [-2, 2]);
  assert.equal(r.auxWeight, 1);
});

Deno.test("caGrad() solves the primal max_d min_i ⟨g_i, d⟩ over |d − g₀| ≤ c|g₀| (brute force)", () => {
  const rng = new Rng(21);
  for (let t = 0; t < 12; t++) {
    const m = [rng.normal(), rng.normal()];
    const a = [rng.normal() * 3, rng.normal() * 3];
    const c = [0.2, 0.5, 0.9, 2][t % 4];
    const r = caGrad({ c, rescale: false })(mapOf({ w: m }), mapOf({ w: a }));
    const d = read(r.grads).w.map((x) => x / 2); // the update is 2·d
    const g0 = [(m[0] + a[0]) / 2, (m[1] + a[1]) / 2];
    const radius = c * Math.hypot(g0[0], g0[1]);
    // On (or inside) the ball:
    assert.ok(Math.hypot(d[0] - g0[0], d[1] - g0[1]) <= radius * (1 + 1e-5) + 1e-7);
    // And as good as the best point on its boundary, searched on a fine grid.
    let best = -Infinity;
    for (let i = 0; i < 20000; i++) {
      const th = (2 * Math.PI * i) / 20000;
      const p = [g0[0] + radius * Math.cos(th), g0[1] + radius * Math.sin(th)];
      best = Math.max(best, Math.min(dot2(m, p), dot2(a, p)));
    }
    const mine = Math.min(dot2(m, d), dot2(a, d));
    const tol = 1e-4 * (1 + Math.abs(best));
    assert.ok(mine >= best - tol, `case ${t}: min improvement ${mine} < brute force ${best}`);
    tf.dispose(r.grads);
  }
});

Deno.test("caGrad() rescale divides by 1 + c²", () => {
  const m = mapOf({ w: [1, 0.5] }), a = mapOf({ w: [-2, 1] });
  const raw = caGrad({ c: 0.7, rescale: false })(m, a);
  const scaled = caGrad({ c: 0.7 })(m, a);
  assertClose(read(scaled.grads).w, read(raw.grads).w.map((x) => x / 1.49), 1e-5);
  tf.dispose([m, a, raw.grads, scaled.grads]);
});

Deno.test("caGrad() approaches MGDA's direction for large c", () => {
  const m = mapOf({ w: [1, 0.2] }), a = mapOf({ w: [-0.5, 2] });
  const u = read(caGrad({ c: 1e3 })(m, a).grads).w;
  const v = read(mgda()(m, a).grads).w;
  const cos = dot2(u, v) / (Math.hypot(u[0], u[1]) * Math.hypot(v[0], v[1]));
  assert.ok(cos > 0.999, `cos = ${cos}`);
});

Deno.test("caGrad() drops the correction at a Pareto-stationary point (m = −a)", () => {
  const r = caGrad()(mapOf({ w: [1, -2] }), mapOf({ w: [-1, 2] }));
  assert.deepEqual(read(r.grads).w, [0, 0]);
});

Deno.test("caGradDual() finds the symmetric and boundary minimisers", () => {
  assert.ok(Math.abs(caGradDual(1, 1, 0, 0.5).x - 0.5) < 1e-9);
  // aux = 0: F(x) = x/2 + 0.25·x is minimal at x = 0, where g_w = aux = 0.
  const z = caGradDual(1, 0, 0, 0.5);
  assert.equal(z.x, 0);
  assert.equal(z.gwSq, 0);
});

Deno.test("caGrad() rejects a negative or non-finite c", () => {
  assert.throws(() => caGrad({ c: -1 }), /c ≥ 0 but found -1/);
  assert.throws(() => caGrad({ c: Infinity }), /c ≥ 0 but found Infinity/);
});
