/**
 * Tests of the fused gradient arithmetic (`_fused_kernels.ts` through `grad_math.ts` and
 * `_linear.ts`): one kernel call per map, bit-identical combinations, float64-accurate
 * statistics, the plain-op fallback, registration, and memory ownership. Each test runs on
 * the cpu backend and, where libdnnl loads, on the onednn backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { registerGradients } from "../backend/register_gradients.ts";
import { registerOnednnBackend } from "../backend/onednn/register_onednn_backend.ts";
import { Rng } from "../util/rng.ts";
import { combine, gradientStats } from "./grad_math.ts";
import { linearCombine } from "./_linear.ts";
import {
  GRADIENT_STATS_KERNEL,
  LINEAR_COMBINE_KERNEL,
  registerFusedKernels,
} from "./_fused_kernels.ts";
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

registerGradients();
const BACKENDS: string[] = ["cpu"];
/** What TF.js warned while the onednn backend copied the cpu kernels (these included). */
const registrationWarnings: string[] = [];
{
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void registrationWarnings.push(args.join(" "));
  try {
    registerOnednnBackend();
    BACKENDS.push("onednn");
  } catch (e) {
    warn(`onednn variants skipped: ${e instanceof Error ? e.message : e}`);
  } finally {
    console.warn = warn;
  }
}

/** A conv kernel above the onednn backend's native size (4096), a bias, a scalar, a dense layer. */
const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 16, 32],
  "conv/bias": [32],
  "gain": [],
  "dense/kernel": [64, 100],
  "head/kernel": [5, 3],
};

function randomMap(rng: Rng, specials = false): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [k, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = Math.exp(2 * rng.normal());
    const v = Float32Array.from({ length: n }, () => rng.normal() * scale);
    // Signed zeros, a subnormal and a large value: the rounding corners of mul and add.
    if (specials && n > 8) v.set([0, -0, 1e-40, -3e-39, 1e30, -7e29], 2);
    out[k] = tf.tensor(v, shape, "float32");
  }
  return out;
}

function dispose(...maps: tf.NamedTensorMap[]): void {
  for (const m of maps) tf.dispose(Object.values(m));
}

/** Today's plain-op `gradientStats` sums, as `[dot, mainSq, auxSq]` per key. */
function statsByOps(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): number[] {
  const v = tf.tidy(() =>
    tf.stack(
      Object.keys(main).flatMap((k) => {
        const m = tf.cast(main[k], "float32"), a = tf.cast(aux[k], "float32");
        return [tf.sum(tf.mul(m, a)), tf.sum(tf.square(m)), tf.sum(tf.square(a))];
      }),
    )
  );
  const out = Array.from(v.dataSync());
  v.dispose();
  return out;
}

/** The same sums in float64 on the host. */
function statsFloat64(main: tf.NamedTensorMap, aux: tf.NamedTensorMap): number[] {
  return Object.keys(main).flatMap((k) => {
    const m = main[k].dataSync(), a = aux[k].dataSync();
    let d = 0, mm = 0, aa = 0;
    for (let i = 0; i < m.length; i++) d += m[i] * a[i], mm += m[i] * m[i], aa += a[i] * a[i];
    return [d, mm, aa];
  });
}

/** Today's plain-op `combine`. */
function combineByOps(main: tf.NamedTensorMap, aux: tf.NamedTensorMap, w: number[]) {
  return Object.fromEntries(
    Object.keys(main).map((k, i) => [
      k,
      tf.tidy(() =>
        w[i] === 0
          ? tf.clone(main[k])
          : w[i] === 1
          ? tf.add(main[k], aux[k])
          : tf.add(main[k], tf.mul(aux[k], w[i]))
      ),
    ]),
  ) as tf.NamedTensorMap;
}

/** Today's plain-op `linearCombine`. */
function linearByOps(main: tf.NamedTensorMap, aux: tf.NamedTensorMap, a: number, b: number) {
  const scaled = (t: tf.Tensor, w: number) => w === 1 ? t : tf.mul(t, w);
  return Object.fromEntries(
    Object.keys(main).map((k) => [
      k,
      tf.tidy(() =>
        b === 0
          ? (a === 1 ? tf.clone(main[k]) : tf.mul(main[k], a))
          : a === 0
          ? (b === 1 ? tf.clone(aux[k]) : tf.mul(aux[k], b))
          : tf.add(scaled(main[k], a), scaled(aux[k], b))
      ),
    ]),
  ) as tf.NamedTensorMap;
}

function assertBitwise(got: tf.NamedTensorMap, want: tf.NamedTensorMap, what: string): void {
  assert.deepEqual(Object.keys(got), Object.keys(want), what);
  for (const k of Object.keys(want)) {
    assert.deepEqual(got[k].shape, want[k].shape, `${what} '${k}' shape`);
    assert.equal(got[k].dtype, "float32", `${what} '${k}' dtype`);
    const g = got[k].dataSync() as Float32Array, w = want[k].dataSync() as Float32Array;
    const gb = new Uint32Array(g.buffer, g.byteOffset, g.length);
    const wb = new Uint32Array(w.buffer, w.byteOffset, w.length);
    const i = gb.findIndex((x, j) => x !== wb[j]);
    assert.equal(i, -1, `${what} '${k}' differs at ${i}: ${g[i]} vs ${w[i]}`);
  }
}

/** The kernels that `fn` runs, by name. */
async function kernelsOf(fn: () => void): Promise<string[]> {
  return (await tf.profile(fn)).kernels.map((k) => k.name);
}

/** Runs `fn` with `kernelName` unregistered on the current backend (the fallback path). */
function withoutKernel<T>(kernelName: string, fn: () => T): T {
  const backendName = tf.getBackend();
  tf.unregisterKernel(kernelName, backendName);
  try {
    return fn();
  } finally {
    tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFuncs[kernelName] });
  }
}
const kernelFuncs: Record<string, tf.KernelFunc> = Object.fromEntries(
  [GRADIENT_STATS_KERNEL, LINEAR_COMBINE_KERNEL].map((
    n,
  ) => [n, tf.getKernel(n, "cpu")!.kernelFunc]),
);

function relClose(got: number[], want: number[], tol: number, scale: number[], what: string) {
  got.forEach((x, i) => {
    const err = Math.abs(x - want[i]);
    assert.ok(err <= tol * scale[i], `${what}[${i}]: ${x} vs ${want[i]} (error ${err})`);
  });
}

Deno.test("registerFusedKernels() registers for cpu and onednn, idempotently and silently", () => {
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args);
  try {
    registerFusedKernels();
    registerFusedKernels();
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  assert.deepEqual(registrationWarnings.filter((w) => w.includes("Gradprom")), []);
  for (const backend of BACKENDS) {
    for (const name of [GRADIENT_STATS_KERNEL, LINEAR_COMBINE_KERNEL]) {
      assert.ok(tf.getKernel(name, backend), `${name} on ${backend}`);
    }
  }
  for (const backend of ["wasm", "webgpu", "tensorflow"]) {
    assert.equal(tf.getKernel(GRADIENT_STATS_KERNEL, backend), undefined);
  }
});

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => void | Promise<void>) =>
    Deno.test(`${name} (${backend})`, async () => {
      await tf.setBackend(backend);
      assert.equal(tf.getBackend(), backend);
      await fn();
    });

  test("gradientStats() is one kernel call, float64-accurate and close to the ops", async () => {
    const rng = new Rng(1);
    const main = randomMap(rng), aux = randomMap(rng);
    const before = tf.memory().numTensors;
    assert.deepEqual(await kernelsOf(() => gradientStats(main, aux)), [GRADIENT_STATS_KERNEL]);
    const s = gradientStats(main, aux);
    assert.equal(tf.memory().numTensors, before);
    const got = s.keys.flatMap((_, i) => [s.dot[i], s.mainSq[i], s.auxSq[i]]);
    const ref = statsFloat64(main, aux);
    // |⟨m, a⟩| ≤ |m|·|a|: the scale against which sums of products are rounded.
    const scale = ref.map((x, i) => i % 3 === 0 ? Math.sqrt(ref[i + 1] * ref[i + 2]) : x);
    relClose(got, ref, 1e-6, ref.map(Math.abs), "vs float64");
    relClose(got, statsByOps(main, aux), 1e-5, scale, "vs ops");
    const totals = [s.totalDot, s.totalMainSq, s.totalAuxSq];
    const refTotals = [0, 1, 2].map((j) =>
      ref.filter((_, i) => i % 3 === j).reduce((a, b) => a + b)
    );
    relClose(totals, refTotals, 1e-6, [scale[0], refTotals[1], refTotals[2]], "totals");
    dispose(main, aux);
  });

  test("gradientStats() falls back to the ops without the kernel or for other dtypes", async () => {
    const rng = new Rng(2);
    const main = randomMap(rng), aux = randomMap(rng);
    const fused = gradientStats(main, aux);
    const fallback = withoutKernel(GRADIENT_STATS_KERNEL, () => gradientStats(main, aux));
    assert.deepEqual([...fallback.dot, ...fallback.mainSq, ...fallback.auxSq], [
      ...statsByOps(main, aux).filter((_, i) => i % 3 === 0),
      ...statsByOps(main, aux).filter((_, i) => i % 3 === 1),
      ...statsByOps(main, aux).filter((_, i) => i % 3 === 2),
    ]);
    relClose(fallback.mainSq, fused.mainSq, 1e-5, fused.mainSq, "fallback");
    const ints = { w: tf.tensor([1, 2], [2], "int32") }, floats = { w: tf.tensor([3, -1]) };
    const names = await kernelsOf(() => gradientStats(ints, floats));
    assert.ok(names.includes("Cast") && !names.includes(GRADIENT_STATS_KERNEL), `${names}`);
    const s = gradientStats(ints, floats);
    assert.deepEqual([s.totalDot, s.totalMainSq, s.totalAuxSq], [1, 5, 10]);
    dispose(main, aux, ints, floats);
  });

  test("gradientStats() keeps its errors for NaN, ±Inf and float32 overflow", () => {
    const cases: [number[], number[], string][] = [
      [[1, NaN], [1, 1], "Expected a finite main gradient but found NaN in its norm for 'w'"],
      [
        [1, 1],
        [Infinity, 1],
        "Expected a finite aux gradient but found Infinity in its norm for 'w'",
      ],
      [[1e20, 1], [1, 1], "Expected a finite main gradient but found Infinity in its norm for 'w'"],
    ];
    for (const [m, a, message] of cases) {
      const main = { w: tf.tensor(m) }, aux = { w: tf.tensor(a) };
      const before = tf.memory().numTensors;
      assert.throws(() => gradientStats(main, aux), { name: "RangeError", message });
      withoutKernel(
        GRADIENT_STATS_KERNEL,
        () => assert.throws(() => gradientStats(main, aux), { name: "RangeError", message }),
      );
      assert.equal(tf.memory().numTensors, before);
      dispose(main, aux);
    }
    const main = { w: tf.tensor([1, 2]) };
    assert.throws(() => gradientStats(main, { w: tf.tensor([1, 2, 3]) }), {
      name: "RangeError",
      message: "Expected equal shapes for 'w' but found [2] and [3]",
    });
  });

  test("combine() is one kernel call and bit-identical to the ops", async () => {
    const rng = new Rng(3);
    const main = randomMap(rng, true), aux = randomMap(rng, true);
    const n = Object.keys(main).length;
    const weightSets = [
      Array(n).fill(0),
      Array(n).fill(1),
      Array(n).fill(0.5),
      Array(n).fill(1 / 3),
      Array(n).fill(-0.3),
      Array(n).fill(1e-8),
      [0, 1, 0.7071067811865476, 1 / 3, 2.5],
    ];
    for (const w of weightSets) {
      const before = tf.memory().numTensors;
      const names = await kernelsOf(() => dispose(combine(main, aux, (_, i) => w[i])));
      assert.deepEqual(names, [LINEAR_COMBINE_KERNEL]);
      assert.equal(tf.memory().numTensors, before);
      const got = combine(main, aux, (_, i) => w[i]), want = combineByOps(main, aux, w);
      assertBitwise(got, want, `combine w=[${w}]`);
      const fallback = withoutKernel(
        LINEAR_COMBINE_KERNEL,
        () => combine(main, aux, (_, i) => w[i]),
      );
      assertBitwise(fallback, want, `fallback w=[${w}]`);
      dispose(got, want, fallback);
      assert.equal(tf.memory().numTensors, before);
    }
    dispose(main, aux);
  });

  test("linearCombine() is one kernel call and bit-identical to the ops", async () => {
    const rng = new Rng(4);
    const main = randomMap(rng, true), aux = randomMap(rng, true);
    const pairs: [number, number][] = [
      [1, 1],
      [1, 0],
      [0, 1],
      [0, 0],
      [2.5, 0],
      [0, -0.3],
      [1, 0.1],
      [1.7, 1],
      [0.7071067811865476, 1 / 3],
      [-2, 1e-7],
    ];
    for (const [a, b] of pairs) {
      const before = tf.memory().numTensors;
      const names = await kernelsOf(() => dispose(linearCombine(main, aux, a, b)));
      assert.deepEqual(names, [LINEAR_COMBINE_KERNEL]);
      const got = linearCombine(main, aux, a, b), want = linearByOps(main, aux, a, b);
      assertBitwise(got, want, `linearCombine(${a}, ${b})`);
      dispose(got, want);
      assert.equal(tf.memory().numTensors, before);
    }
    dispose(main, aux);
  });

  test("combine() outputs are the caller's: fresh tensors that outlive the inputs", () => {
    const main = { w: tf.tensor([1, -2]), v: tf.tensor([3]) };
    const aux = { w: tf.tensor([4, 8]), v: tf.tensor([5]) };
    const before = tf.memory().numTensors;
    const out = combine(main, aux, (_, i) => i === 0 ? 0 : 0.5);
    const copy = linearCombine(main, aux, 0, 1);
    assert.notEqual(out.w, main.w);
    assert.notEqual(copy.w, aux.w);
    dispose(main, aux);
    assert.deepEqual([...out.w.dataSync(), ...out.v.dataSync()], [1, -2, 5.5]);
    assert.deepEqual([...copy.w.dataSync(), ...copy.v.dataSync()], [4, 8, 5]);
    dispose(out, copy);
    assert.equal(tf.memory().numTensors, before - 4);
  });

  test("combine() falls back to the ops for other dtypes and broadcasting shapes", async () => {
    const ints = { w: tf.tensor([1, 2], [2], "int32") }, floats = { w: tf.tensor([3, -1]) };
    const names = await kernelsOf(() => dispose(combine(ints, floats, () => 1)));
    assert.ok(!names.includes(LINEAR_COMBINE_KERNEL), `${names}`);
    const sum = combine(ints, floats, () => 1);
    assert.deepEqual([...sum.w.dataSync()], [4, 1]);
    const wide = { w: tf.tensor([[1, 2], [3, 4]]) }, row = { w: tf.tensor([10, 20]) };
    const b = combine(wide, row, () => 0.5);
    assert.deepEqual([...b.w.dataSync()], [6, 12, 8, 14]);
    dispose(ints, floats, sum, wide, row, b);
  });

  test("every two-task strategy runs two kernel calls and leaks nothing", async () => {
    const strategies: Record<string, () => Strategy> = {
      joint: () => joint,
      ipOnly: () => ipOnly,
      "gradProm layer weighted": () => gradProm({ mode: "weighted", granularity: "layer" }),
      "gradientSimilarity layer": () => gradientSimilarity({ granularity: "layer" }),
      "pcGrad symmetric": () => pcGrad({ symmetric: true }),
      gradVac: () => gradVac({ beta: 0.1 }),
      caGrad: () => caGrad(),
      mgda: () => mgda(),
    };
    const rng = new Rng(5);
    const main = randomMap(rng), aux = randomMap(rng);
    for (const [name, make] of Object.entries(strategies)) {
      const before = tf.memory().numTensors;
      const names = await kernelsOf(() => dispose(make()(main, aux).grads));
      assert.deepEqual(names, [GRADIENT_STATS_KERNEL, LINEAR_COMBINE_KERNEL], name);
      assert.equal(tf.memory().numTensors, before, name);
    }
    dispose(main, aux);
  });
}
