import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { Rng } from "../util/rng.ts";
import { gradVac } from "./gradvac.ts";
import { pcGrad } from "./pcgrad.ts";
import { assertClose, dot, mapOf, randomMap, read } from "./_testing.ts";

await setupBackend({ quiet: true });

Deno.test("gradVac() raises cos(aux', main) to the target and keeps main (asymmetric)", () => {
  const rng = new Rng(3);
  for (const target of [0, 0.3, 0.8]) {
    const main = randomMap(rng),
      aux = tf.tidy(() => {
        const a = randomMap(rng);
        return Object.fromEntries(Object.keys(a).map((k) => [k, tf.sub(a[k], main[k])]));
      });
    const r = gradVac({ beta: 0, target })(main, aux);
    assert.ok(r.cosine < target);
    const auxPrime = tf.tidy(() =>
      Object.fromEntries(Object.keys(main).map((k) => [k, tf.sub(r.grads[k], main[k])]))
    );
    // a' = update − m must be a + w·m with cos(a', m) = target.
    const cos = dot(auxPrime, main) / Math.sqrt(dot(auxPrime, auxPrime) * dot(main, main));
    assert.ok(Math.abs(cos - target) < 1e-4, `cos(a', m) = ${cos}, target ${target}`);
    assert.equal(r.auxWeight, 1);
    tf.dispose([main, aux, auxPrime, r.grads]);
  }
});

Deno.test("gradVac() with target 0 and beta 0 is PCGrad (both forms)", () => {
  const rng = new Rng(5);
  for (const symmetric of [false, true]) {
    for (let t = 0; t < 5; t++) {
      const main = randomMap(rng), aux = randomMap(rng, 2);
      const a = gradVac({ beta: 0, target: 0, symmetric })(main, aux);
      const b = pcGrad({ symmetric })(main, aux);
      for (const k of Object.keys(main)) {
        assertClose(read(a.grads)[k], read(b.grads)[k], 1e-4, k);
      }
      tf.dispose([main, aux, a.grads, b.grads]);
    }
  }
});

Deno.test("gradVac() target is the EMA of the observed cosines, used before it is updated", () => {
  const beta = 0.25;
  const step = gradVac({ beta, target: 0.1 });
  const m = mapOf({ w: [1, 0] });
  // cosines: 1, 0, −1/√2, 1/√2
  const auxes = [[2, 0], [0, 3], [-1, 1], [1, 1]];
  let expected = 0.1;
  for (const a of auxes) {
    const aux = mapOf({ w: a });
    const before = step.target;
    assert.equal(before, expected);
    const r = step(m, aux);
    // Adjusted iff the observed cosine is below the target held before this call.
    const u = read(r.grads).w;
    const adjusted = Math.abs(u[0] - (1 + a[0])) > 1e-6;
    assert.equal(adjusted, r.cosine < before);
    expected = (1 - beta) * expected + beta * r.cosine;
    assert.ok(Math.abs(step.target - expected) < 1e-12);
    tf.dispose([aux, r.grads]);
  }
  assert.equal(step.updates, 4);
  tf.dispose(m);
});

Deno.test("gradVac() each instance has its own EMA", () => {
  const a = gradVac({ beta: 0.5 }), b = gradVac({ beta: 0.5 });
  const r = a(mapOf({ w: [1, 0] }), mapOf({ w: [1, 1] }));
  assert.ok(a.target > 0);
  assert.equal(b.target, 0);
  tf.dispose(r.grads);
});

Deno.test("gradVac() skips the EMA and the adjustment when a gradient is zero", () => {
  const step = gradVac({ beta: 0.5, target: 0.5 });
  const r = step(mapOf({ w: [0, 0] }), mapOf({ w: [1, 2] }));
  assert.deepEqual(read(r.grads).w, [1, 2]);
  assert.equal(step.target, 0.5);
  assert.equal(step.updates, 0);
  tf.dispose(r.grads);
});

Deno.test("gradVac() symmetric also moves main toward aux", () => {
  // target 0: m' = m + (1/2)·a = (0.5, 0.5), a' = a + m = (0, 1).
  const r = gradVac({ beta: 0, symmetric: true })(mapOf({ w: [1, 0] }), mapOf({ w: [-1, 1] }));
  assertClose(read(r.grads).w, [0.5, 1.5]);
  assert.ok(Math.abs(r.auxWeight - 1.5) < 1e-9);
});

Deno.test("gradVac() rejects beta and target out of range", () => {
  assert.throws(() => gradVac({ beta: 1 }), /beta in \[0, 1\) but found 1/);
  assert.throws(() => gradVac({ beta: -0.1 }), /beta in \[0, 1\) but found -0.1/);
  assert.throws(() => gradVac({ target: 1 }), /target in \(-1, 1\) but found 1/);
  assert.throws(() => gradVac({ target: NaN }), /target in \(-1, 1\) but found NaN/);
});
