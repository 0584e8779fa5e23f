/**
 * `FusedAdam` and `FusedSgd` against `tf.train.adam` and `tf.train.sgd` run side by side on
 * every backend this process can start: variables, moments and running powers bit-identical
 * after every step (several learning rates and β's, scalar to 4-D variables, gradients from
 * 1e-6 to 1e4), checkpoints that resume in the other optimizer (through
 * lib/train/training_state.ts and through `setWeights` alone), gradients left out or null,
 * NaN and ±Inf gradients, and no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import assert from "node:assert/strict";
import { _initBackends, _onednnUnavailable } from "../backend/_testing.ts";
import { Rng } from "../util/rng.ts";
import { FusedAdam, FusedSgd, type VariableGradients } from "./fused_optimizer.ts";
import { loadTrainingState, removeTrainingState, saveTrainingState } from "./training_state.ts";

await _initBackends();
const ONEDNN_MISSING = _onednnUnavailable();

const SHAPES: number[][] = [[], [1], [7], [3, 4], [2, 3, 3, 5], [64]];
/** Gradient magnitude per variable: small, ordinary and large. */
const SCALES = [1, 1e-3, 1e4, 0.5, 1e-6, 30];
const STEPS = 50;

let _set = 0;

/** Variables of SHAPES with seeded values, named `<prefix><k>` uniquely in the process. */
function _variables(seed: number, prefix = "v"): tf.Variable[] {
  const rng = new Rng(seed);
  const tag = `fused_optimizer_test/${_set++}/${prefix}`;
  return SHAPES.map((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape, "float32");
    const v = tf.variable(t, true, `${tag}${k}`);
    t.dispose();
    return v;
  });
}

/** Seeded gradients for SHAPES (plain arrays: the same on every backend and every side). */
function _gradientValues(rng: Rng): Float32Array[] {
  return SHAPES.map((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return Float32Array.from({ length: n }, () => SCALES[k] * rng.normal());
  });
}

/** `{name: gradient}` for the variables at `which` (all by default). */
function _map(vars: tf.Variable[], grads: Float32Array[], which?: number[]): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const k of which ?? vars.map((_, k) => k)) {
    out[vars[k].name] = tf.tensor(grads[k], vars[k].shape, "float32");
  }
  return out;
}

/** Applies the same gradients (fresh tensors for each side) to both, then disposes them. */
function _step(
  pairs: [tf.Optimizer, tf.Variable[]][],
  grads: Float32Array[],
  which?: number[],
): void {
  for (const [opt, vars] of pairs) {
    const g = _map(vars, grads, which);
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  }
}

function _bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);
}

/** Asserts two float32 tensors are bit-identical, naming the first element that differs. */
function _assertSameBits(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = _bits(actual), e = _bits(expected);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) {
      const f = new Float32Array(a.buffer)[i], g = new Float32Array(e.buffer)[i];
      assert.fail(
        `${what}: element ${i} is ${f} (0x${a[i].toString(16)}) but TF.js has ${g} ` +
          `(0x${e[i].toString(16)})`,
      );
    }
  }
}

function _assertSameVariables(actual: tf.Variable[], expected: tf.Variable[], what: string) {
  actual.forEach((v, k) => _assertSameBits(v, expected[k], `${what}, variable ${k}`));
}

/** `getWeights` of both, names (without the variable-set prefix) and values bit-identical. */
async function _assertSameWeights(
  fused: tf.Optimizer,
  ref: tf.Optimizer,
  fusedVars: tf.Variable[],
  refVars: tf.Variable[],
  what: string,
): Promise<void> {
  const [a, e] = [await fused.getWeights(), await ref.getWeights()];
  try {
    assert.equal(a.length, e.length, `${what}: number of weights`);
    const rename = (name: string, vars: tf.Variable[]) =>
      vars.reduce((n, v, k) => n.replace(new RegExp(`^${v.name}/`), `#${k}/`), name);
    for (let i = 0; i < e.length; i++) {
      assert.equal(rename(a[i].name, fusedVars), rename(e[i].name, refVars), `${what}: name ${i}`);
      assert.equal(a[i].tensor.dtype, e[i].tensor.dtype, `${what}: dtype of ${e[i].name}`);
      if (e[i].tensor.dtype === "int32") {
        assert.deepEqual(a[i].tensor.dataSync(), e[i].tensor.dataSync(), `${what}: ${e[i].name}`);
      } else _assertSameBits(a[i].tensor, e[i].tensor, `${what}: weight ${e[i].name}`);
    }
  } finally {
    for (const w of [...a, ...e]) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }
}

/** The running powers β1^t, β2^t of a TF.js or fused Adam. */
function _powers(opt: tf.Optimizer): tf.Variable[] {
  const o = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  return [o.accBeta1, o.accBeta2];
}

const ADAM_CASES: { lr: number; beta1?: number; beta2?: number; epsilon?: number }[] = [
  { lr: 1e-4 },
  { lr: 1e-2 },
  { lr: 1 },
  { lr: 3e-3, beta1: 0.5, beta2: 0.99, epsilon: 1e-3 },
];

for (const backend of ["cpu", "onednn", "wasm"]) {
  const missing = backend === "onednn" ? ONEDNN_MISSING : undefined;
  const test = (name: string, fn: (t: Deno.TestContext) => Promise<void>) =>
    Deno.test({
      name: `${name} on ${backend}` + (missing ? ` (skipped: ${missing})` : ""),
      ignore: missing !== undefined,
      fn: async (t) => {
        await tf.setBackend(backend);
        assert.equal(tf.getBackend(), backend);
        const before = tf.memory().numTensors;
        await fn(t);
        assert.equal(tf.memory().numTensors, before, "tensors leaked");
      },
    });

  test("FusedAdam is bit-identical to tf.train.adam", async (t) => {
    for (const c of ADAM_CASES) {
      await t.step(JSON.stringify(c), async () => {
        const refVars = _variables(1, "ref"), fusedVars = _variables(1, "fused");
        const ref = tf.train.adam(c.lr, c.beta1, c.beta2, c.epsilon);
        const fused = new FusedAdam(c.lr, c.beta1, c.beta2, c.epsilon);
        const rng = new Rng(2);
        let tensors = 0;
        for (let s = 1; s <= STEPS; s++) {
          _step([[ref, refVars], [fused, fusedVars]], _gradientValues(rng));
          _assertSameVariables(fusedVars, refVars, `step ${s}`);
          _powers(fused).forEach((p, k) => _assertSameBits(p, _powers(ref)[k], `β^t ${s}`));
          if (s === 2) tensors = tf.memory().numTensors;
          if (s > 2) assert.equal(tf.memory().numTensors, tensors, `tensors after step ${s}`);
        }
        assert.equal(fused.iterations, ref.iterations);
        await _assertSameWeights(fused, ref, fusedVars, refVars, "getWeights");
        // The update moved the variables (the comparison is not between two no-ops).
        const start = _variables(1, "start");
        assert.ok(fusedVars.some((v, k) => _bits(v).some((b, i) => b !== _bits(start[k])[i])));
        tf.dispose([...refVars, ...fusedVars, ...start]);
        ref.dispose();
        fused.dispose();
      });
    }
  });

  test("FusedSgd is bit-identical to tf.train.sgd", async (t) => {
    for (const lr of [1e-4, 1e-2, 1, 0.3]) {
      await t.step(`lr ${lr}`, async () => {
        const refVars = _variables(3, "ref"), fusedVars = _variables(3, "fused");
        const ref = tf.train.sgd(lr), fused = new FusedSgd(lr);
        const rng = new Rng(4);
        for (let s = 1; s <= STEPS; s++) {
          _step([[ref, refVars], [fused, fusedVars]], _gradientValues(rng));
          _assertSameVariables(fusedVars, refVars, `step ${s}`);
        }
        await _assertSameWeights(fused, ref, fusedVars, refVars, "getWeights");
        tf.dispose([...refVars, ...fusedVars]);
        ref.dispose();
        fused.dispose();
      });
    }
  });

  test("a checkpoint of either Adam resumes in the other (training_state)", async (t) => {
    for (const direction of ["tf.train.adam → FusedAdam", "FusedAdam → tf.train.adam"]) {
      await t.step(direction, async () => {
        const toFused = direction.startsWith("tf");
        const make = (fused: boolean) => fused ? new FusedAdam(1e-2) : tf.train.adam(1e-2);
        const path = await Deno.makeTempFile({ suffix: ".ckpt" });
        const rng = new Rng(5);
        // The run that is checkpointed and goes on uninterrupted.
        const runVars = _variables(6, "run"), run = make(!toFused);
        for (let s = 0; s < 20; s++) _step([[run, runVars]], _gradientValues(rng));
        await saveTrainingState(path, 20, null, { modules: {}, optimizers: { o: run } });
        // The resumed run: the variables copied (as the module part of a checkpoint does).
        const resumedVars = _variables(7, "resumed");
        resumedVars.forEach((v, k) => v.assign(runVars[k]));
        const resumed = make(toFused);
        const meta = await loadTrainingState(path, { modules: {}, optimizers: { o: resumed } });
        assert.equal(meta?.step, 20);
        assert.equal(resumed.iterations, 20);
        for (let s = 21; s <= 40; s++) {
          _step([[run, runVars], [resumed, resumedVars]], _gradientValues(rng));
          _assertSameVariables(resumedVars, runVars, `step ${s}`);
        }
        // The slot names are those saved, i.e. the checkpointed run's.
        await _assertSameWeights(resumed, run, runVars, runVars, "getWeights");
        await removeTrainingState(path);
        tf.dispose([...runVars, ...resumedVars]);
        run.dispose();
        resumed.dispose();
      });
    }
  });

  test("setWeights of one Adam's getWeights continues like TF.js's setWeights", async () => {
    const rng = new Rng(8);
    const srcVars = _variables(9, "src"), src = new FusedAdam(1e-3);
    for (let s = 0; s < 10; s++) _step([[src, srcVars]], _gradientValues(rng));
    const weights = await src.getWeights();
    const refVars = _variables(9, "ref"), fusedVars = _variables(9, "fused");
    refVars.forEach((v, k) => v.assign(srcVars[k]));
    fusedVars.forEach((v, k) => v.assign(srcVars[k]));
    const ref = tf.train.adam(1e-3), fused = new FusedAdam(1e-3);
    // Copies (setWeights adopts the tensors it is given; TF.js then owns them).
    const copies = () => weights.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
    const forRef = copies(), forFused = copies();
    await ref.setWeights(forRef);
    await fused.setWeights(forFused);
    tf.dispose([...forRef, ...forFused].map((w) => w.tensor));
    _powers(fused).forEach((p, k) => _assertSameBits(p, _powers(ref)[k], "β^t from pow"));
    for (let s = 11; s <= 20; s++) {
      _step([[ref, refVars], [fused, fusedVars]], _gradientValues(rng));
      _assertSameVariables(fusedVars, refVars, `step ${s}`);
    }
    await _assertSameWeights(fused, ref, fusedVars, refVars, "getWeights");
    // Its own getWeights back into itself: nothing changes, nothing leaks.
    const own = await fused.getWeights();
    await fused.setWeights(own);
    own[0].tensor.dispose();
    await _assertSameWeights(fused, ref, fusedVars, refVars, "after setWeights(getWeights())");
    weights[0].tensor.dispose();
    tf.dispose([...srcVars, ...refVars, ...fusedVars]);
    src.dispose();
    ref.dispose();
    fused.dispose();
  });

  test("gradients left out, null or in a list are handled as TF.js does", async () => {
    const rng = new Rng(12);
    for (const kind of ["adam", "sgd"]) {
      const refVars = _variables(10, "ref"), fusedVars = _variables(10, "fused");
      const ref = kind === "adam" ? tf.train.adam(1e-2) : tf.train.sgd(0.1);
      const fused = kind === "adam" ? new FusedAdam(1e-2) : new FusedSgd(0.1);
      const pair: [tf.Optimizer, tf.Variable[]][] = [[ref, refVars], [fused, fusedVars]];
      // Only the first three: Adam makes slots 0–2; variables 3–5 stay exactly as they were.
      for (let s = 0; s < 3; s++) _step(pair, _gradientValues(rng), [0, 1, 2]);
      const start = _variables(10, "start");
      for (const [, vars] of pair) {
        for (const k of [3, 4, 5]) _assertSameBits(vars[k], start[k], `variable ${k} untouched`);
      }
      tf.dispose(start);
      // A null gradient at position 3 (Adam makes its slot but does not update it).
      for (let s = 0; s < 3; s++) {
        const grads = _gradientValues(rng);
        for (const [opt, vars] of pair) {
          const g = _map(vars, grads, [0, 1, 2]);
          opt.applyGradients({ ...g, [vars[3].name]: null } as unknown as tf.NamedTensorMap);
          tf.dispose(Object.values(g));
        }
      }
      // All of them, in the list form.
      for (let s = 0; s < 3; s++) {
        const grads = _gradientValues(rng);
        for (const [opt, vars] of pair) {
          const list = vars.map((v, k) => ({
            name: v.name,
            tensor: tf.tensor(grads[k], v.shape, "float32"),
          }));
          opt.applyGradients(list as VariableGradients);
          tf.dispose(list.map((e) => e.tensor));
        }
      }
      _assertSameVariables(fusedVars, refVars, `${kind}: after subsets, nulls and lists`);
      await _assertSameWeights(fused, ref, fusedVars, refVars, `${kind}: getWeights`);
      // TF.js's Adam keeps slots by position: another order does not fit them, and both throw.
      if (kind === "adam") {
        for (const [opt, vars] of pair) {
          const g = _map(vars, _gradientValues(new Rng(0)), [2, 1]);
          assert.throws(() => opt.applyGradients(g));
          tf.dispose(Object.values(g));
        }
      }
      tf.dispose([...refVars, ...fusedVars]);
      ref.dispose();
      fused.dispose();
    }
  });

  test("NaN and infinite gradients give TF.js's values", async () => {
    for (const kind of ["adam", "sgd"]) {
      const refVars = _variables(13, "ref"), fusedVars = _variables(13, "fused");
      const ref = kind === "adam" ? tf.train.adam(1e-2) : tf.train.sgd(1e-2);
      const fused = kind === "adam" ? new FusedAdam(1e-2) : new FusedSgd(1e-2);
      const rng = new Rng(14);
      for (let s = 1; s <= 6; s++) {
        const grads = _gradientValues(rng);
        if (s === 2) grads[2][3] = NaN;
        if (s === 3) grads[3][0] = Infinity;
        if (s === 4) grads[3][1] = -Infinity;
        if (s === 5) grads[0][0] = NaN;
        _step([[ref, refVars], [fused, fusedVars]], grads);
        _assertSameVariables(fusedVars, refVars, `${kind} step ${s}`);
      }
      assert.ok(Number.isNaN(fusedVars[2].dataSync()[3]), "NaN reaches the variable");
      await _assertSameWeights(fused, ref, fusedVars, refVars, `${kind} getWeights`);
      tf.dispose([...refVars, ...fusedVars]);
      ref.dispose();
      fused.dispose();
    }
  });

  test("a gradient of the wrong shape is refused", () => {
    const vars = _variables(15, "v");
    for (const opt of [new FusedSgd(1), new FusedAdam(1)]) {
      const ok = tf.zeros([]), g = tf.zeros([4]);
      assert.throws(
        () => opt.applyGradients({ [vars[0].name]: ok, [vars[2].name]: g }),
        /gradient of '.*v2' to have shape \[7\] but found \[4\]/,
      );
      tf.dispose([ok, g]);
      opt.dispose();
    }
    // Nothing was updated before the error (the scalar's gradient was fine).
    const start = _variables(15, "start");
    _assertSameVariables(vars, start, "after the refused update");
    tf.dispose([...vars, ...start]);
    return Promise.resolve();
  });
}
