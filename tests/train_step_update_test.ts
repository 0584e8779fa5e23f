/**
 * The training step applies the update each method promises, checked from first principles.
 *
 * With plain SGD (θ ← θ − a·u, φ ← φ − b·g) one step of `trainStep` must move the enhancement
 * network's parameters θ by exactly a·(G_IP + Σ_k w_k·λ·G_VR_k) and each trained recognition
 * network's parameters φ_k by b·∇φ L_VR_k, where
 *
 * - G_IP = ∇θ L_IP and G_VR_k = ∇θ L_VR_k are computed here, by the test's own forward passes
 *   and its own losses (MSE, softmax cross-entropy, cross-entropy + soft Dice, soft
 *   cross-entropy), not by the library's losses or strategies;
 * - the cosine is computed here in float64 over all of θ flattened, and the weight follows
 *   the method's definition: Joint w = 1, IP only w = 0, the GradProm gate w = [cos ≥ 0]
 *   (both signs seen), the weighted form w = max(0, cos), the per-layer gate one w per
 *   variable, and two auxiliaries with one gate each.
 *
 * Every case also checks that it can tell the right update from the wrong ones: the expected
 * update must differ from the one with the opposite weight (and from the one without λ) by far
 * more than the tolerance, so a step that applied G_IP alone, inverted the gate, or forgot λ
 * fails. The whole table runs on every backend this process can start (cpu, wasm, and onednn
 * where libdnnl2 is installed).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import assert from "node:assert/strict";
import { registerBatchNormGradient } from "../lib/backend/onednn/batch_norm_gradient.ts";
import { _onednnUnavailable } from "../lib/backend/_testing.ts";
import { registerGradients } from "../lib/backend/register_gradients.ts";
import { registerResizeGradKernels } from "../lib/backend/resize_grad_kernels.ts";
import { registerWasmGradientKernels } from "../lib/backend/wasm_kernels.ts";
import { resNet } from "../lib/models/resnet.ts";
import { srResNet } from "../lib/models/sr_resnet.ts";
import { unet } from "../lib/models/unet.ts";
import { gradProm } from "../lib/strategies/grad_prom.ts";
import { ipOnly } from "../lib/strategies/ip_only.ts";
import { joint } from "../lib/strategies/joint.ts";
import type { Strategy } from "../lib/strategies/types.ts";
import { type Recognizer, trainStep, type VrMode } from "../lib/train/train_step.ts";
import { Rng } from "../lib/util/rng.ts";

registerGradients();
registerBatchNormGradient();
registerResizeGradKernels();
registerWasmGradientKernels();
const ONEDNN_MISSING = _onednnUnavailable();

/** Learning rates of θ and φ, and λ (not 1, so a step that drops λ is caught). */
const A = 0.5, B = 0.2, LAMBDA = 0.4;
/**
 * Largest |actual − expected| update over the largest |expected|, per network. The test
 * recomputes the step's gradients with the same kernels, so the two differ only by float32
 * rounding in the strategy's sums and in θ − a·u (measured: below 3e-6 on cpu, wasm and onednn).
 */
const TOL = 1e-4;
/** A wrong update must be at least this many tolerances away from the right one. */
const MARGIN = 20;

/** Noisy class-coloured squares (two classes), their masks (0 outside, 1 + class inside). */
function toyBatch(seed: number, n = 3, size = 12) {
  const rng = new Rng(seed);
  const clean = new Float32Array(n * size * size * 3);
  const noisy = new Float32Array(clean.length);
  const labels = new Int32Array(n);
  const masks = new Int32Array(n * size * size);
  for (let i = 0; i < n; i++) {
    const c = rng.int(2);
    labels[i] = c;
    const cy = 3 + rng.int(6), cx = 3 + rng.int(6);
    for (let p = 0; p < size * size; p++) {
      const y = Math.floor(p / size), x = p % size;
      const inside = Math.abs(y - cy) < 3 && Math.abs(x - cx) < 3;
      masks[i * size * size + p] = inside ? 1 + c : 0;
      for (let ch = 0; ch < 3; ch++) {
        const v = inside ? (c === 0 ? [0.8, 0.2, 0.2][ch] : [0.2, 0.2, 0.8][ch]) : 0.5;
        const j = (i * size * size + p) * 3 + ch;
        clean[j] = v;
        noisy[j] = Math.min(1, Math.max(0, v + 0.15 * rng.normal()));
      }
    }
  }
  const shape: [number, number, number, number] = [n, size, size, 3];
  return {
    target: tf.tensor4d(clean, shape),
    input: tf.tensor4d(noisy, shape),
    labels: tf.tensor1d(labels, "int32"),
    masks: tf.tensor4d(masks, [n, size, size, 1], "int32"),
  };
}
type Batch = ReturnType<typeof toyBatch>;

/** The test's own losses, written out from their definitions. */
const ownLoss = {
  mse: (pred: tf.Tensor, target: tf.Tensor) => tf.mean(tf.square(tf.sub(pred, target))),
  /** −mean_n log softmax(z_n)[y_n] */
  crossEntropy: (logits: tf.Tensor, labels: tf.Tensor) =>
    tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, 2), tf.logSoftmax(logits)), 1))),
  /** per-pixel cross-entropy + 1 − mean_k (2·Σ p·t + 1) / (Σ p + Σ t + 1) */
  segmentation: (logits: tf.Tensor, masks: tf.Tensor) => {
    const k = logits.shape[3]!;
    const flat = tf.oneHot(tf.cast(tf.reshape(masks, [-1]), "int32") as tf.Tensor1D, k);
    const t = tf.reshape(flat, logits.shape);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(logits)), 3)));
    const p = tf.softmax(logits);
    const dice = tf.div(
      tf.add(tf.mul(tf.sum(tf.mul(p, t), [0, 1, 2]), 2), 1),
      tf.add(tf.add(tf.sum(p, [0, 1, 2]), tf.sum(t, [0, 1, 2])), 1),
    );
    return tf.add(ce, tf.sub(1, tf.mean(dice)));
  },
  /** −mean_n Σ_k q_nk log softmax(z_n)_k */
  soft: (logits: tf.Tensor, q: tf.Tensor) =>
    tf.neg(tf.mean(tf.sum(tf.mul(q, tf.logSoftmax(logits)), -1))),
};

/** One auxiliary task: its network and how its loss reads the batch. */
interface Aux {
  vr: Recognizer;
  kind: "classify" | "segment";
}

/** Models of one case: a small SR-ResNet with batch norm, and one or two recognisers. */
function models(seed: number, auxKinds: Aux["kind"][]) {
  const ip = srResNet({ channels: 8, blocks: 1, outerKernel: 3, batchNorm: true }, seed);
  const auxes: Aux[] = auxKinds.map((kind, k) => ({
    kind,
    vr: kind === "classify"
      ? resNet({ blocks: [1, 1], widths: [4, 8], classes: 2 }, seed + 100 + k)
      : unet({ depth: 2, baseWidth: 4, classes: 3 }, seed + 200 + k),
  }));
  return { ip, auxes };
}

const read = (vars: tf.Variable[]) => vars.map((v) => Float64Array.from(v.dataSync()));

/** The gradients of one step, computed by the test. */
interface Reference {
  gIp: Float64Array[];
  /** ∇θ L_VR_k, without λ. */
  gVr: Float64Array[][];
  /** ∇φ_k L_VR_k. */
  gPhi: Float64Array[][];
}

function reference(
  m: ReturnType<typeof models>,
  batch: Batch,
  vrMode: VrMode,
  unsupervised: boolean,
): Reference {
  const theta = m.ip.module.trainable();
  const out: Reference = { gIp: [], gVr: [], gPhi: [] };
  const grads = (f: () => tf.Scalar, vars: tf.Variable[]) => {
    const { value, grads } = tf.variableGrads(f, vars);
    const arrays = vars.map((v) => Float64Array.from(grads[v.name].dataSync()));
    tf.dispose([value, ...Object.values(grads)]);
    return arrays;
  };
  out.gIp = grads(
    () => ownLoss.mse(m.ip.apply(batch.input, { training: true }), batch.target) as tf.Scalar,
    theta,
  );
  if (vrMode === "none") return out;
  for (const aux of m.auxes) {
    const phi = vrMode === "trained" ? aux.vr.module.trainable() : [];
    const soft = unsupervised
      ? tf.tidy(() => tf.softmax(aux.vr.apply(batch.target, { training: false })))
      : undefined;
    const all = grads(() => {
      const z = aux.vr.apply(m.ip.apply(batch.input, { training: true }), {
        training: vrMode === "trained",
      });
      if (soft) return ownLoss.soft(z, soft) as tf.Scalar;
      return (aux.kind === "classify"
        ? ownLoss.crossEntropy(z, batch.labels)
        : ownLoss.segmentation(z, batch.masks)) as tf.Scalar;
    }, [...theta, ...phi]);
    soft?.dispose();
    out.gVr.push(all.slice(0, theta.length));
    out.gPhi.push(all.slice(theta.length));
  }
  return out;
}

function dot(a: Float64Array[], b: Float64Array[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i].length; j++) s += a[i][j] * b[i][j];
  return s;
}
function cosine(a: Float64Array[], b: Float64Array[]): number {
  const d = dot(a, b), n = Math.sqrt(dot(a, a) * dot(b, b));
  return n > 0 ? d / n : 0;
}

/** a·(G_IP + Σ_k w_k,i·λ·G_VR_k) per variable i of θ. */
function thetaUpdate(
  r: Reference,
  weights: number[][], // [aux][variable]
  lambda = LAMBDA,
): Float64Array[] {
  return r.gIp.map((g, i) => {
    const u = Float64Array.from(g);
    r.gVr.forEach((gv, k) => {
      for (let j = 0; j < u.length; j++) u[j] += weights[k][i] * lambda * gv[i][j];
    });
    return u.map((x) => A * x);
  });
}

/** max |a − b| / max |b| over a list of arrays. */
function relDiff(a: Float64Array[], b: Float64Array[]): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    for (let j = 0; j < b[i].length; j++) {
      d = Math.max(d, Math.abs(a[i][j] - b[i][j]));
      s = Math.max(s, Math.abs(b[i][j]));
    }
  }
  return s > 0 ? d / s : d;
}

/** A method: its strategy and the weights it must give each auxiliary, per variable of θ. */
interface Method {
  name: string;
  strategy: () => Strategy;
  /** w[k][i] from the test's own cosines. */
  weights: (r: Reference) => number[][];
}
const globalWeight = (f: (cos: number) => number) => (r: Reference) =>
  r.gVr.map((g) => r.gIp.map(() => f(cosine(r.gIp, g))));
const METHODS: Record<string, Method> = {
  joint: { name: "Joint (w = 1)", strategy: () => joint, weights: globalWeight(() => 1) },
  ipOnly: { name: "IP only (w = 0)", strategy: () => ipOnly, weights: globalWeight(() => 0) },
  gate: {
    name: "GradProm gate (w = [cos ≥ 0])",
    strategy: () => gradProm(),
    weights: globalWeight((c) => c >= 0 ? 1 : 0),
  },
  weighted: {
    name: "GradProm weighted (w = max(0, cos))",
    strategy: () => gradProm({ mode: "weighted" }),
    weights: globalWeight((c) => Math.max(0, c)),
  },
  layer: {
    name: "GradProm per layer (w_i = [cos_i ≥ 0])",
    strategy: () => gradProm({ granularity: "layer" }),
    weights: (r) => r.gVr.map((g) => r.gIp.map((gi, i) => cosine([gi], [g[i]]) >= 0 ? 1 : 0)),
  },
};

interface Case {
  method: Method;
  vrMode: VrMode;
  aux: Aux["kind"][];
  unsupervised?: boolean;
  /** The signs of cos(G_IP, G_VR_k) the case needs (searched over seeds), e.g. ["+", "-"]. */
  signs?: ("+" | "-")[];
  /** Where the search for such a seed starts (the seed it found when written; saves time). */
  from?: number;
  /**
   * `trainStep`'s `measureCosine: false`: Joint takes one backward pass of L_IP + λ·L_VR and
   * reports no cosine; a strategy that needs both gradients ignores it.
   */
  measureCosine?: false;
}

/** What one checked step saw: the cosines and weights, for the tests' own assertions. */
interface Checked {
  seed: number;
  cosines: number[];
  weights: number[][];
}

/**
 * Finds a seed whose cosines have the wanted signs (clear of 0), runs one `trainStep` there
 * and checks θ's and every φ's new values against the test's own update.
 */
function checkStep(c: Case): Checked {
  const from = c.from ?? 0;
  for (let seed = from; seed < from + 40; seed++) {
    const m = models(seed, c.aux);
    const batch = toyBatch(seed);
    try {
      const theta = m.ip.module.trainable();
      const ref = reference(m, batch, c.vrMode, c.unsupervised ?? false);
      const cosines = ref.gVr.map((g) => cosine(ref.gIp, g));
      if (c.signs && !c.signs.every((s, k) => s === "+" ? cosines[k] > 1e-3 : cosines[k] < -1e-3)) {
        continue;
      }
      const weights = c.vrMode === "none" ? [] : c.method.weights(ref);
      const expected = thetaUpdate(ref, weights);
      const theta0 = read(theta);
      const phis = m.auxes.map((a) => a.vr.module.trainable());
      const phi0 = phis.map(read);
      const ipOptimizer = tf.train.sgd(A);
      const vrOptimizers = m.auxes.map(() => tf.train.sgd(B));
      const log = trainStep({
        ip: m.ip,
        vr: m.auxes[0]?.vr,
        vrMode: c.vrMode,
        strategy: c.method.strategy(),
        lambda: LAMBDA,
        auxLoss: c.unsupervised ? "unsupervised" : "supervised",
        ipOptimizer,
        vrOptimizer: vrOptimizers[0],
        extra: m.auxes.slice(1).map((a, k) => ({ vr: a.vr, vrOptimizer: vrOptimizers[k + 1] })),
        measureCosine: c.measureCosine,
      }, {
        input: batch.input,
        target: batch.target,
        labels: c.unsupervised ? undefined : aux0Labels(c, batch),
        extraLabels: c.aux.slice(1).map((kind) => kind === "classify" ? batch.labels : batch.masks),
      });
      ipOptimizer.dispose();
      vrOptimizers.forEach((o) => o.dispose());

      // θ moved by the expected update, and not by the wrong ones.
      const moved = theta0.map((t0, i) => t0.map((x, j) => x - theta[i].dataSync()[j]));
      const err = relDiff(moved, expected);
      assert.ok(err <= TOL, `θ's update is off by ${err.toExponential(2)} (seed ${seed})`);
      for (const [what, wrong] of wrongUpdates(ref, weights, c)) {
        const gap = relDiff(wrong, expected);
        assert.ok(
          gap > MARGIN * TOL,
          `the test cannot tell the update from ${what}: they differ by ${gap.toExponential(2)}`,
        );
      }
      // Each φ moved by b·∇φ L_VR when trained, and not at all when frozen.
      phis.forEach((phi, k) => {
        const after = read(phi);
        if (c.vrMode !== "trained") {
          assert.deepEqual(after, phi0[k], `VR ${k} is frozen but moved`);
          return;
        }
        const movedPhi = phi0[k].map((p0, i) => p0.map((x, j) => x - after[i][j]));
        const expPhi = ref.gPhi[k].map((g) => g.map((x) => B * x));
        const e = relDiff(movedPhi, expPhi);
        assert.ok(e <= TOL, `φ_${k}'s update is off by ${e.toExponential(2)} (seed ${seed})`);
      });
      // The step reports the cosine and weight it used.
      if (c.vrMode !== "none") {
        const reported = log.perAux ?? [{ cosine: log.cosine, auxWeight: log.auxWeight }];
        reported.forEach((p, k) => {
          if (c.measureCosine === false && c.method.strategy().sumOnly) {
            assert.ok(Number.isNaN(p.cosine), `a step without the cosine reported ${p.cosine}`);
          } else {
            assert.ok(
              Math.abs(p.cosine - cosines[k]) < 1e-4,
              `cosine ${p.cosine} vs ${cosines[k]}`,
            );
          }
          const w = weights[k].reduce((a, b) => a + b, 0) / weights[k].length;
          assert.ok(Math.abs(p.auxWeight - w) < 1e-4, `weight ${p.auxWeight} vs ${w}`);
        });
      }
      return { seed, cosines, weights };
    } finally {
      tf.dispose(Object.values(batch));
      m.ip.module.dispose();
      m.auxes.forEach((a) => a.vr.module.dispose());
    }
  }
  throw new Error(`No seed in ${from}..${from + 39} gives cosines of signs ${c.signs}`);
}

function aux0Labels(c: Case, batch: Batch): tf.Tensor | undefined {
  if (c.vrMode === "none") return undefined;
  return c.aux[0] === "classify" ? batch.labels : batch.masks;
}

/** Updates a broken step could apply instead: each weight flipped, all 0, all 1, no λ. */
function wrongUpdates(r: Reference, weights: number[][], c: Case): [string, Float64Array[]][] {
  if (c.vrMode === "none") {
    // No VR: the alternative is a step that used some other gradient scale.
    return [["a step of 2·G_IP", thetaUpdate(r, []).map((u) => u.map((x) => 2 * x))]];
  }
  const out: [string, Float64Array[]][] = [];
  if (weights.some((w) => w.some((x) => x > 0))) {
    out.push(["the step without λ", thetaUpdate(r, weights, 1)]);
  }
  weights.forEach((_, k) => {
    const flipped = weights.map((wk, j) => j === k ? wk.map((x) => x >= 0.5 ? 0 : 1) : wk);
    out.push([`auxiliary ${k}'s weight inverted`, thetaUpdate(r, flipped)]);
  });
  const same = (ws: number[][], v: number) => ws.every((w) => w.every((x) => x === v));
  if (!same(weights, 0)) {
    out.push([
      "G_IP alone",
      thetaUpdate(r, weights.map((w) => w.map(() => 0))),
    ]);
  }
  if (!same(weights, 1)) {
    out.push(["Joint (every weight 1)", thetaUpdate(r, weights.map((w) => w.map(() => 1)))]);
  }
  return out;
}

const CASES: [string, Case][] = [
  ["no VR (Benchmark-i): θ follows G_IP", { method: METHODS.joint, vrMode: "none", aux: [] }],
  ["Joint", { method: METHODS.joint, vrMode: "trained", aux: ["classify"] }],
  ["IP only", { method: METHODS.ipOnly, vrMode: "trained", aux: ["classify"] }],
  ["GradProm gate open (cos > 0)", {
    method: METHODS.gate,
    vrMode: "trained",
    aux: ["classify"],
    signs: ["+"],
  }],
  ["GradProm gate shut (cos < 0)", {
    method: METHODS.gate,
    vrMode: "trained",
    aux: ["classify"],
    signs: ["-"],
  }],
  ["GradProm weighted", {
    method: METHODS.weighted,
    vrMode: "trained",
    aux: ["classify"],
    signs: ["+"],
  }],
  ["GradProm per layer", { method: METHODS.layer, vrMode: "trained", aux: ["classify"] }],
  ["GradProm gate, frozen VR", {
    method: METHODS.gate,
    vrMode: "frozen",
    aux: ["classify"],
    signs: ["+"],
  }],
  ["GradProm gate, segmentation VR (CE + Dice)", {
    method: METHODS.gate,
    vrMode: "trained",
    aux: ["segment"],
  }],
  ["GradProm gate, unsupervised L_VR", {
    method: METHODS.gate,
    vrMode: "trained",
    aux: ["classify"],
    unsupervised: true,
  }],
  ["two auxiliaries, one gate each (one open, one shut)", {
    method: METHODS.gate,
    vrMode: "trained",
    aux: ["classify", "segment"],
    signs: ["+", "-"],
  }],
  ["two auxiliaries, Joint", {
    method: METHODS.joint,
    vrMode: "trained",
    aux: ["classify", "segment"],
  }],
  ["Joint, one backward pass (no cosine)", {
    method: METHODS.joint,
    vrMode: "trained",
    aux: ["classify"],
    measureCosine: false,
  }],
  ["Frozen-params (Joint, frozen VR), one backward pass", {
    method: METHODS.joint,
    vrMode: "frozen",
    aux: ["classify"],
    measureCosine: false,
  }],
  ["two auxiliaries, Joint, one backward pass", {
    method: METHODS.joint,
    vrMode: "trained",
    aux: ["classify", "segment"],
    measureCosine: false,
  }],
  ["GradProm gate with measureCosine: false (it needs both gradients, so measures anyway)", {
    method: METHODS.gate,
    vrMode: "trained",
    aux: ["classify"],
    signs: ["-"],
    measureCosine: false,
  }],
];

for (const backend of ["cpu", "wasm", "onednn"]) {
  const missing = backend === "onednn" ? ONEDNN_MISSING : undefined;
  Deno.test({
    name: `trainStep() applies each method's update with plain SGD on ${backend}` +
      (missing ? ` (skipped: ${missing})` : ""),
    ignore: missing !== undefined,
    fn: async (t) => {
      await tf.setBackend(backend);
      assert.equal(tf.getBackend(), backend);
      const before = tf.memory().numTensors;
      for (const [name, c] of CASES) {
        await t.step(`${name}: ${c.method.name}`, () => {
          const seen = checkStep(c);
          if (c.method === METHODS.layer) {
            // The per-layer case is only a test of per-layer gating if its gates disagree.
            const w = seen.weights[0];
            assert.ok(w.includes(0) && w.includes(1), `per-layer gates all equal: ${w}`);
          }
          if (c.method === METHODS.weighted) {
            assert.ok(seen.weights[0][0] > 0 && seen.weights[0][0] < 1, `${seen.weights[0][0]}`);
          }
        });
      }
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    },
  });
}
