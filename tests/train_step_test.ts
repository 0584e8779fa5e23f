import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../lib/backend/setup_backend.ts";
import { resNet } from "../lib/models/resnet.ts";
import { srResNet } from "../lib/models/sr_resnet.ts";
import { gradProm } from "../lib/strategies/grad_prom.ts";
import { joint } from "../lib/strategies/joint.ts";
import { trainStep, type VrMode } from "../lib/train/train_step.ts";
import { Rng } from "../lib/util/rng.ts";

await setupBackend({ quiet: true });

/** A tiny, learnable problem: noisy versions of class-coloured squares. */
function toyBatch(rng: Rng, n = 4, size = 16) {
  const clean = new Float32Array(n * size * size * 3);
  const noisy = new Float32Array(clean.length);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(2);
    labels[i] = c;
    for (let p = 0; p < size * size; p++) {
      const y = Math.floor(p / size), x = p % size;
      const inside = Math.abs(y - size / 2) < 4 && Math.abs(x - size / 2) < 4;
      for (let ch = 0; ch < 3; ch++) {
        const v = inside ? (c === 0 ? [0.8, 0.2, 0.2][ch] : [0.2, 0.2, 0.8][ch]) : 0.5;
        const j = ((i * size * size) + p) * 3 + ch;
        clean[j] = v;
        noisy[j] = Math.min(1, Math.max(0, v + 0.1 * rng.normal()));
      }
    }
  }
  const shape: [number, number, number, number] = [n, size, size, 3];
  return {
    target: tf.tensor4d(clean, shape),
    input: tf.tensor4d(noisy, shape),
    labels: tf.tensor1d(labels, "int32"),
  };
}

function setup(vrMode: VrMode, seed = 0) {
  const ip = srResNet({ channels: 8, blocks: 1, outerKernel: 3, globalResidual: true }, seed);
  const vr = resNet({ blocks: [1, 1], widths: [4, 8], classes: 2 }, seed);
  return {
    ip,
    vr,
    vrMode,
    strategy: gradProm(),
    lambda: 0.1,
    ipOptimizer: tf.train.adam(3e-3),
    vrOptimizer: tf.train.adam(3e-3),
  };
}

function dispose(s: ReturnType<typeof setup>) {
  s.ip.module.dispose();
  s.vr.module.dispose();
  s.ipOptimizer.dispose();
  s.vrOptimizer.dispose();
}

Deno.test("trainStep() keeps the tensor count flat across steps, in every VR mode", () => {
  for (const mode of ["none", "trained", "frozen"] as VrMode[]) {
    const s = setup(mode);
    const rng = new Rng(1);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const b = toyBatch(rng);
      trainStep(s, b);
      tf.dispose([b.input, b.target, b.labels]);
      counts.push(tf.memory().numTensors);
    }
    // Step 1 creates the optimizer's slots; after that the count must not move.
    assert.deepEqual(counts.slice(1), [counts[1], counts[1], counts[1]], `${mode}: ${counts}`);
    dispose(s);
  }
});

// That each step applies the method's update exactly is checked in train_step_update_test.ts;
// this checks that a GradProm run learns on a toy problem and reports its gate consistently.
Deno.test("trainStep() lowers both losses over a short run (GradProm)", () => {
  const s = setup("trained");
  const rng = new Rng(2);
  const ip: number[] = [], vr: number[] = [];
  for (let i = 0; i < 40; i++) {
    const b = toyBatch(rng, 8);
    const log = trainStep(s, b);
    tf.dispose([b.input, b.target, b.labels]);
    ip.push(log.lossIp);
    vr.push(log.lossVr);
    assert.ok(log.cosine >= -1 && log.cosine <= 1);
    assert.equal(log.auxWeight, log.cosine >= 0 ? 1 : 0);
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(
    avg(ip.slice(-8)) < 0.7 * avg(ip.slice(0, 8)),
    `L_IP ${ip.slice(0, 8)} → ${ip.slice(-8)}`,
  );
  assert.ok(avg(vr.slice(-8)) < avg(vr.slice(0, 8)), `L_VR ${vr.slice(0, 8)} → ${vr.slice(-8)}`);
  dispose(s);
});

Deno.test("trainStep() leaves a frozen VR untouched and moves a trained one (Joint)", () => {
  for (const [mode, moves] of [["frozen", false], ["trained", true]] as const) {
    const s = { ...setup(mode), strategy: joint };
    const before = s.vr.module.trainable().map((v) => Array.from(v.dataSync()));
    const b = toyBatch(new Rng(3));
    trainStep(s, b);
    tf.dispose([b.input, b.target, b.labels]);
    const after = s.vr.module.trainable().map((v) => Array.from(v.dataSync()));
    assert.equal(JSON.stringify(before) !== JSON.stringify(after), moves, mode);
    dispose(s);
  }
});

Deno.test("trainStep() stops on a NaN loss without updating anything", () => {
  const s = setup("trained");
  const b = toyBatch(new Rng(4));
  const bad = { ...b, target: tf.fill(b.target.shape, NaN) as tf.Tensor4D };
  const before = s.ip.module.trainable().map((v) => Array.from(v.dataSync()));
  assert.throws(() => trainStep(s, bad), /Expected a finite L_IP but found NaN/);
  const after = s.ip.module.trainable().map((v) => Array.from(v.dataSync()));
  assert.deepEqual(after, before);
  tf.dispose([b.input, b.target, b.labels, bad.target]);
  dispose(s);
});

// The unsupervised update itself (∇θ of the soft cross-entropy to VR's clean prediction) is
// checked in train_step_update_test.ts.
Deno.test("trainStep() unsupervised runs without labels (finite L_VR, flat tensor count); supervised refuses", () => {
  const s = { ...setup("trained"), auxLoss: "unsupervised" as const };
  const rng = new Rng(5);
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const b = toyBatch(rng);
    const log = trainStep(s, { input: b.input, target: b.target });
    assert.ok(Number.isFinite(log.lossVr) && log.lossVr >= 0);
    tf.dispose([b.input, b.target, b.labels]);
    counts.push(tf.memory().numTensors);
  }
  assert.equal(counts[2], counts[1]);
  // Supervised without labels is refused with a clear error.
  const b = toyBatch(rng);
  assert.throws(
    () => trainStep(setup("trained"), { input: b.input, target: b.target }),
    /needs a VR model and labels/,
  );
  tf.dispose([b.input, b.target, b.labels]);
  dispose(s);
});

Deno.test("trainStep() reports per-variable cosines on request, without leaking tensors", () => {
  const s = setup("trained");
  const rng = new Rng(7);
  try {
    const b0 = toyBatch(rng);
    const plain = trainStep(s, b0);
    assert.equal(plain.layerCosine, undefined);
    tf.dispose([b0.target, b0.input, b0.labels]);
    const before = tf.memory().numTensors;
    const b = toyBatch(rng);
    const out = trainStep({ ...s, layerCosines: true }, b);
    tf.dispose([b.target, b.input, b.labels]);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(out.layerCosine?.length, s.ip.module.trainable().length);
    assert.ok(out.layerCosine!.every((c) => c >= -1 && c <= 1));
  } finally {
    dispose(s);
  }
});

// The step records one forward pass of IP and VR and runs both backward passes over it: a second
// forward of IP (what two tf.variableGrads calls would cost) shows up as more forward convolutions.
Deno.test("trainStep() runs one forward pass of IP and VR per step (Joint, GradProm, frozen, no VR)", async () => {
  const isForwardConv = (name: string) => name === "Conv2D" || name === "FusedConv2D";
  for (const mode of ["trained", "frozen", "none"] as VrMode[]) {
    const s = setup(mode);
    const rng = new Rng(2);
    const b = toyBatch(rng);
    trainStep(s, b); // creates the optimizers' slots outside the profile
    // tf.profile returns the engine's one profile object: count before profiling again.
    const forwardConvs = (await tf.profile(() =>
      tf.tidy(() => {
        const enhanced = s.ip.apply(b.input, { training: true });
        if (mode !== "none") s.vr.apply(enhanced, { training: mode === "trained" });
      })
    )).kernels.filter((k) => isForwardConv(k.name)).length;
    const stepConvs = (await tf.profile(() => {
      trainStep(s, b);
    })).kernels.filter((k) => isForwardConv(k.name)).length;
    assert.ok(forwardConvs > 0, `${mode}: the forward pass ran no convolution`);
    assert.equal(stepConvs, forwardConvs, `${mode}: forward convolutions in a step`);
    tf.dispose([b.input, b.target, b.labels]);
    dispose(s);
  }
});

// Nothing differentiates with respect to the input image, so no backward pass convolves back into
// it: the one backward-data convolution that lands on an image-shaped tensor is VR's first layer's,
// the gradient of L_VR with respect to the enhanced image, on which G_VR depends.
Deno.test("trainStep() computes no gradient of the input image (GradProm, Joint one-pass, no VR)", async () => {
  const cases: [VrMode, boolean, number][] = [["trained", true, 1], ["trained", false, 1], [
    "none",
    true,
    0,
  ]];
  for (const [mode, gradPromStep, expected] of cases) {
    const s = {
      ...setup(mode),
      ...(gradPromStep ? {} : { strategy: joint, measureCosine: false }),
    };
    const b = toyBatch(new Rng(4));
    trainStep(s, b);
    const image = JSON.stringify(b.input.shape);
    const p = await tf.profile(() => {
      trainStep(s, b);
    });
    const intoImage = p.kernels.filter((k) =>
      k.name === "Conv2DBackpropInput" && JSON.stringify(k.outputShapes[0]) === image
    );
    assert.ok(p.kernels.some((k) => k.name === "Conv2DBackpropFilter"), mode);
    assert.equal(intoImage.length, expected, `${mode}, ${gradPromStep ? "GradProm" : "Joint"}`);
    tf.dispose([b.input, b.target, b.labels]);
    dispose(s);
  }
});

// Joint's update is G_IP + G_VR whatever the two are, so a step that does not measure their
// cosine backpropagates L_IP + λ·L_VR once, as PyTorch's joint training does: one backward pass
// through IP instead of two, and the same training as the two-pass step up to float rounding.
Deno.test("trainStep() with Joint and measureCosine false: one backward pass through IP, the two-pass update to 1e-5", async () => {
  const isFilterGrad = (name: string) => name === "Conv2DBackpropFilter";
  const filterGrads = async (s: ReturnType<typeof setup>, b: ReturnType<typeof toyBatch>) =>
    (await tf.profile(() => {
      trainStep(s, b);
    })).kernels.filter((k) => isFilterGrad(k.name)).length;
  const rng = new Rng(5);
  const b = toyBatch(rng);
  const ipAlone = setup("none");
  trainStep(ipAlone, b);
  const ipPass = await filterGrads(ipAlone, b);
  dispose(ipAlone);
  assert.ok(ipPass > 0, "IP's backward pass computed no filter gradient");
  for (const mode of ["trained", "frozen"] as VrMode[]) {
    const two = { ...setup(mode), strategy: joint };
    const one = { ...setup(mode), strategy: joint, measureCosine: false };
    try {
      let before = 0;
      for (let i = 0; i < 6; i++) {
        // The first step creates Adam's slots; the count stays flat after it.
        if (i === 1) before = tf.memory().numTensors;
        const batch = toyBatch(new Rng(100 + i));
        const a = trainStep(two, batch), c = trainStep(one, batch);
        tf.dispose([batch.input, batch.target, batch.labels]);
        assert.ok(Number.isFinite(a.cosine), `${mode}: the two-pass step measures the cosine`);
        assert.ok(Number.isNaN(c.cosine), `${mode}: the one-pass step cannot know the cosine`);
        assert.equal(c.auxWeight, 1);
        assert.ok(Math.abs(a.lossIp - c.lossIp) <= 1e-5 * Math.abs(a.lossIp), `${mode} L_IP`);
        assert.ok(Math.abs(a.lossVr - c.lossVr) <= 1e-5 * Math.abs(a.lossVr), `${mode} L_VR`);
      }
      assert.equal(tf.memory().numTensors, before, `${mode}: tensors leaked`);
      // Every variable of IP and VR (and the batch-norm statistics) after six Adam steps.
      const vars = (s: typeof two) =>
        [s.ip.module, s.vr.module].flatMap((m) => [...m.params.values(), ...m.state.values()]);
      const [va, vc] = [vars(two), vars(one)];
      assert.equal(va.length, vc.length);
      let worst = 0;
      va.forEach((v, i) => {
        const x = v.dataSync(), y = vc[i].dataSync();
        const scale = Math.max(1e-3, ...Array.from(x, Math.abs));
        for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j] - y[j]) / scale);
      });
      assert.ok(worst <= 1e-5, `${mode}: one pass and two passes differ by ${worst}`);
      // One backward pass through IP fewer.
      const rngB = new Rng(7);
      const bb = toyBatch(rngB);
      const diff = (await filterGrads(two, bb)) - (await filterGrads(one, bb));
      assert.equal(diff, ipPass, `${mode}: the one-pass step saves one backward pass through IP`);
      tf.dispose([bb.input, bb.target, bb.labels]);
    } finally {
      dispose(two);
      dispose(one);
    }
  }
  tf.dispose([b.input, b.target, b.labels]);
});
