import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { gradProm, ipOnly, joint, type Strategy } from "./mod.ts";

await tf.setBackend("cpu");

const map = (o: Record<string, number[]>): tf.NamedTensorMap =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, tf.tensor1d(v)]));
const read = (m: tf.NamedTensorMap) =>
  Object.fromEntries(Object.entries(m).map(([k, t]) => [k, Array.from(t.dataSync())]));
const close = (a: number[], b: number[], tol = 1e-6) =>
  assert.ok(a.every((x, i) => Math.abs(x - b[i]) <= tol), `expected [${b}] but found [${a}]`);

Deno.test("joint() returns main + aux and the global cosine", () => {
  const main = map({ a: [1, 0], b: [0] }), aux = map({ a: [1, 1], b: [1] });
  const r = joint(main, aux);
  assert.deepEqual(read(r.grads), { a: [2, 1], b: [1] });
  // cos = 1 / (1 · √3)
  assert.ok(Math.abs(r.cosine - 1 / Math.sqrt(3)) < 1e-6);
  assert.equal(r.auxWeight, 1);
});

Deno.test("ipOnly() returns a copy of main and still measures the cosine", () => {
  const main = map({ a: [3, 4] }), aux = map({ a: [-3, -4] });
  const r = ipOnly(main, aux);
  assert.deepEqual(read(r.grads), { a: [3, 4] });
  assert.notEqual(r.grads.a, main.a);
  assert.ok(Math.abs(r.cosine + 1) < 1e-6);
});

Deno.test("gradProm() gate is open for cos ≥ 0 and shut for cos < 0", () => {
  const step = gradProm();
  const open = step(map({ a: [1, 0] }), map({ a: [1, 1] }));
  assert.equal(open.auxWeight, 1);
  close(read(open.grads).a, [2, 1]);
  const shut = step(map({ a: [1, 0] }), map({ a: [-1, 5] }));
  assert.ok(shut.cosine < 0);
  assert.equal(shut.auxWeight, 0);
  close(read(shut.grads).a, [1, 0]);
});

Deno.test("gradProm() treats cosine exactly 0 as open (s ≥ 0)", () => {
  const r = gradProm()(map({ a: [1, 0] }), map({ a: [0, 2] }));
  assert.equal(r.cosine, 0);
  assert.equal(r.auxWeight, 1);
  close(read(r.grads).a, [1, 2]);
});

Deno.test("gradProm() weighted mode scales aux by max(0, cos) (Lemma 3.1)", () => {
  const w = gradProm({ mode: "weighted" });
  const r = w(map({ a: [1, 0] }), map({ a: [1, 1] }));
  const c = 1 / Math.sqrt(2);
  assert.ok(Math.abs(r.cosine - c) < 1e-6);
  close(read(r.grads).a, [1 + c, c], 1e-6);
  const neg = w(map({ a: [1, 0] }), map({ a: [-1, 1] }));
  close(read(neg.grads).a, [1, 0]);
  assert.equal(neg.auxWeight, 0);
});

Deno.test("gradProm() cosine is global over all variables, not per variable", () => {
  // Variable a conflicts, b agrees more strongly: global cosine > 0, gate open for both.
  const main = map({ a: [1], b: [1] }), aux = map({ a: [-1], b: [3] });
  const g = gradProm()(main, aux);
  assert.ok(g.cosine > 0);
  assert.deepEqual(read(g.grads), { a: [0], b: [4] });
  // Per-layer granularity gates a and b separately.
  const l = gradProm({ granularity: "layer" })(main, aux);
  assert.deepEqual(read(l.grads), { a: [1], b: [4] });
  assert.equal(l.auxWeight, 0.5);
});

Deno.test("gradProm() update never has a negative inner product with main", () => {
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (
    const s of [gradProm(), gradProm({ mode: "weighted" }), gradProm({ granularity: "layer" })]
  ) {
    for (let t = 0; t < 50; t++) {
      const main = map({ a: [rand(), rand(), rand()], b: [rand()] });
      const aux = map({ a: [rand() * 5, rand() * 5, rand() * 5], b: [rand() * 5] });
      const r = s(main, aux);
      const u = read(r.grads), m = read(main);
      const inner = u.a.reduce((acc, x, i) => acc + x * m.a[i], 0) + u.b[0] * m.b[0];
      assert.ok(inner >= -1e-6, `inner product ${inner} < 0`);
    }
  }
});

Deno.test("gradProm() cosine is scale-free: scaling aux by λ does not change the gate", () => {
  const main = map({ a: [1, -2, 0.5] });
  for (const lambda of [1e-6, 1e-3, 1, 1e3]) {
    const aux = map({ a: [-0.2 * lambda, 0.1 * lambda, 3 * lambda] });
    const r = gradProm()(main, aux);
    assert.equal(r.auxWeight, r.cosine >= 0 ? 1 : 0);
    assert.ok(Math.abs(r.cosine - gradProm()(main, map({ a: [-0.2, 0.1, 3] })).cosine) < 1e-5);
  }
});

Deno.test("strategies handle a zero gradient (cosine 0, finite output)", () => {
  for (const s of [joint, ipOnly, gradProm()] as Strategy[]) {
    const r = s(map({ a: [0, 0] }), map({ a: [1, 2] }));
    assert.equal(r.cosine, 0);
    assert.ok(read(r.grads).a.every(Number.isFinite));
  }
});

Deno.test("strategies reject NaN gradients, mismatched keys and shapes with clear errors", () => {
  for (const s of [joint, ipOnly, gradProm()] as Strategy[]) {
    assert.throws(() => s(map({ a: [NaN] }), map({ a: [1] })), /finite main gradient.*'a'/);
    assert.throws(() => s(map({ a: [1] }), map({ a: [Infinity] })), /finite aux gradient.*'a'/);
    assert.throws(() => s(map({ a: [1] }), map({ b: [1] })), /missing in aux: a; only in aux: b/);
    assert.throws(() => s(map({ a: [1] }), map({ a: [1, 2] })), /equal shapes for 'a'/);
  }
});

Deno.test("strategies leak no tensors", () => {
  const main = map({ a: [1, 2], b: [3] }), aux = map({ a: [-1, 0], b: [2] });
  const before = tf.memory().numTensors;
  for (
    const s of [joint, ipOnly, gradProm(), gradProm({ mode: "weighted", granularity: "layer" })]
  ) {
    const r = s(main, aux);
    tf.dispose(r.grads);
  }
  assert.equal(tf.memory().numTensors, before);
});
