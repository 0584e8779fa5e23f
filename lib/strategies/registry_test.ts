import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { getStrategy, STRATEGIES } from "./registry.ts";
import { gradProm } from "./grad_prom.ts";
import { mapOf, read } from "./_testing.ts";

await setupBackend({ quiet: true });

const NAMES = [
  "joint",
  "ip-only",
  "gradprom",
  "gradprom-weighted",
  "gradprom-layer",
  "pcgrad",
  "gradvac",
  "cagrad",
  "mgda",
  "gradsim-weighted",
  "gradsim-unweighted",
];

Deno.test("STRATEGIES lists every strategy with a description, and each one runs", () => {
  assert.deepEqual(Object.keys(STRATEGIES).sort(), [...NAMES].sort());
  const main = mapOf({ w: [1, 0] }), aux = mapOf({ w: [-1, 1] });
  for (const name of NAMES) {
    const f = STRATEGIES[name as keyof typeof STRATEGIES];
    assert.ok(f.description.length > 10 && !f.description.includes("\n"), name);
    const r = getStrategy(name)(main, aux);
    assert.deepEqual(Object.keys(r.grads), ["w"]);
    assert.ok(Math.abs(r.cosine + Math.SQRT1_2) < 1e-6, name);
    tf.dispose(r.grads);
  }
  tf.dispose([main, aux]);
});

Deno.test("getStrategy() names the known strategies when the name is unknown", () => {
  assert.throws(
    () => getStrategy("adam"),
    (e: Error) =>
      e instanceof RangeError && e.message.includes('found "adam"') &&
      NAMES.every((n) => e.message.includes(n)),
  );
  assert.throws(() => getStrategy("toString"), /found "toString"/);
});

Deno.test("getStrategy() passes options and rejects unknown or fixed keys", () => {
  const main = mapOf({ a: [1], b: [1] }), aux = mapOf({ a: [-1], b: [3] });
  const layer = getStrategy("gradprom", { granularity: "layer" })(main, aux);
  const ref = gradProm({ granularity: "layer" })(main, aux);
  assert.deepEqual(read(layer.grads), read(ref.grads));
  assert.throws(() => getStrategy("pcgrad", { symetric: true }), /among \[symmetric\].*"symetric"/);
  assert.throws(() => getStrategy("gradprom-weighted", { mode: "gate" }), /unknown "mode"/);
  assert.throws(() => getStrategy("joint", { c: 1 }), /among \[\] but found unknown "c"/);
  tf.dispose([main, aux, layer.grads, ref.grads]);
});

Deno.test("STRATEGIES.gradvac() builds a fresh EMA each time", () => {
  const a = STRATEGIES.gradvac({ beta: 0.5 });
  const r = a(mapOf({ w: [1, 0] }), mapOf({ w: [1, 1] }));
  assert.ok(a.target > 0);
  assert.equal(STRATEGIES.gradvac({ beta: 0.5 }).target, 0);
  tf.dispose(r.grads);
});
