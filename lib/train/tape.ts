/**
 * One recorded forward pass, several backward passes: PyTorch's `retain_graph` for TF.js.
 *
 * A GradProm or Joint step needs two vector–Jacobian products through the same forward pass of
 * the enhancement network, G_IP = ∇θ L_IP and G_VR = ∇θ L_VR. TF.js's public API
 * (`tf.variableGrads`, `tf.grads`) records one forward per gradient call and frees it after one
 * backward pass, so a step built on it runs the forward twice. {@link recordTape} records the
 * forward once on TF.js's own tape (the engine's `startTape`/`endTape`, the same kernels' gradient
 * functions and saved tensors that `tf.variableGrads` uses) and keeps it until
 * {@link TapeRecording.dispose}, so that any number of losses computed in that forward can be
 * differentiated through it, each with the same result `tf.variableGrads` gives for it alone.
 *
 * The walk over the tape (`_filteredNodes`, `_backprop`) follows tfjs-core 4.22.0's
 * `getFilteredNodesXToY` and `backpropagateGradients` (src/tape.ts, Apache License 2.0, © Google
 * LLC), which tfjs-core does not export; the engine fields it reads are checked when a recording
 * starts, so a TF.js that moved them fails with a message, not a wrong gradient.
 *
 * @example Two losses, one forward
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { registerGradients } from "../backend/register_gradients.ts";
 * import { recordTape } from "./tape.ts";
 *
 * registerGradients();
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "w");
 * const rec = recordTape(() => {
 *   const y = tf.mul(w, 3);
 *   return { a: tf.sum(y), b: tf.sum(tf.square(y)) };
 * });
 * const ga = rec.variableGrads(rec.value.a, [w]); // ∂a/∂w = 3
 * const gb = rec.variableGrads(rec.value.b, [w]); // ∂b/∂w = 2·9·w = 18·w
 * deepEqual(Array.from(ga.w.dataSync()), [3, 3]);
 * deepEqual(Array.from(gb.w.dataSync()), [18, 36]);
 * tf.dispose([...Object.values(ga), ...Object.values(gb), rec.value.a, rec.value.b]);
 * rec.dispose();
 * w.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { lightenSavedTensors } from "../backend/saved_tensors.ts";

/** A recorded forward pass whose tape stays alive until {@link TapeRecording.dispose}. */
export interface TapeRecording<T> {
  /** What the forward function returned (tracked in the caller's scope, disposed by the caller). */
  readonly value: T;
  /**
   * Gradients of `y` (a tensor computed in the recorded forward) with respect to `xs`, through
   * the recorded tape; `null` where `y` does not depend on an x. May be called any number of
   * times. `dy` weights the product (default: ones of y's shape, the gradient of y itself).
   */
  gradients(y: tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor): (tf.Tensor | null)[];
  /**
   * Like `tf.variableGrads(f, vars).grads` for `y`: by variable name, omitting variables `y`
   * does not depend on.
   *
   * @throws {Error} When `y` depends on none of `vars`.
   */
  variableGrads(y: tf.Tensor, vars: tf.Variable[]): tf.NamedTensorMap;
  /** Frees the tensors the tape saved for the backward passes; the recording is unusable after. */
  dispose(): void;
}

/**
 * Runs `f` once on TF.js's tape and keeps the tape for several backward passes.
 *
 * `f` runs inside a `tidy` (as in `tf.variableGrads`): tensors it makes and does not return are
 * freed, except what the tape saved for backward, which {@link TapeRecording.dispose} frees.
 * Recordings do not nest, and cannot start inside `tf.grads`/`tf.variableGrads`.
 *
 * @param f The forward pass; returns the tensors (any container) to differentiate later.
 * @throws {Error} Inside another gradient computation, or when this TF.js has no tape where
 *   tfjs-core 4.22 keeps it.
 */
export function recordTape<T extends tf.TensorContainer>(f: () => T): TapeRecording<T> {
  const engine = _engine();
  lightenSavedTensors();
  if (engine.state.gradientDepth !== 0) {
    throw new Error(
      "recordTape cannot start inside tf.grads, tf.variableGrads or another recording " +
        `(the engine's gradient depth is ${engine.state.gradientDepth})`,
    );
  }
  let tape: _TapeNode[] = [];
  let value: T;
  engine.startTape();
  if (!Array.isArray(engine.state.activeTape)) {
    engine.endTape();
    throw new Error(
      `This TF.js (tfjs-core ${tf.version_core}) keeps its gradient tape elsewhere than ` +
        "tfjs-core 4.22.0 (engine.state.activeTape); recordTape (lib/train/tape.ts) needs " +
        "updating for it",
    );
  }
  try {
    value = engine.tidy("forward", f);
  } catch (e) {
    _disposeSaved(engine.state.activeTape ?? []);
    throw e;
  } finally {
    engine.endTape();
    tape = engine.state.activeTape ?? [];
    engine.state.activeTape = null;
  }
  let disposed = false;
  const gradients = (y: tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor): (tf.Tensor | null)[] => {
    if (disposed) throw new Error("This tape recording was disposed; record the forward again");
    const nodes = _filteredNodes(tape, xs, y);
    return engine.tidy("backward", () => {
      const acc = new Map<number, tf.Tensor>([[y.id, dy ?? tf.ones(y.shape)]]);
      _backprop(acc, nodes);
      return xs.map((x) => acc.get(x.id) ?? null) as tf.TensorContainer;
    }) as (tf.Tensor | null)[];
  };
  return {
    value,
    gradients,
    variableGrads(y, vars) {
      const grads = gradients(y, vars);
      const named: tf.NamedTensorMap = {};
      vars.forEach((v, i) => {
        const g = grads[i];
        if (g) named[v.name] = g;
      });
      if (Object.keys(named).length === 0) {
        throw new Error(
          `The loss (tensor ${y.id}, shape [${y.shape}]) does not depend on any of the ` +
            `${vars.length} variables given (${vars.slice(0, 3).map((v) => v.name).join(", ")}` +
            `${vars.length > 3 ? ", …" : ""}) in the recorded forward pass`,
        );
      }
      return named;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      _disposeSaved(tape);
      tape = [];
    },
  };
}

/** A node of TF.js's tape (tfjs-core's `TapeNode`, which it does not export). */
interface _TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** The engine members a recording uses (tfjs-core 4.22.0's `Engine`). */
interface _Engine {
  state: { gradientDepth: number; activeTape: _TapeNode[] | null };
  startTape(): void;
  endTape(): void;
  tidy<R extends tf.TensorContainer>(name: string, f: () => R): R;
}

function _engine(): _Engine {
  const e = tf.engine() as unknown as Partial<_Engine>;
  if (
    typeof e.startTape !== "function" || typeof e.endTape !== "function" ||
    typeof e.tidy !== "function" || typeof e.state?.gradientDepth !== "number"
  ) {
    throw new Error(
      `This TF.js (tfjs-core ${tf.version_core}) has no engine.startTape/endTape/tidy as ` +
        "tfjs-core 4.22.0 has; recordTape (lib/train/tape.ts) needs updating for it",
    );
  }
  return e as _Engine;
}

function _disposeSaved(tape: _TapeNode[]): void {
  for (const node of tape) for (const t of node.saved ?? []) t.dispose();
}

/** The nodes on a path from some x to y, inputs pruned to those that depend on an x, in tape order. */
function _filteredNodes(tape: _TapeNode[], xs: tf.Tensor[], y: tf.Tensor): _TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const leadToY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => leadToY.has(o.id))) {
      for (const t of Object.values(node.inputs)) leadToY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  const out: _TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    out.push({ ...node, inputs });
  }
  return out;
}

/** Walks the nodes backward, accumulating each tensor's gradient in `acc` (by tensor id). */
function _backprop(acc: Map<number, tf.Tensor>, nodes: _TapeNode[]): void {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
    if (!node.gradient) {
      throw new Error(
        `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
      );
    }
    const inputGrads = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      if (!(name in inputGrads)) {
        throw new Error(
          `Cannot backprop through input ${name} of ${node.kernelName}. ` +
            `Available gradients found: ${Object.keys(inputGrads)}.`,
        );
      }
      const dx = tf.tidy(() => inputGrads[name]());
      if (dx.dtype !== "float32") {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must ` +
            `have 'float32' dtype, but has '${dx.dtype}'`,
        );
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has ` +
            `shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
        );
      }
      const cur = acc.get(x.id);
      if (cur === undefined) acc.set(x.id, dx);
      else {
        acc.set(x.id, tf.add(cur, dx));
        cur.dispose();
      }
    }
  }
}
