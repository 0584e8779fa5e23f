/**
 * The small functional module system the models are built on.
 *
 * A model is a set of named `tf.Variable`s (trainable parameters and
 * non-trainable state such as batch-norm running statistics) plus a pure
 * `apply` function. Variables are named `<modelName>_<n>/<path>`, unique in the
 * process, and those names are the keys of every gradient map
 * (`tf.variableGrads` and `optimizer.applyGradients` both key by variable
 * name), so the training strategies never need to know which network a
 * gradient belongs to.
 *
 * Written on tfjs-core rather than tfjs-layers: the layers API hides the
 * variables behind layer objects and its batch-norm updates its statistics as
 * a side effect of `apply`, which breaks when one training step runs the same
 * forward pass twice (once per gradient). Here a forward pass in training mode
 * returns its statistic updates in a {@link ForwardContext}, and the step
 * decides which pass's updates to keep.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../util/rng.ts";
import {
  batchNormTrain,
  batchNormTrainApplies,
  runningStatistics,
} from "../backend/onednn/batch_norm_train.ts";

/** How a forward pass runs. */
export interface ForwardContext {
  /** Batch statistics (true) or running statistics (false) in batch norm. */
  training: boolean;
  /**
   * When given (and `training`), batch norm layers put their new running
   * statistics here (kept tensors, keyed by variable name) instead of
   * assigning them; call {@link Module.commitUpdates} afterwards.
   */
  updates?: Map<string, tf.Tensor>;
}

let instanceCounter = 0;

/** Builds and owns a model's variables. */
export class Module {
  /** Unique prefix of this model's variable names, e.g. `srresnet_1`. */
  readonly scope: string;
  /** Trainable parameters by full variable name. */
  readonly params: Map<string, tf.Variable> = new Map();
  /** Non-trainable state (batch-norm running mean and variance) by full variable name. */
  readonly state: Map<string, tf.Variable> = new Map();
  readonly #rng: Rng;

  /**
   * @param name Model kind, used as the scope prefix.
   * @param seed Seed of the parameter initialisation.
   */
  constructor(name: string, seed: number) {
    this.scope = `${name}_${++instanceCounter}`;
    this.#rng = new Rng(seed).fork(name);
  }

  /** The full variable name of a parameter path. */
  key(path: string): string {
    return `${this.scope}/${path}`;
  }

  /** A trainable parameter, by path. Throws if it was never created. */
  p(path: string): tf.Variable {
    const v = this.params.get(this.key(path)) ?? this.state.get(this.key(path));
    if (!v) throw new Error(`Model ${this.scope} has no variable '${path}'`);
    return v;
  }

  /** Creates a trainable parameter from a seeded initialiser. */
  addParam(path: string, shape: number[], init: Init): tf.Variable {
    return this.#add(this.params, path, shape, init, true);
  }

  /** Creates a non-trainable state variable. */
  addState(path: string, shape: number[], init: Init): tf.Variable {
    return this.#add(this.state, path, shape, init, false);
  }

  #add(
    into: Map<string, tf.Variable>,
    path: string,
    shape: number[],
    init: Init,
    trainable: boolean,
  ): tf.Variable {
    const name = this.key(path);
    if (into.has(name)) throw new Error(`Variable '${name}' is defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    const rng = this.#rng.fork(path);
    if (init.kind === "constant") values.fill(init.value);
    else {
      const std = init.kind === "he" ? Math.sqrt(2 / init.fanIn) : Math.sqrt(1 / init.fanIn);
      for (let i = 0; i < size; i++) {
        // Truncated at 2 std, as in the usual truncated-normal initialisers.
        let z = rng.normal();
        while (Math.abs(z) > 2) z = rng.normal();
        values[i] = z * std;
      }
    }
    const initial = tf.tensor(values, shape, "float32");
    const v = tf.variable(initial, trainable, name);
    initial.dispose();
    into.set(name, v);
    return v;
  }

  /** All trainable variables, in creation order. */
  trainable(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Assigns (and disposes) batch-norm updates collected in a forward context. */
  commitUpdates(updates: Map<string, tf.Tensor>): void {
    for (const [name, value] of updates) {
      const v = this.state.get(name);
      if (v) {
        v.assign(value);
        value.dispose();
        updates.delete(name);
      }
    }
  }

  /** Copies every variable's value from another module of the same architecture. */
  copyFrom(other: Module): void {
    const mine = [...this.params.entries(), ...this.state.entries()];
    const theirs = new Map(
      [...other.params.entries(), ...other.state.entries()].map(([k, v]) => [
        k.slice(other.scope.length + 1),
        v,
      ]),
    );
    for (const [name, v] of mine) {
      const src = theirs.get(name.slice(this.scope.length + 1));
      if (!src) throw new Error(`Cannot copy: ${other.scope} has no '${name}'`);
      v.assign(src);
    }
  }

  /** Disposes every variable. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.state.values()) v.dispose();
    this.params.clear();
    this.state.clear();
  }
}

/** A seeded initialiser. */
export type Init =
  | { kind: "he"; fanIn: number }
  | { kind: "lecun"; fanIn: number }
  | { kind: "constant"; value: number };

/** Registers a 2-D convolution's kernel `[k, k, cin, cout]` and bias. */
export function convParams(
  m: Module,
  path: string,
  k: number,
  cin: number,
  cout: number,
  bias = true,
): void {
  m.addParam(`${path}/kernel`, [k, k, cin, cout], { kind: "he", fanIn: k * k * cin });
  if (bias) m.addParam(`${path}/bias`, [cout], { kind: "constant", value: 0 });
}

/**
 * Applies a convolution registered by {@link convParams} ('same' padding). With a bias it is one
 * `FusedConv2D` kernel (the bias added inside the convolution; its gradient is the sum of `dy`
 * over N, H, W, as an added bias's), rather than a convolution and an `Add`. The kernel runs
 * directly, with the gradient `lib/backend/register_gradients.ts` registers for it, not through
 * `tf.fused.conv2d`, whose custom gradient would also compute the gradient of `x` where nothing
 * needs it (a network's input image: a full backward-data convolution per backward pass).
 */
export function conv(m: Module, path: string, x: tf.Tensor4D, stride = 1): tf.Tensor4D {
  const filter = m.p(`${path}/kernel`) as tf.Tensor4D;
  const bias = m.params.get(m.key(`${path}/bias`));
  if (!bias) return tf.conv2d(x, filter, stride, "same");
  if (x.rank !== 4 || x.shape[3] !== filter.shape[2]) {
    throw new RangeError(
      `Expected ${path}'s input as [n, h, w, ${filter.shape[2]}] but found [${x.shape}]`,
    );
  }
  return tf.engine().runKernel("FusedConv2D", { x, filter, bias }, {
    strides: stride,
    pad: "same",
    dataFormat: "NHWC",
    dilations: 1,
    dimRoundingMode: undefined,
    activation: "linear",
    leakyreluAlpha: undefined,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** Registers batch-norm scale, shift and running statistics for `c` channels. */
export function batchNormParams(m: Module, path: string, c: number): void {
  m.addParam(`${path}/gamma`, [c], { kind: "constant", value: 1 });
  m.addParam(`${path}/beta`, [c], { kind: "constant", value: 0 });
  m.addState(`${path}/moving_mean`, [c], { kind: "constant", value: 0 });
  m.addState(`${path}/moving_variance`, [c], { kind: "constant", value: 1 });
}

/** Batch-norm momentum of the running statistics (PyTorch's 0.1 convention). */
export const BN_MOMENTUM = 0.1;
/** Batch-norm epsilon. */
export const BN_EPSILON = 1e-5;

/**
 * Batch normalisation over N, H, W. In training mode it normalises with the
 * batch statistics (biased variance) and (when `ctx.updates` is given) records
 * updated running statistics (the variance made unbiased); in evaluation mode it
 * uses the running statistics.
 *
 * In training mode on the onednn backend (float32 input) the normalisation and
 * its batch statistics are one native kernel each way
 * (`lib/backend/onednn/batch_norm_train.ts`; equal to the portable form up to
 * float rounding); elsewhere, `tf.moments` then `tf.batchNorm4d` with autodiff.
 * The running statistics follow the same formula either way.
 */
export function batchNorm(
  m: Module,
  path: string,
  x: tf.Tensor4D,
  ctx: ForwardContext,
): tf.Tensor4D {
  const gamma = m.p(`${path}/gamma`) as tf.Variable<tf.Rank.R1>;
  const beta = m.p(`${path}/beta`) as tf.Variable<tf.Rank.R1>;
  const mm = m.p(`${path}/moving_mean`) as tf.Variable<tf.Rank.R1>;
  const mv = m.p(`${path}/moving_variance`) as tf.Variable<tf.Rank.R1>;
  if (!ctx.training) return tf.batchNorm4d(x, mm, mv, beta, gamma, BN_EPSILON);
  const native = batchNormTrainApplies(x, gamma, beta)
    ? batchNormTrain(x, gamma, beta, BN_EPSILON)
    : undefined;
  const { mean, variance } = native ?? tf.moments(x, [0, 1, 2]);
  if (ctx.updates) {
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    const [newMean, newVar] = runningStatistics(
      mm,
      mv,
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
      n,
      BN_MOMENTUM,
    );
    ctx.updates.set(mm.name, tf.keep(newMean));
    ctx.updates.set(mv.name, tf.keep(newVar));
  }
  if (native) return native.y;
  return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, BN_EPSILON);
}
