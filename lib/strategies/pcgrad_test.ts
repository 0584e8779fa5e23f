import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { Rng } from "../util/rng.ts";
import { pcGrad } from "./pcgrad.ts";
import { assertClose, dot, mapOf, randomMap, read } from "./_testing.ts";

await setupBackend({ quiet: true });

Deno.test("pcGrad() asymmetric projects only aux onto main's normal plane", () => {
  const r = pcGrad()(mapOf({ w: [1, 0] }), mapOf({ w: [-1, 1] }));
  // a' = a − (⟨m, a⟩ / |m|²)·m = (0, 1); update m + a' = (1, 1).
  assertClose(read(r.grads).w, [1, 1]);
  assert.equal(r.auxWeight, 1);
  assert.ok(Math.abs(r.cosine + Math.SQRT1_2) < 1e-6);
});

Deno.test("pcGrad() symmetric projects each gradient onto the other's normal plane", () => {
  const r = pcGrad({ symmetric: true })(mapOf({ w: [1, 0] }), mapOf({ w: [-1, 1] }));
  // m' = m − (−1/2)·a = (0.5, 0.5); a' = a − (−1)·m = (0, 1); sum (0.5, 1.5).
  assertClose(read(r.grads).w, [0.5, 1.5]);
  assert.equal(r.auxWeight, 1.5);
});

Deno.test("pcGrad() leaves non-conflicting gradients alone (m + a)", () => {
  for (const symmetric of [false, true]) {
    const r = pcGrad({ symmetric })(mapOf({ w: [1, 0], b: [2] }), mapOf({ w: [3, -1], b: [0] }));
    assert.deepEqual(read(r.grads), { w: [4, -1], b: [2] });
    assert.equal(r.auxWeight, 1);
  }
});

Deno.test("pcGrad() output: ⟨u, m⟩ = |m|² (asymmetric); ⟨u, m⟩, ⟨u, a⟩ ≥ 0 (symmetric)", () => {
  const rng = new Rng(11);
  for (let t = 0; t < 20; t++) {
    const main = randomMap(rng), aux = randomMap(rng, 3);
    // Force a conflict: subtract enough of main.
    const conflicted = tf.tidy(() => {
      const k = 2 * Math.abs(dot(main, aux)) / dot(main, main) + 1;
      return Object.fromEntries(
        Object.keys(aux).map((n) => [n, tf.sub(aux[n], tf.mul(main[n], k))]),
      );
    });
    assert.ok(dot(main, conflicted) < 0);
    const asym = pcGrad()(main, conflicted);
    const mm = dot(main, main);
    assert.ok(Math.abs(dot(asym.grads, main) - mm) <= 1e-4 * mm);
    const sym = pcGrad({ symmetric: true })(main, conflicted);
    const scale = Math.sqrt(dot(sym.grads, sym.grads));
    assert.ok(dot(sym.grads, main) >= -1e-5 * scale * Math.sqrt(mm));
    assert.ok(dot(sym.grads, conflicted) >= -1e-5 * scale * Math.sqrt(dot(conflicted, conflicted)));
    tf.dispose([main, aux, conflicted, asym.grads, sym.grads]);
  }
});

Deno.test("pcGrad() rejects a non-boolean symmetric option", () => {
  assert.throws(() => pcGrad({ symmetric: "yes" as unknown as boolean }), /boolean but found yes/);
});
