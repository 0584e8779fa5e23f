/**
 * Adam and SGD whose update is one pass in JS over every variable's values, instead of TF.js's
 * ~10 kernel calls per variable (Adam) or 2 (SGD), with results bit-identical to
 * `tf.train.adam` and `tf.train.sgd` on the cpu, onednn and wasm backends.
 *
 * Bit-identity: TF.js computes each step as a chain of float32 kernels (multiply, add, square,
 * divide, sqrt), each rounding its result to float32. The pass here does the same operations in
 * the same order on the same operands, rounding each result with `Math.fround`: for +, −, ×, ÷
 * and sqrt of float32 operands, the double result rounded once to float32 is the correctly
 * rounded float32 result, which is what every backend's kernel returns. The scalar operands are
 * the float32 scalars TF.js makes of them (`fround(1 - β1)`, `fround(-lr)`, …), and the bias
 * corrections come from the same float32 running powers β^t (`accBeta1`, `accBeta2`, variables
 * multiplied by β once per step), so a checkpoint (`getWeights`, plus the running powers that
 * lib/train/training_state.ts saves) written by either optimizer resumes in the other.
 *
 * Values are read without a kernel (on the cpu and onednn backends straight from the backend's
 * array, elsewhere with `dataSync`) and written as new tensors assigned to the variables; no
 * array a tensor holds is ever written to.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/** A tensor with a name (TF.js's `NamedTensor`, which tfjs-core does not export). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** The gradients `applyGradients` takes: by variable name, or a list of named tensors. */
export type VariableGradients = tf.NamedTensorMap | NamedTensor[];

/** An optimizer slot as TF.js keeps it (the name it saves under, and the variable). */
interface _Slot {
  originalName: string;
  variable: tf.Variable;
}

/** Names in `applyGradients` order and the gradient of each (null/undefined: none). */
function _entries(g: VariableGradients): [string, tf.Tensor | null | undefined][] {
  return Array.isArray(g)
    ? g.map((e) => [e.name, e.tensor])
    : Object.keys(g).map((name) => [name, g[name]]);
}

/** The registered variable `name` (as TF.js's optimizers look it up). */
function _variable(name: string): tf.Variable {
  const v = tf.engine().registeredVariables[name];
  if (v === undefined) {
    throw new Error(`Expected a registered variable named '${name}' but found none`);
  }
  if (v.dtype !== "float32") {
    throw new TypeError(`Expected variable '${name}' to be float32 but found ${v.dtype}`);
  }
  return v;
}

/**
 * A tensor's values as float32, read-only: the backend's own array on the cpu-family backends
 * (onednn's `dataSync` would copy), else `dataSync()`.
 */
function _read(t: tf.Tensor): Float32Array {
  const b = tf.backend();
  if (b instanceof MathBackendCPU && b.data.has(t.dataId)) {
    const v = b.data.get(t.dataId).values;
    if (v instanceof Float32Array && v.length === t.size) return v;
  }
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** Throws unless a gradient has its variable's shape. */
function _checkGradient(name: string, value: tf.Variable, g: tf.Tensor): void {
  if (g.shape.length !== value.shape.length || g.shape.some((d, k) => d !== value.shape[k])) {
    throw new Error(
      `Expected the gradient of '${name}' to have shape [${value.shape}] but found [${g.shape}]`,
    );
  }
}

/**
 * A float32 array of `n` values to fill, for `_assign`: on the onednn backend from its pool of
 * released kernel outputs (its `alloc`; contents undefined), else new.
 */
function _output(n: number): Float32Array {
  const b = tf.backend() as unknown as { alloc?: (n: number) => unknown };
  if (typeof b.alloc === "function") {
    const a = b.alloc(n);
    if (a instanceof Float32Array && a.length === n) return a;
  }
  return new Float32Array(n);
}

/**
 * Replaces a variable's value with `values`, an array from `_output` that nothing else holds
 * (a new tensor; the old data is released). On the cpu-family backends the tensor is made as a
 * kernel makes its output (`makeTensorInfo`), so that onednn recycles the array once released.
 */
function _assign(v: tf.Variable, values: Float32Array): void {
  const b = tf.backend();
  const t = b instanceof MathBackendCPU
    ? tf.engine().makeTensorFromTensorInfo(b.makeTensorInfo(v.shape, "float32", values), b)
    : tf.tensor(values, v.shape, "float32");
  v.assign(t);
  t.dispose();
}

/** A zero float32 variable shaped like `value`, not trainable (a fresh optimizer slot). */
function _zerosSlot(value: tf.Variable): tf.Variable {
  const z = tf.zeros(value.shape, "float32");
  const v = z.variable(false);
  z.dispose();
  return v;
}

/**
 * One Adam step for one variable, as TF.js's `AdamOptimizer.applyGradients` computes it:
 *
 *     m' = β1·m + (1−β1)·g
 *     v' = β2·v + (1−β2)·g²
 *     θ' = ((m' / (1−β1^t)) / (sqrt(v' / (1−β2^t)) + ε))·(−lr) + θ
 *
 * every operation rounded to float32 (the stores into the Float32Arrays round the last ones).
 */
function _adamPass(
  theta: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  outTheta: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  c: Float32Array,
): void {
  const f = Math.fround;
  const b1 = c[0], c1 = c[1], b2 = c[2], c2 = c[3], d1 = c[4], d2 = c[5], eps = c[6], nlr = c[7];
  const n = theta.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    outM[i] = mi;
    outV[i] = vi;
    outTheta[i] = f(f(f(mi / d1) / f(f(Math.sqrt(f(vi / d2))) + eps)) * nlr) + theta[i];
  }
}

/** One SGD step for one variable, as `SGDOptimizer`: θ' = (−lr)·g + θ, each op in float32. */
function _sgdPass(theta: Float32Array, g: Float32Array, out: Float32Array, nlr: number): void {
  const f = Math.fround;
  const n = theta.length;
  for (let i = 0; i < n; i++) out[i] = f(nlr * g[i]) + theta[i];
}

/**
 * `tf.train.adam` with the update as one JS pass per variable. Same arguments, same
 * results bit for bit, same `getWeights`/`setWeights` (iteration count, then every first
 * moment `<variable>/m`, then every second moment `<variable>/v`, slots by position in the
 * gradients' order), and the same running powers `accBeta1`/`accBeta2` (float32 scalar
 * variables), so checkpoints move freely between the two.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { FusedAdam } from "./fused_optimizer.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * const opt = new FusedAdam(0.1);
 * const g = tf.tensor1d([0.5, -0.5]);
 * opt.applyGradients({ [w.name]: g });
 * console.log(w.dataSync()); // ≈ [0.9, 2.1]
 * tf.dispose([g, w]);
 * opt.dispose();
 * ```
 */
export class FusedAdam extends tf.Optimizer {
  /** The name TF.js's Adam serializes as. */
  static get className(): string {
    return "Adam";
  }

  /** β1^(t+1) as a float32 scalar variable (TF.js's `accBeta1`). */
  accBeta1: tf.Variable;
  /** β2^(t+1) as a float32 scalar variable (TF.js's `accBeta2`). */
  accBeta2: tf.Variable;
  /** First moments by slot index (position in the gradients passed to `applyGradients`). */
  protected accumulatedFirstMoment: _Slot[] = [];
  /** Second moments by slot index. */
  protected accumulatedSecondMoment: _Slot[] = [];
  /** ε (the backend's `epsilon()` when not given, as TF.js). */
  readonly epsilon: number;
  readonly #consts = new Float32Array(8);

  /**
   * @param learningRate Step size (TF.js's default 0.001).
   * @param beta1 Decay of the first moment (0.9).
   * @param beta2 Decay of the second moment (0.999).
   * @param epsilon Added to the root of the second moment (default the backend's epsilon, 1e-7).
   */
  constructor(
    public learningRate = 0.001,
    public readonly beta1 = 0.9,
    public readonly beta2 = 0.999,
    epsilon: number | null = null,
  ) {
    super();
    this.accBeta1 = _scalarVariable(beta1);
    this.accBeta2 = _scalarVariable(beta2);
    this.epsilon = epsilon ?? tf.backend().epsilon();
  }

  /** One Adam step for every variable named in `variableGradients` (null gradients: none). */
  applyGradients(variableGradients: VariableGradients): void {
    const f = Math.fround;
    const c = this.#consts;
    // The float32 scalars TF.js's ops make of these numbers, and 1 − β^t as its Sub kernel.
    c[0] = this.beta1;
    c[1] = 1 - this.beta1;
    c[2] = this.beta2;
    c[3] = 1 - this.beta2;
    const acc1 = _read(this.accBeta1)[0], acc2 = _read(this.accBeta2)[0];
    c[4] = 1 - acc1;
    c[5] = 1 - acc2;
    c[6] = this.epsilon;
    c[7] = -this.learningRate;
    const entries = _entries(variableGradients);
    // Checked before anything changes (TF.js fails in the middle of the update instead).
    const values = entries.map(([name, gradient], i) => {
      const value = _variable(name);
      const slot = this.accumulatedFirstMoment[i]?.variable;
      if (slot && gradient != null && slot.size !== value.size) {
        throw new Error(
          `Expected Adam slot ${i} (made for '${this.accumulatedFirstMoment[i].originalName}', ` +
            `shape [${slot.shape}]) to fit '${name}' of shape [${value.shape}]: slots go by ` +
            "position in the gradients passed, as in TF.js",
        );
      }
      if (gradient != null) _checkGradient(name, value, gradient);
      return value;
    });
    entries.forEach(([name, gradient], i) => {
      const value = values[i];
      this.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: _zerosSlot(value) };
      this.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: _zerosSlot(value),
      };
      if (gradient == null) return;
      const m = this.accumulatedFirstMoment[i].variable;
      const v = this.accumulatedSecondMoment[i].variable;
      const g = _read(gradient);
      const n = value.size;
      const outTheta = _output(n), outM = _output(n), outV = _output(n);
      _adamPass(_read(value), g, _read(m), _read(v), outTheta, outM, outV, c);
      _assign(m, outM);
      _assign(v, outV);
      _assign(value, outTheta);
    });
    _assignScalar(this.accBeta1, f(acc1 * c[0]));
    _assignScalar(this.accBeta2, f(acc2 * c[2]));
    this.incrementIterations();
  }

  /** Releases the running powers and the moments. */
  override dispose(): void {
    this.accBeta1.dispose();
    this.accBeta2.dispose();
    tf.dispose(this.accumulatedFirstMoment.map((s) => s.variable));
    tf.dispose(this.accumulatedSecondMoment.map((s) => s.variable));
    this.accumulatedFirstMoment = [];
    this.accumulatedSecondMoment = [];
  }

  /**
   * `[iter, …first moments, …second moments]` as TF.js's Adam: `iter` a new int32 scalar
   * (the caller disposes it), the moments the optimizer's own variables.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.accumulatedFirstMoment, ...this.accumulatedSecondMoment];
    return [await this.saveIterations()].concat(
      slots.map((s) => ({ name: s.originalName, tensor: s.variable })),
    );
  }

  /**
   * Restores what `getWeights` (of this class or TF.js's Adam) returned: the moments become new
   * variables sharing the given tensors' data, and β^t is recomputed with `tf.pow` as TF.js
   * does (lib/train/training_state.ts then restores the saved running powers exactly).
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    weightValues = await this.extractIterations(weightValues);
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    const count = weightValues.length / 2;
    const slot = (w: NamedTensor): _Slot => ({
      originalName: w.name,
      variable: w.tensor.variable(false),
    });
    const first = weightValues.slice(0, count).map(slot);
    const second = weightValues.slice(count, count * 2).map(slot);
    // After making the new ones (the given tensors may be the old slots themselves).
    tf.dispose(this.accumulatedFirstMoment.map((s) => s.variable));
    tf.dispose(this.accumulatedSecondMoment.map((s) => s.variable));
    this.accumulatedFirstMoment = first;
    this.accumulatedSecondMoment = second;
  }

  /** TF.js Adam's config keys. */
  getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
  }

  /** Builds one from `getConfig()`'s output. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate, config.beta1, config.beta2, config.epsilon);
  }
}

/**
 * `tf.train.sgd` with the update as one JS pass per variable: θ ← θ − lr·g, bit-identical,
 * the same `getWeights`/`setWeights` (the iteration count only).
 */
export class FusedSgd extends tf.Optimizer {
  /** The name TF.js's SGD serializes as. */
  static get className(): string {
    return "SGD";
  }

  /** @param learningRate Step size. */
  constructor(public learningRate: number) {
    super();
  }

  /** Sets the step size of later updates. */
  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }

  /** One SGD step for every variable named in `variableGradients` (null gradients: none). */
  applyGradients(variableGradients: VariableGradients): void {
    const nlr = Math.fround(-this.learningRate);
    const entries = _entries(variableGradients).filter(([, g]) => g != null) as [
      string,
      tf.Tensor,
    ][];
    // Checked before anything changes.
    const values = entries.map(([name, g]) => {
      const value = _variable(name);
      _checkGradient(name, value, g);
      return value;
    });
    entries.forEach(([, gradient], i) => {
      const value = values[i];
      const out = _output(value.size);
      _sgdPass(_read(value), _read(gradient), out, nlr);
      _assign(value, out);
    });
    this.incrementIterations();
  }

  /** `[iter]` as TF.js's SGD (a new int32 scalar; the caller disposes it). */
  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations()];
  }

  /** Restores the iteration count; SGD has no other weights. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    weightValues = await this.extractIterations(weightValues);
    if (weightValues.length !== 0) throw new Error("SGD optimizer does not have settable weights.");
  }

  /** TF.js SGD's config keys. */
  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate };
  }

  /** Builds one from `getConfig()`'s output. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate);
  }
}

/** A float32 scalar variable (not trainable) holding `x` rounded to float32. */
function _scalarVariable(x: number): tf.Variable {
  const s = tf.scalar(x, "float32");
  const v = s.variable(false);
  s.dispose();
  return v;
}

/** Sets a scalar variable to `x` (already a float32 value). */
function _assignScalar(v: tf.Variable, x: number): void {
  const s = tf.scalar(x, "float32");
  v.assign(s);
  s.dispose();
}
