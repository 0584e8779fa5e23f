/**
 * Batch norm in training mode on the onednn backend (`batch_norm_train.ts`, used by
 * `batchNorm` in lib/models/module.ts): one native kernel each way, agreeing with the cpu
 * backend's portable path (`tf.moments`, `tf.batchNorm4d`, autodiff) on the output, the batch
 * statistics, the running-statistic updates and the gradients; and the cpu and wasm backends
 * still on that portable path, bit for bit.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Rng } from "../../util/rng.ts";
import {
  batchNorm,
  batchNormParams,
  BN_EPSILON,
  BN_MOMENTUM,
  type ForwardContext,
  Module,
} from "../../models/module.ts";
import {
  _initBackends,
  _make,
  _onBackend,
  _onednnUnavailable,
  _randn,
  _relError,
  type _Spec,
  _weightedSum,
} from "../_testing.ts";
import { registerBatchNormGradient } from "./batch_norm_gradient.ts";
import {
  BATCH_NORM_TRAIN_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  batchNormTrain,
  batchNormTrainApplies,
  RUNNING_STATISTICS_KERNEL,
  runningStatistics,
} from "./batch_norm_train.ts";
import {
  type KernelCallCounts,
  nativeCallCounts,
  ONEDNN_BACKEND,
  resetNativeCallCounts,
} from "./register_onednn_backend.ts";

await _initBackends();
registerBatchNormGradient(); // as setupBackend does, for every backend
const _unavailable = _onednnUnavailable();
await tf.setBackend("cpu");

/** A test that needs libdnnl 2.x; skipped, with the reason in its name, without it. */
const test = (name: string, fn: () => void | Promise<void>): void =>
  Deno.test({
    name: _unavailable ? `${name} (skipped: ${_unavailable})` : name,
    ignore: _unavailable !== undefined,
    fn,
  });

/** Runs `fn` with `backend` active. */
async function on<T>(backend: string, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  return fn();
}

/** NHWC shapes: batch 1, 1×1 and small spatial sizes, channels 1 to 64. */
const SHAPES: number[][] = [
  [1, 1, 1, 1],
  [1, 1, 1, 5],
  [3, 1, 1, 7],
  [1, 2, 3, 1],
  [1, 4, 4, 3],
  [2, 5, 5, 6],
  [2, 3, 3, 16],
  [8, 4, 4, 33],
  [2, 7, 5, 40],
  [4, 16, 16, 64],
];

/** Measured errors (relative to the largest expected magnitude) were ≤ 1e-6. */
const TOL = 1e-5;

/** Inputs of one case: `x` with per-channel offsets (a non-zero mean), γ around 1, β. */
function inputs(shape: number[], seed: number): { x: _Spec; gamma: _Spec; beta: _Spec } {
  const rng = new Rng(seed);
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const shifts = _randn(rng, c, 3);
  const x = _randn(rng, size, 2).map((v, i) => v + shifts[i % c]);
  const gamma = _randn(rng, c, 0.5).map((v) => 1 + v);
  return {
    x: { shape, values: x },
    gamma: { shape: [c], values: gamma },
    beta: { shape: [c], values: _randn(rng, c) },
  };
}

/** Everything compared between backends, as arrays. */
interface _Run {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/**
 * Forward `y`, batch mean and variance, and the gradients of `Σ y·r` w.r.t. x, γ and β, on
 * the active backend: the native op where `native`, else `tf.moments` + `tf.batchNorm4d`
 * (the portable path of `batchNorm` in module.ts).
 */
function runOp(spec: ReturnType<typeof inputs>, seed: number, native: boolean): _Run {
  const out = tf.tidy(() => {
    const [x, gamma, beta] = [spec.x, spec.gamma, spec.beta].map((s) => _make(s)) as [
      tf.Tensor4D,
      tf.Tensor1D,
      tf.Tensor1D,
    ];
    const forward = (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => {
      if (native) return batchNormTrain(x, g, b, 1e-5);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const y = tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, b, g, 1e-5);
      return { y, mean, variance };
    };
    const { y, mean, variance } = forward(x, gamma, beta);
    const grads = tf.grads((x, g, b) =>
      _weightedSum(forward(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D).y, seed)
    )([x, gamma, beta]);
    return [y, mean, variance, ...grads];
  });
  const [y, mean, variance, dx, dgamma, dbeta] = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return { y, mean, variance, dx, dgamma, dbeta };
}

/**
 * The error of `dx` relative to the largest of its terms `γ·dy/√(variance + ε)` (or to its
 * largest expected value, if larger): where N·H·W = 1, `dx` is zero and the cpu path gives
 * the rounding left by the cancelling terms (~1e-5 of them), which no relative error to the
 * expected values themselves can judge.
 */
function _dxError(
  actual: Float32Array,
  expected: Float32Array,
  spec: ReturnType<typeof inputs>,
  seed: number,
): number {
  const c = spec.gamma.values.length;
  const variance = _variance(spec.x);
  const dy = _randn(new Rng(seed), actual.length); // the weights of _weightedSum(y, seed)
  let diff = 0, scale = 0;
  for (let i = 0; i < actual.length; i++) {
    const term = spec.gamma.values[i % c] * dy[i] / Math.sqrt(variance[i % c] + 1e-5);
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(term), Math.abs(expected[i]));
  }
  return diff / scale;
}

/** Biased per-channel variance of an NHWC `x`, in float64. */
function _variance(x: _Spec): Float64Array {
  const c = x.shape[3], rows = x.values.length / c;
  const sum = new Float64Array(c), sq = new Float64Array(c);
  x.values.forEach((v, i) => (sum[i % c] += v));
  x.values.forEach((v, i) => (sq[i % c] += (v - sum[i % c] / rows) ** 2));
  return sq.map((v) => v / rows);
}

/** The onednn kernel calls since the last reset, for the kernels named. */
function callsOf(names: string[]): Record<string, KernelCallCounts> {
  const all = nativeCallCounts();
  return Object.fromEntries(names.map((n) => [n, all[n]]));
}

test("batchNormTrain() on onednn: one native kernel each way, matching cpu's moments + batchNorm4d", async () => {
  const worst: Partial<Record<keyof _Run, [number, number]>> = {};
  for (const [i, shape] of SHAPES.entries()) {
    const spec = inputs(shape, 100 + i);
    const cpu = await _onBackend("cpu", () => runOp(spec, 200 + i, false));
    await tf.setBackend(ONEDNN_BACKEND);
    const start = tf.memory().numTensors;
    resetNativeCallCounts();
    const dnn = runOp(spec, 200 + i, true);
    assert.equal(tf.memory().numTensors, start, `[${shape}]: tensors leaked`);
    // The forward op once, and again inside tf.grads; the backward kernel once. Nothing fell
    // back, and none of the portable path's kernels ran.
    assert.deepEqual(
      callsOf([BATCH_NORM_TRAIN_KERNEL, BATCH_NORM_TRAIN_GRAD_KERNEL, "FusedBatchNorm", "Mean"]),
      {
        [BATCH_NORM_TRAIN_KERNEL]: { native: 2, js: 0, cpu: 0 },
        [BATCH_NORM_TRAIN_GRAD_KERNEL]: { native: 1, js: 0, cpu: 0 },
        FusedBatchNorm: { native: 0, js: 0, cpu: 0 },
        Mean: { native: 0, js: 0, cpu: 0 },
      },
      `[${shape}]`,
    );
    for (const k of Object.keys(cpu) as (keyof _Run)[]) {
      const err = k === "dx" ? _dxError(dnn.dx, cpu.dx, spec, 200 + i) : _relError(dnn[k], cpu[k]);
      const abs = dnn[k].reduce((m, v, j) => Math.max(m, Math.abs(v - cpu[k][j])), 0);
      worst[k] = [Math.max(worst[k]?.[0] ?? 0, err), Math.max(worst[k]?.[1] ?? 0, abs)];
      assert.ok(err <= TOL, `[${shape}] ${k}: error ${err}`);
    }
  }
  const report = Object.entries(worst).map(([k, [rel, abs]]) =>
    `${k} ${rel.toExponential(1)} (abs ${abs.toExponential(1)})`
  );
  console.log(`batchNormTrain vs cpu, largest relative error: ${report.join(", ")}`);
  await tf.setBackend("cpu");
});

test("batchNormTrain(): the variance is the biased one (divided by N·H·W), as tf.moments", async () => {
  await on(ONEDNN_BACKEND, () => {
    tf.tidy(() => {
      // Channel 0: 1, 2, 3, 4 (mean 2.5, biased variance 1.25); channel 1: all 7.
      const x = tf.tensor4d([1, 7, 2, 7, 3, 7, 4, 7], [1, 2, 2, 2]);
      const { mean, variance } = batchNormTrain(x, tf.ones([2]), tf.zeros([2]), 1e-5);
      assert.deepEqual([...mean.dataSync()], [2.5, 7]);
      assert.deepEqual([...variance.dataSync()], [1.25, 0]);
    });
  });
  await tf.setBackend("cpu");
});

test("batchNormTrain(): gradients through the returned mean and variance are added to dx", async () => {
  const spec = inputs([2, 3, 3, 4], 7);
  // A loss that uses y, the mean and the variance: dx must include the statistics' paths.
  const run = (native: boolean) =>
    tf.tidy(() => {
      const x = _make(spec.x) as tf.Tensor4D;
      const g = tf.tensor1d(spec.gamma.values), b = tf.tensor1d(spec.beta.values);
      return tf.grads((x, g, b) => {
        const o = native
          ? batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5)
          : (() => {
            const { mean, variance } = tf.moments(x, [0, 1, 2]);
            const y = tf.batchNorm4d(
              x as tf.Tensor4D,
              mean as tf.Tensor1D,
              variance as tf.Tensor1D,
              b as tf.Tensor1D,
              g as tf.Tensor1D,
              1e-5,
            );
            return { y, mean, variance };
          })();
        return tf.addN([
          _weightedSum(o.y, 3),
          _weightedSum(o.mean, 4),
          _weightedSum(o.variance, 5),
        ]) as tf.Scalar;
      })([x, g, b]).map((t) => t.dataSync() as Float32Array);
    });
  const cpu = await _onBackend("cpu", () => run(false));
  const dnn = await on(ONEDNN_BACKEND, () => run(true));
  for (let i = 0; i < 3; i++) {
    const err = _relError(dnn[i], cpu[i]);
    assert.ok(err <= TOL, `gradient ${i}: error ${err}`);
  }
  await tf.setBackend("cpu");
});

/**
 * `batchNorm` of module.ts in training mode with running-statistic updates: the output, the
 * new running mean and variance, and the gradients w.r.t. x, γ and β (all as variables).
 */
function runModule(spec: ReturnType<typeof inputs>, seed: number): Float32Array[] {
  const c = spec.x.shape[3];
  const m = new Module("bn_train_test", 1);
  batchNormParams(m, "bn", c);
  const rng = new Rng(seed);
  tf.tidy(() => {
    m.p("bn/gamma").assign(tf.tensor1d(spec.gamma.values));
    m.p("bn/beta").assign(tf.tensor1d(spec.beta.values));
    m.p("bn/moving_mean").assign(tf.tensor1d(_randn(rng, c)));
    m.p("bn/moving_variance").assign(tf.tensor1d(_randn(rng, c).map((v) => 1 + v * v)));
  });
  const x = tf.tidy(() => tf.variable(_make(spec.x), true));
  const ctx: ForwardContext = { training: true, updates: new Map() };
  let y: Float32Array = new Float32Array();
  const { value, grads } = tf.variableGrads(() => {
    const out = batchNorm(m, "bn", x as tf.Variable<tf.Rank.R4>, ctx);
    y = out.dataSync() as Float32Array;
    return _weightedSum(out, seed);
  }, [x, m.p("bn/gamma"), m.p("bn/beta")]);
  const names = [x.name, m.key("bn/gamma"), m.key("bn/beta")];
  const result = [
    y,
    ctx.updates!.get(m.key("bn/moving_mean"))!.dataSync() as Float32Array,
    ctx.updates!.get(m.key("bn/moving_variance"))!.dataSync() as Float32Array,
    ...names.map((n) => grads[n].dataSync() as Float32Array),
  ];
  tf.dispose([value, ...Object.values(grads), ...ctx.updates!.values(), x]);
  m.dispose();
  return result;
}

test("batchNorm() of module.ts in training mode: native on onednn, running statistics as on cpu", async () => {
  for (const [i, shape] of [[1, 1, 1, 3], [1, 3, 2, 8], [4, 8, 8, 32]].entries()) {
    const spec = inputs(shape, 300 + i);
    const cpu = await _onBackend("cpu", () => runModule(spec, 400 + i));
    await tf.setBackend(ONEDNN_BACKEND);
    const start = tf.memory().numTensors;
    resetNativeCallCounts();
    const dnn = runModule(spec, 400 + i);
    assert.equal(tf.memory().numTensors, start, `[${shape}]: tensors leaked`);
    assert.deepEqual(callsOf([BATCH_NORM_TRAIN_KERNEL, BATCH_NORM_TRAIN_GRAD_KERNEL]), {
      [BATCH_NORM_TRAIN_KERNEL]: { native: 1, js: 0, cpu: 0 },
      [BATCH_NORM_TRAIN_GRAD_KERNEL]: { native: 1, js: 0, cpu: 0 },
    });
    const what = ["y", "moving_mean", "moving_variance", "dx", "dgamma", "dbeta"];
    cpu.forEach((expected, j) => {
      const err = what[j] === "dx"
        ? _dxError(dnn[j], expected, spec, 400 + i)
        : _relError(dnn[j], expected);
      assert.ok(err <= TOL, `[${shape}] ${what[j]}: error ${err}`);
    });
  }
  await tf.setBackend("cpu");
});

/** The training branch of `batchNorm` as it was before the native kernel (the reference). */
function portable(m: Module, x: tf.Tensor4D, updates: Map<string, tf.Tensor>): tf.Tensor4D {
  const gamma = m.p("bn/gamma") as tf.Variable<tf.Rank.R1>;
  const beta = m.p("bn/beta") as tf.Variable<tf.Rank.R1>;
  const mm = m.p("bn/moving_mean"), mv = m.p("bn/moving_variance");
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  const unbiased = tf.mul(variance, n / Math.max(1, n - 1));
  const newMean = tf.add(tf.mul(mm, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM));
  const newVar = tf.add(tf.mul(mv, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM));
  updates.set(mm.name, tf.keep(newMean));
  updates.set(mv.name, tf.keep(newVar));
  return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, BN_EPSILON);
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`batchNorm() of module.ts on ${backend}: the portable path, bit for bit`, async () => {
    const spec = inputs([2, 5, 5, 6], 9);
    await _onBackend(backend, () => {
      assert.equal(
        batchNormTrainApplies(tf.zeros([1, 1, 1, 6]), tf.ones([6]), tf.ones([6])),
        false,
      );
      const m = new Module("bn_train_test", 1);
      batchNormParams(m, "bn", 6);
      tf.tidy(() => m.p("bn/gamma").assign(tf.tensor1d(spec.gamma.values)));
      const results = [true, false].map((library) =>
        tf.tidy(() => {
          const x = _make(spec.x) as tf.Tensor4D;
          const updates = new Map<string, tf.Tensor>();
          const { value, grads } = tf.variableGrads(() => {
            const y = library
              ? batchNorm(m, "bn", x, { training: true, updates })
              : portable(m, x, updates);
            return _weightedSum(y, 1);
          }, [m.p("bn/gamma"), m.p("bn/beta")]);
          const out = [value, ...Object.values(grads), ...updates.values()].map((t) =>
            t.dataSync() as Float32Array
          );
          tf.dispose([...updates.values()]);
          return out;
        })
      );
      m.dispose();
      assert.deepEqual(results[0], results[1]);
    });
    await tf.setBackend("cpu");
  });
}

test("runningStatistics on onednn is one kernel, bit-identical to its ops on cpu", async () => {
  const rng = new Rng(41);
  for (const [c, count] of [[16, 8192], [7, 2], [33, 1], [128, 512]]) {
    const values = [0, 1, 2, 3].map((k) => {
      const a = _randn(rng, c, 3);
      // The variances positive, as batch statistics are.
      return k % 2 ? a.map((v) => Math.abs(v) + 0.1) : a;
    });
    const run = () =>
      tf.tidy(() => {
        const [mm, mv, m, v] = values.map((a) => tf.tensor1d(a));
        return runningStatistics(mm, mv, m, v, count, BN_MOMENTUM);
      }).map((t) => {
        const out = t.dataSync() as Float32Array;
        t.dispose();
        return out;
      });
    const cpu = await on("cpu", run);
    const dnn = await on(ONEDNN_BACKEND, run);
    assert.deepEqual(dnn, cpu, `C = ${c}, count ${count}: the kernel and the ops differ`);
  }
  // One kernel call on onednn.
  await on(ONEDNN_BACKEND, async () => {
    const t = tf.ones([4]) as tf.Tensor1D;
    const p = await tf.profile(() => {
      tf.dispose(runningStatistics(t, t, t, t, 10, 0.1));
    });
    assert.deepEqual(p.kernels.map((k) => k.name), [RUNNING_STATISTICS_KERNEL]);
    t.dispose();
  });
});
