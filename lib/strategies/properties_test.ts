/**
 * Property tests shared by every strategy (TorchJD-style): whatever the
 * strategy (every entry of `STRATEGIES` and every method's strategy of
 * `METHOD_SPECS`), the output has the inputs' keys and shapes, is finite, leaves the
 * inputs intact, leaks no tensor and rejects non-finite gradients; and the
 * guarantees each strategy documents hold on seeded random gradient maps.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { DEFAULT_CONFIG, mergeConfig } from "../experiments/config.ts";
import { METHOD_IDS, methodStrategy } from "../experiments/methods.ts";
import { Rng } from "../util/rng.ts";
import {
  caGrad,
  gradientSimilarity,
  gradProm,
  gradVac,
  ipOnly,
  joint,
  mgda,
  pcGrad,
  type Strategy,
} from "./mod.ts";
import { getStrategy, STRATEGIES } from "./registry.ts";
import { dot, mapOf, randomMap, read, SHAPES } from "./_testing.ts";

await setupBackend({ quiet: true });

/** Every strategy, in every mode; factories so that stateful ones start fresh. */
const ALL: Record<string, () => Strategy> = {
  "joint": () => joint,
  "ipOnly": () => ipOnly,
  "gradProm gate global": () => gradProm(),
  "gradProm gate layer": () => gradProm({ granularity: "layer" }),
  "gradProm weighted global": () => gradProm({ mode: "weighted" }),
  "gradProm weighted layer": () => gradProm({ mode: "weighted", granularity: "layer" }),
  "pcGrad asymmetric": () => pcGrad(),
  "pcGrad symmetric": () => pcGrad({ symmetric: true }),
  "gradVac asymmetric": () => gradVac({ beta: 0.1 }),
  "gradVac symmetric": () => gradVac({ beta: 0.1, symmetric: true }),
  "caGrad c=0.5": () => caGrad(),
  "caGrad c=2 raw": () => caGrad({ c: 2, rescale: false }),
  "mgda": () => mgda(),
  "mgda raw": () => mgda({ rescale: false }),
  "gradSim weighted": () => gradientSimilarity({ mode: "weighted" }),
  "gradSim unweighted": () => gradientSimilarity({ mode: "unweighted" }),
  "gradSim unweighted layer": () =>
    gradientSimilarity({ mode: "unweighted", granularity: "layer" }),
  ...Object.fromEntries(
    Object.keys(STRATEGIES).map((n) => [`registry ${n}`, () => getStrategy(n)]),
  ),
  // Every method's strategy, those given by factory (no STRATEGIES entry) included.
  ...Object.fromEntries(
    METHOD_IDS.map((
      m,
    ) => [`method ${m}`, () => methodStrategy(mergeConfig(DEFAULT_CONFIG, { method: m }))]),
  ),
};

/**
 * A seeded (main, aux) pair: aux = k·main + noise with k drawn so that about
 * half the pairs conflict, and aux's overall scale spread over 1e-3 … 1e3 (λ).
 */
function pair(rng: Rng): [tf.NamedTensorMap, tf.NamedTensorMap] {
  const main = randomMap(rng);
  const noise = randomMap(rng);
  const k = rng.normal() * 2, scale = 10 ** rng.range(-3, 3);
  const aux = tf.tidy(() =>
    Object.fromEntries(
      Object.keys(main).map((n) => [n, tf.mul(tf.add(tf.mul(main[n], k), noise[n]), scale)]),
    )
  );
  tf.dispose(noise);
  return [main, aux];
}

/** x ≥ y up to float32 rounding relative to `scale`. */
function atLeast(x: number, y: number, scale: number, what: string): void {
  assert.ok(x >= y - 1e-4 * scale, `${what}: ${x} < ${y} (scale ${scale})`);
}

const norm = (m: tf.NamedTensorMap) => Math.sqrt(dot(m, m));

Deno.test("every strategy preserves keys, shapes and dtype, is finite, and never aliases or alters its inputs", () => {
  const rng = new Rng(1);
  for (const [name, make] of Object.entries(ALL)) {
    const s = make();
    for (let t = 0; t < 3; t++) {
      const [main, aux] = pair(rng);
      const before = [read(main), read(aux)];
      const r = s(main, aux);
      assert.deepEqual(Object.keys(r.grads), Object.keys(SHAPES), name);
      for (const [k, shape] of Object.entries(SHAPES)) {
        assert.deepEqual(r.grads[k].shape, shape, `${name} ${k}`);
        assert.equal(r.grads[k].dtype, "float32", `${name} ${k}`);
        assert.ok(r.grads[k] !== main[k] && r.grads[k] !== aux[k], `${name} returned an input`);
        assert.ok(read({ k: r.grads[k] }).k.every(Number.isFinite), `${name} ${k} not finite`);
      }
      assert.ok(Number.isFinite(r.cosine) && r.cosine >= -1 && r.cosine <= 1, name);
      assert.ok(Number.isFinite(r.auxWeight), name);
      for (const m of [main, aux]) {
        for (const v of Object.values(m)) assert.ok(!v.isDisposed, `${name} disposed an input`);
      }
      assert.deepEqual([read(main), read(aux)], before, `${name} altered an input`);
      // The caller can dispose the inputs and keep the result.
      tf.dispose([main, aux]);
      assert.ok(Object.values(r.grads).every((v) => !v.isDisposed));
      tf.dispose(r.grads);
    }
  }
});

Deno.test("every strategy leaks no tensor", () => {
  const rng = new Rng(2);
  const [main, aux] = pair(rng);
  for (const [name, make] of Object.entries(ALL)) {
    const s = make();
    const before = tf.memory().numTensors;
    tf.dispose(s(main, aux).grads);
    assert.equal(tf.memory().numTensors, before, name);
  }
  tf.dispose([main, aux]);
});

Deno.test("every strategy reports the global cosine and does not depend on key order", () => {
  const rng = new Rng(3);
  const [main, aux] = pair(rng);
  const cos = dot(main, aux) / (norm(main) * norm(aux));
  const reversed = (m: tf.NamedTensorMap) =>
    Object.fromEntries(Object.keys(m).reverse().map((k) => [k, m[k]]));
  for (const [name, make] of Object.entries(ALL)) {
    const a = make()(main, aux), b = make()(reversed(main), reversed(aux));
    assert.ok(Math.abs(a.cosine - cos) < 1e-5, `${name}: cosine ${a.cosine} vs ${cos}`);
    const ra = read(a.grads), rb = read(b.grads);
    for (const k of Object.keys(SHAPES)) {
      ra[k].forEach((x, i) =>
        assert.ok(Math.abs(x - rb[k][i]) <= 1e-5 * (1 + Math.abs(x)), `${name} ${k}`)
      );
    }
    tf.dispose([a.grads, b.grads]);
  }
  tf.dispose([main, aux]);
});

Deno.test("joint equals main + aux; ipOnly equals main", () => {
  const rng = new Rng(4);
  const [main, aux] = pair(rng);
  const j = read(joint(main, aux).grads), i = read(ipOnly(main, aux).grads);
  const m = read(main), a = read(aux);
  for (const k of Object.keys(SHAPES)) {
    assert.deepEqual(j[k], m[k].map((x, n) => Math.fround(x + a[k][n])));
    assert.deepEqual(i[k], m[k]);
  }
  tf.dispose([main, aux]);
});

Deno.test("gradProm (both modes, both granularities) never conflicts with main: ⟨u, m⟩ ≥ |m|²", () => {
  const rng = new Rng(5);
  const variants = [
    gradProm(),
    gradProm({ granularity: "layer" }),
    gradProm({ mode: "weighted" }),
    gradProm({ mode: "weighted", granularity: "layer" }),
  ];
  let conflicts = 0;
  for (let t = 0; t < 60; t++) {
    const [main, aux] = pair(rng);
    const mm = dot(main, main);
    if (dot(main, aux) < 0) conflicts++;
    for (const s of variants) {
      const r = s(main, aux);
      atLeast(dot(r.grads, main), mm, norm(r.grads) * Math.sqrt(mm), "gradProm");
      tf.dispose(r.grads);
    }
    tf.dispose([main, aux]);
  }
  assert.ok(conflicts > 15 && conflicts < 45, `${conflicts} conflicting pairs of 60`);
});

Deno.test("gradient similarity and asymmetric PCGrad keep ⟨u, m⟩ ≥ |m|²; symmetric PCGrad conflicts with neither", () => {
  const rng = new Rng(6);
  const keepsMain = [
    gradientSimilarity(),
    gradientSimilarity({ mode: "unweighted" }),
    gradientSimilarity({ granularity: "layer" }),
    pcGrad(),
    gradVac({ beta: 0, target: 0.2 }), // a target ≥ 0 keeps main's descent
  ];
  const symmetric = pcGrad({ symmetric: true });
  for (let t = 0; t < 40; t++) {
    const [main, aux] = pair(rng);
    const mm = dot(main, main), na = norm(aux);
    for (const s of keepsMain) {
      const r = s(main, aux);
      atLeast(dot(r.grads, main), mm, norm(r.grads) * Math.sqrt(mm), "keeps main");
      tf.dispose(r.grads);
    }
    const r = symmetric(main, aux);
    const nu = norm(r.grads);
    atLeast(dot(r.grads, main), 0, nu * Math.sqrt(mm), "symmetric PCGrad vs main");
    atLeast(dot(r.grads, aux), 0, nu * na, "symmetric PCGrad vs aux");
    tf.dispose([main, aux, r.grads]);
  }
});

Deno.test("MGDA's output never conflicts with either input, and is equiangular when interior", () => {
  const rng = new Rng(7);
  let interior = 0;
  for (let t = 0; t < 40; t++) {
    const [main, aux] = pair(rng);
    const r = mgda({ rescale: false })(main, aux);
    const nd = norm(r.grads), nm = norm(main), na = norm(aux);
    const dm = dot(r.grads, main), da = dot(r.grads, aux), dd = nd * nd;
    atLeast(dm, dd, nd * nm, "⟨d, m⟩ ≥ |d|²");
    atLeast(da, dd, nd * na, "⟨d, a⟩ ≥ |d|²");
    if (r.auxWeight > 0 && r.auxWeight < 1) {
      interior++;
      assert.ok(Math.abs(dm - da) <= 1e-4 * nd * (nm + na), `interior: ${dm} ≠ ${da}`);
    }
    tf.dispose([main, aux, r.grads]);
  }
  assert.ok(interior >= 10, `only ${interior} interior cases`);
});

Deno.test("every strategy handles zero gradients: finite output, cosine 0", () => {
  const zero = () => mapOf({ a: [0, 0], b: [0] });
  const some = () => mapOf({ a: [1, -2], b: [0.5] });
  for (const [name, make] of Object.entries(ALL)) {
    for (const [mainOf, auxOf] of [[zero, some], [some, zero], [zero, zero]]) {
      const main = mainOf(), aux = auxOf();
      const r = make()(main, aux);
      assert.equal(r.cosine, 0, name);
      const u = read(r.grads);
      assert.ok([...u.a, ...u.b].every(Number.isFinite), `${name}: ${JSON.stringify(u)}`);
      // With aux = 0, no strategy may reverse main.
      if (auxOf === zero && mainOf === some) {
        assert.ok(dot(r.grads, main) >= 0, `${name} reversed main when aux = 0`);
      }
      tf.dispose([main, aux, r.grads]);
    }
  }
});

Deno.test("cosine exactly 0: the ≥ gates add aux, the strict gate does not", () => {
  // Orthogonal by support: main only in a, aux only in b.
  const main = mapOf({ a: [1, -2], b: [0] }), aux = mapOf({ a: [0, 0], b: [3] });
  const added = (s: Strategy) => {
    const r = s(main, aux);
    assert.equal(r.cosine, 0);
    const b = read(r.grads).b[0];
    tf.dispose(r.grads);
    return b;
  };
  assert.equal(added(gradProm()), 3);
  assert.equal(added(gradProm({ mode: "weighted" })), 0); // max(0, 0)·aux
  assert.equal(added(gradientSimilarity({ mode: "unweighted" })), 0);
  assert.equal(added(pcGrad()), 3); // no conflict: m + a
  assert.equal(added(pcGrad({ symmetric: true })), 3);
  assert.equal(added(gradVac({ target: 0 })), 3); // φ = φ̂: not below target
  assert.equal(added(joint), 3);
  tf.dispose([main, aux]);
});

Deno.test("every strategy rejects NaN / Inf and mismatched maps with a clear error", () => {
  for (const [name, make] of Object.entries(ALL)) {
    const s = make();
    const cases: [Record<string, number[]>, Record<string, number[]>, RegExp][] = [
      [{ a: [1, NaN] }, { a: [1, 2] }, /finite main gradient.*'a'/],
      [{ a: [1, 2] }, { a: [Infinity, 0] }, /finite aux gradient.*'a'/],
      [{ a: [1] }, { b: [1] }, /missing in aux: a; only in aux: b/],
      [{ a: [1] }, { a: [1, 2] }, /equal shapes for 'a'/],
    ];
    for (const [m, a, pattern] of cases) {
      const main = mapOf(m), aux = mapOf(a);
      const before = tf.memory().numTensors;
      assert.throws(() => s(main, aux), pattern, name);
      assert.equal(tf.memory().numTensors, before, `${name} leaked while throwing`);
      tf.dispose([main, aux]);
    }
  }
});
