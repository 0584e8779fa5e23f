/**
 * One training step of the enhancement (IP) and recognition (VR) networks.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ForwardContext, Module } from "../models/module.ts";
import type { SrResNet } from "../models/sr_resnet.ts";
import type { Strategy } from "../strategies/types.ts";
import { cosineOf, gradientStats } from "../strategies/grad_math.ts";
import { linearCombine } from "../strategies/_linear.ts";
import { mseLoss, recognitionLoss, softCrossEntropyLoss } from "./losses.ts";
import { recordTape, type TapeRecording } from "./tape.ts";

/**
 * A recognition (VR) network: a ResNet classifier (logits `[N, K]`) or a
 * U-Net segmenter (logits `[N, H, W, K]`); the loss follows the output's rank.
 */
export interface Recognizer {
  module: Module;
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor;
}

/** How the recognition network takes part in a step. */
export type VrMode =
  /** No recognition network (Benchmark-i): θ follows ∇θ L_IP. */
  | "none"
  /** VR trained with ∇φ L_VR on the enhanced images (Joint, GradProm). */
  | "trained"
  /** VR frozen, in evaluation mode (Frozen-params, the ESTR recipe). */
  | "frozen";

/** Everything a step needs beyond the batch. */
export interface TrainStepSetup {
  ip: SrResNet;
  vr?: Recognizer;
  vrMode: VrMode;
  /** Combines G_IP and G_VR into θ's update. Ignored when `vrMode` is "none". */
  strategy: Strategy;
  /** Weight λ of L_VR in L_total = L_IP + λ·L_VR. */
  lambda: number;
  /**
   * `supervised` (default): L_VR is the cross-entropy with the batch's labels.
   * `unsupervised`: no labels; L_VR pulls VR's softmax on the enhanced image
   * towards VR's softmax on the clean image (computed in evaluation mode, no
   * gradient), as in ESTR's unsupervised variant.
   */
  auxLoss?: "supervised" | "unsupervised";
  ipOptimizer: tf.Optimizer;
  /** Needed when `vrMode` is "trained". */
  vrOptimizer?: tf.Optimizer;
  /**
   * Further auxiliary tasks (the paper's multi-task ablation), each with its
   * own VR, optimizer and labels (`batch.extraLabels[k]`), in the same
   * `vrMode`. The strategy is applied to G_IP and each auxiliary gradient on
   * its own (for GradProm: one gate per auxiliary) and the auxiliary parts
   * are added: `update = G_IP + Σ_k (strategy(G_IP, G_VR_k) − G_IP)`.
   */
  extra?: { vr: Recognizer; vrOptimizer?: tf.Optimizer }[];
  /**
   * Also report cos(G_IP, G_VR) per variable of θ (`StepLog.layerCosine`, for
   * the first auxiliary): a few reductions more, so runs ask for it on some steps only.
   */
  layerCosines?: boolean;
  /**
   * Measure cos(G_IP, G_VR) (default true). With `false` and a strategy whose update is always
   * G_IP + G_VR ({@link Strategy.sumOnly}: Joint, Frozen-params), the step takes that update as
   * one gradient of L_IP + λ·L_VR, one backward pass through IP as PyTorch's
   * `(l_ip + lam * l_vr).backward()`, and reports a NaN cosine. Other strategies need both
   * gradients anyway and always measure it.
   */
  measureCosine?: boolean;
}

/** A batch: degraded input X, high-quality target Y, labels (class indices `[N]` or masks `[N, H, W, 1]`). */
export interface TrainBatch {
  input: tf.Tensor4D;
  target: tf.Tensor4D;
  labels?: tf.Tensor;
  /** Labels of `setup.extra[k]`. */
  extraLabels?: tf.Tensor[];
}

/** What a step reports (plain numbers, no tensors). */
export interface StepLog {
  lossIp: number;
  /** L_VR (without λ); NaN when there is no VR. */
  lossVr: number;
  /** cos(G_IP, G_VR) over all of θ; NaN when there is no VR. */
  cosine: number;
  /** Weight given to G_VR (1 open, 0 shut, between for weighted forms); NaN without VR. */
  auxWeight: number;
  /** With `setup.extra`: L_VR, cosine and weight of every auxiliary (the first is the main VR's). */
  perAux?: { lossVr: number; cosine: number; auxWeight: number }[];
  /** With `setup.layerCosines`: cos(G_IP, G_VR) per variable of θ, in `ip.module.trainable()` order. */
  layerCosine?: number[];
}

/** Thrown when a loss becomes NaN or infinite; nothing was updated in that step. */
export class NonFiniteLossError extends Error {
  constructor(readonly which: string, readonly value: number) {
    super(`Expected a finite ${which} but found ${value}`);
    this.name = "NonFiniteLossError";
  }
}

/**
 * Runs one step: computes G_IP = ∇θ L_IP, G_VR = ∇θ λ·L_VR and ∇φ L_VR, lets
 * the strategy combine G_IP and G_VR into θ's update, and updates φ with
 * ∇φ L_VR (unless VR is frozen).
 *
 * Cost: one forward of IP and of each VR, recorded once ({@link recordTape},
 * PyTorch's `retain_graph`), then one backward pass per loss through it: L_IP
 * through IP, L_VR through VR and IP (which gives G_VR and ∇φ L_VR together).
 * That is the floor for GradProm, whose G_IP and G_VR are two different
 * vector–Jacobian products through IP. Joint pays the same on steps that
 * measure cos(G_IP, G_VR); with `measureCosine: false` it backpropagates
 * L_IP + λ·L_VR once (λ applied to the gradient entering VR, so ∇φ is ∇φ L_VR
 * exactly), and its update equals the two-pass one up to float rounding.
 *
 * Nothing is updated when a loss is not finite: the step throws
 * {@link NonFiniteLossError} before touching any variable.
 *
 * @param s Models, optimizers and the strategy.
 * @param batch The batch.
 * @returns Losses, cosine and gate of the step.
 */
export function trainStep(s: TrainStepSetup, batch: TrainBatch): StepLog {
  const ipVars = s.ip.module.trainable();
  const ipUpdates = new Map<string, tf.Tensor>();
  const vrUpdateMaps: Map<string, tf.Tensor>[] = [];
  const owned: tf.Tensor[] = [];
  let rec:
    | TapeRecording<{ lossIp: tf.Tensor; lossVrs: tf.Tensor[]; total?: tf.Tensor }>
    | undefined;
  try {
    const unsupervised = s.auxLoss === "unsupervised";
    const trainVr = s.vrMode === "trained";
    const auxes = s.vrMode === "none" ? [] : [
      { vr: s.vr, vrOptimizer: s.vrOptimizer, labels: batch.labels },
      ...(s.extra ?? []).map((a, k) => ({ ...a, labels: batch.extraLabels?.[k] })),
    ];
    for (const [k, aux] of auxes.entries()) {
      if (!aux.vr || (!unsupervised && !aux.labels)) {
        throw new TypeError(
          `vrMode "${s.vrMode}" needs a VR model${unsupervised ? "" : " and labels in the batch"}${
            k ? ` for auxiliary ${k}` : ""
          }`,
        );
      }
      if (trainVr && !aux.vrOptimizer) throw new TypeError(`vrMode "trained" needs a vrOptimizer`);
    }
    // Unsupervised targets: VR's own prediction on the clean image (no gradient flows into it).
    const softs = auxes.map((aux) => {
      if (!unsupervised) return undefined;
      const soft = tf.tidy(() => tf.softmax(aux.vr!.apply(batch.target, { training: false })));
      owned.push(soft);
      return soft;
    });
    for (let k = 0; k < auxes.length; k++) vrUpdateMaps.push(new Map());
    const oneBackward = auxes.length > 0 && s.measureCosine === false && !s.layerCosines &&
      s.strategy.sumOnly === true;
    rec = recordTape(() => {
      const enhanced = s.ip.apply(batch.input, { training: true, updates: ipUpdates });
      const lossIp = mseLoss(enhanced, batch.target);
      // One backward pass: VR sees the enhanced image with its gradient scaled by λ on the way back.
      const vrInput = oneBackward ? scaleGradient(enhanced, s.lambda) : enhanced;
      const lossVrs = auxes.map((aux, k) => {
        const logits = aux.vr!.apply(vrInput, {
          training: trainVr,
          updates: trainVr ? vrUpdateMaps[k] : undefined,
        });
        const soft = softs[k];
        return soft ? softCrossEntropyLoss(logits, soft) : recognitionLoss(logits, aux.labels!);
      });
      const total = oneBackward ? lossVrs.reduce((a, l) => tf.add(a, l), lossIp) : undefined;
      return { lossIp, lossVrs, ...(total ? { total } : {}) };
    });
    owned.push(rec.value.lossIp, ...rec.value.lossVrs);
    if (rec.value.total) owned.push(rec.value.total);
    const lossIp = rec.value.lossIp.dataSync()[0];
    if (!Number.isFinite(lossIp)) throw new NonFiniteLossError("L_IP", lossIp);
    const lossVrs = rec.value.lossVrs.map((l) => l.dataSync()[0]);
    lossVrs.forEach((l, k) => {
      if (!Number.isFinite(l)) {
        throw new NonFiniteLossError(k ? `L_VR of auxiliary ${k}` : "L_VR", l);
      }
    });
    if (oneBackward) {
      // G_IP + G_VR (and every ∇φ L_VR) from one backward pass of L_IP + λ·L_VR.
      const vrVars = trainVr ? auxes.map((aux) => aux.vr!.module.trainable()) : [];
      const all = [...ipVars, ...vrVars.flat()];
      const grads = rec.variableGrads(rec.value.total!, all);
      owned.push(...Object.values(grads));
      checkAllGrads(grads, all, "L_IP + λ·L_VR");
      rec.dispose();
      const pick = (vars: tf.Variable[]) =>
        Object.fromEntries(vars.map((v) => [v.name, grads[v.name]]));
      s.ipOptimizer.applyGradients(pick(ipVars) as Record<string, tf.Variable>);
      vrVars.forEach((vars, k) =>
        auxes[k].vrOptimizer!.applyGradients(pick(vars) as Record<string, tf.Variable>)
      );
      s.ip.module.commitUpdates(ipUpdates);
      auxes.forEach((aux, k) => aux.vr!.module.commitUpdates(vrUpdateMaps[k]));
      return {
        lossIp,
        lossVr: lossVrs.reduce((a, l) => a + l, 0),
        cosine: NaN,
        auxWeight: 1,
        ...(auxes.length > 1
          ? { perAux: lossVrs.map((lossVr) => ({ lossVr, cosine: NaN, auxWeight: 1 })) }
          : {}),
      };
    }
    const gIp = rec.variableGrads(rec.value.lossIp, ipVars);
    owned.push(...Object.values(gIp));
    checkAllGrads(gIp, ipVars, "L_IP");

    if (s.vrMode === "none") {
      s.ipOptimizer.applyGradients(gIp as Record<string, tf.Variable>);
      s.ip.module.commitUpdates(ipUpdates);
      return { lossIp, lossVr: NaN, cosine: NaN, auxWeight: NaN };
    }
    const perAux: { lossVr: number; cosine: number; auxWeight: number }[] = [];
    const phiUpdates: { opt: tf.Optimizer; grads: tf.NamedTensorMap }[] = [];
    let combined: tf.NamedTensorMap | undefined;
    let layerCosine: number[] | undefined;
    for (const [k, aux] of auxes.entries()) {
      const vrVars = trainVr ? aux.vr!.module.trainable() : [];
      const grads = rec.variableGrads(rec.value.lossVrs[k], [...ipVars, ...vrVars]);
      owned.push(...Object.values(grads));
      checkAllGrads(grads, [...ipVars, ...vrVars], "L_VR");
      const gPhi: tf.NamedTensorMap = {};
      const gThetaVr = Object.fromEntries(ipVars.map((v) => [v.name, grads[v.name]]));
      // G_VR = λ·∇θ L_VR, every variable in one kernel call where the backend fuses it.
      const gVr = linearCombine(gThetaVr, gThetaVr, s.lambda, 0);
      owned.push(...Object.values(gVr));
      for (const v of vrVars) gPhi[v.name] = grads[v.name];
      if (k === 0 && s.layerCosines) {
        const st = gradientStats(gIp, gVr);
        layerCosine = st.keys.map((_, i) => cosineOf(st.dot[i], st.mainSq[i], st.auxSq[i]));
      }
      const r = s.strategy(gIp, gVr);
      owned.push(...Object.values(r.grads));
      perAux.push({ lossVr: lossVrs[k], cosine: r.cosine, auxWeight: r.auxWeight });
      if (trainVr) phiUpdates.push({ opt: aux.vrOptimizer!, grads: gPhi });
      if (!combined) combined = r.grads;
      else {
        // Add this auxiliary's part (its update minus G_IP) to the running update.
        const next: tf.NamedTensorMap = {};
        for (const v of ipVars) {
          next[v.name] = tf.tidy(() =>
            tf.add(combined![v.name], tf.sub(r.grads[v.name], gIp[v.name]))
          );
          owned.push(next[v.name]);
        }
        combined = next;
      }
    }
    rec.dispose();
    s.ipOptimizer.applyGradients(combined as Record<string, tf.Variable>);
    for (const u of phiUpdates) u.opt.applyGradients(u.grads as Record<string, tf.Variable>);
    s.ip.module.commitUpdates(ipUpdates);
    auxes.forEach((aux, k) => aux.vr!.module.commitUpdates(vrUpdateMaps[k]));
    const lossVr = perAux.reduce((a, p) => a + p.lossVr, 0);
    return {
      lossIp,
      lossVr,
      cosine: perAux[0].cosine,
      auxWeight: perAux[0].auxWeight,
      ...(auxes.length > 1 ? { perAux } : {}),
      ...(layerCosine ? { layerCosine } : {}),
    };
  } finally {
    rec?.dispose();
    tf.dispose(owned);
    tf.dispose([...ipUpdates.values(), ...vrUpdateMaps.flatMap((m) => [...m.values()])]);
  }
}

/**
 * One step of the recognition network alone on `images` (Benchmark-ii, and
 * the pre-training of the Frozen-params recipe).
 *
 * @returns L_VR of the step.
 */
export function trainVrStep(
  vr: Recognizer,
  optimizer: tf.Optimizer,
  images: tf.Tensor4D,
  labels: tf.Tensor,
): number {
  const updates = new Map<string, tf.Tensor>();
  const vars = vr.module.trainable();
  const { value, grads } = tf.variableGrads(
    () => recognitionLoss(vr.apply(images, { training: true, updates }), labels),
    vars,
  );
  try {
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss)) throw new NonFiniteLossError("L_VR", loss);
    optimizer.applyGradients(grads as Record<string, tf.Variable>);
    vr.module.commitUpdates(updates);
    return loss;
  } finally {
    tf.dispose([value, ...Object.values(grads), ...updates.values()]);
  }
}

/** `x` on the way forward; its gradient times `k` on the way back (the identity when k is 1). */
function scaleGradient(x: tf.Tensor4D, k: number): tf.Tensor4D {
  if (k === 1) return x;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.scalar(k)),
  }));
  return f(x) as tf.Tensor4D;
}

function checkAllGrads(grads: tf.NamedTensorMap, vars: tf.Variable[], loss: string): void {
  const missing = vars.filter((v) => !(v.name in grads)).map((v) => v.name);
  if (missing.length) {
    throw new Error(
      `No gradient of ${loss} reached ${missing.length} variables: ${missing.join(", ")}`,
    );
  }
}
