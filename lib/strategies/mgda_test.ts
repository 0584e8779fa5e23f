import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { Rng } from "../util/rng.ts";
import { mgda } from "./mgda.ts";
import { assertClose, dot, mapOf, randomMap, read } from "./_testing.ts";

await setupBackend({ quiet: true });

Deno.test("mgda() returns the min-norm point α·m + (1 − α)·a", () => {
  // m = (2, 0), a = (0, 1): α = ⟨a − m, a⟩ / |m − a|² = 1/5, d = (0.4, 0.8).
  const r = mgda({ rescale: false })(mapOf({ w: [2, 0] }), mapOf({ w: [0, 1] }));
  assertClose(read(r.grads).w, [0.4, 0.8]);
  assert.ok(Math.abs(r.auxWeight - 0.8) < 1e-12);
  // Rescaled (default): 2·d.
  const s = mgda()(mapOf({ w: [2, 0] }), mapOf({ w: [0, 1] }));
  assertClose(read(s.grads).w, [0.8, 1.6]);
  assert.ok(Math.abs(s.auxWeight - 1.6) < 1e-12);
});

Deno.test("mgda() clips α to [0, 1] and follows the smaller gradient", () => {
  // aux small and aligned with main: min-norm point is aux itself (α = 0).
  const r = mgda({ rescale: false })(mapOf({ w: [1, 0] }), mapOf({ w: [0.1, 0.05] }));
  assertClose(read(r.grads).w, [0.1, 0.05]);
  assert.equal(r.auxWeight, 1);
});

Deno.test("mgda() gives m + a for equal gradients and 0 for opposite ones", () => {
  assert.deepEqual(read(mgda()(mapOf({ w: [1, 2] }), mapOf({ w: [1, 2] })).grads).w, [2, 4]);
  assert.deepEqual(read(mgda()(mapOf({ w: [1, 2] }), mapOf({ w: [-1, -2] })).grads).w, [0, 0]);
});

Deno.test("mgda() interior point has ⟨d, m⟩ = ⟨d, a⟩ = |d|²", () => {
  const rng = new Rng(8);
  let interior = 0;
  for (let t = 0; t < 20; t++) {
    const main = randomMap(rng), aux = randomMap(rng);
    const r = mgda({ rescale: false })(main, aux);
    if (r.auxWeight > 0 && r.auxWeight < 1) {
      interior++;
      const dd = dot(r.grads, r.grads);
      assert.ok(Math.abs(dot(r.grads, main) - dd) <= 1e-4 * dd);
      assert.ok(Math.abs(dot(r.grads, aux) - dd) <= 1e-4 * dd);
    }
    tf.dispose([main, aux, r.grads]);
  }
  assert.ok(interior > 10, `only ${interior} interior cases`);
});

Deno.test("mgda() rejects a non-boolean rescale", () => {
  assert.throws(() => mgda({ rescale: 2 as unknown as boolean }), /boolean but found 2/);
});
