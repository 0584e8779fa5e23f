import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import type { Module } from "../models/module.ts";
import { resNet } from "../models/resnet.ts";
import { srResNet } from "../models/sr_resnet.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { joint } from "../strategies/joint.ts";
import { Rng } from "../util/rng.ts";
import { type TrainEvent, trainLoop, type VrBatch } from "./train_loop.ts";
import { NonFiniteLossError, type TrainBatch, type TrainStepSetup } from "./train_step.ts";

await setupBackend({ quiet: true });

/** Eight 8×8 images: class 0 dark, class 1 bright, with seeded noise. */
function toyData() {
  const rng = new Rng(5);
  const labels = Array.from({ length: 8 }, (_, i) => i % 2);
  const values = labels.flatMap((c) =>
    Array.from({ length: 8 * 8 * 3 }, () => (c ? 0.7 : 0.3) + 0.05 * rng.normal())
  );
  return {
    images: tf.tensor4d(values, [8, 8, 8, 3]),
    labels: tf.tensor1d(labels, "int32"),
  };
}

/** Seeded batches of 4: the indices and the input noise replay exactly (`skip`). */
function toyBatches(data: ReturnType<typeof toyData>, seed: number) {
  const order = new Rng(seed);
  const noise = new Rng(seed).fork("noise");
  const draw = () => [0, 1, 2, 3].map(() => order.int(8));
  return {
    next: (): TrainBatch =>
      tf.tidy(() => {
        const idx = tf.tensor1d(draw(), "int32");
        const target = tf.gather(data.images, idx) as tf.Tensor4D;
        const input = tf.add(
          target,
          tf.randomNormal(target.shape, 0, 0.1, "float32", noise.seed()),
        );
        return { target, input: input as tf.Tensor4D, labels: tf.gather(data.labels, idx) };
      }),
    skip: () => (draw(), noise.seed()),
  };
}

function ipVrSetup(): TrainStepSetup {
  return {
    ip: srResNet({ channels: 4, blocks: 1, outerKernel: 3 }, 1),
    vr: resNet({ blocks: [1], widths: [4], classes: 2 }, 2),
    vrMode: "trained",
    strategy: gradProm(),
    lambda: 0.1,
    ipOptimizer: tf.train.adam(1e-2),
    vrOptimizer: tf.train.adam(1e-2),
  };
}

function disposeSetup(s: TrainStepSetup) {
  s.ip.module.dispose();
  s.vr!.module.dispose();
  s.ipOptimizer.dispose();
  s.vrOptimizer!.dispose();
}

/** Every parameter and batch-norm statistic of a module, in order. */
const values = (m: Module) =>
  [...m.params.values(), ...m.state.values()].map((v) => Array.from(v.dataSync()));

Deno.test("trainLoop() trains a VR alone: L_VR falls, only L_VR is logged, nothing leaks", async () => {
  const data = toyData();
  const before = tf.memory().numTensors;
  const vr = resNet({ blocks: [1], widths: [4], classes: 2 }, 0);
  const optimizer = tf.train.adam(1e-2);
  const order = new Rng(0);
  const events: TrainEvent[] = [];
  const { log, resumedFrom } = await trainLoop({
    setup: { vr, optimizer },
    batches: {
      next: (): VrBatch =>
        tf.tidy(() => {
          const idx = tf.tensor1d([0, 1, 2, 3].map(() => order.int(8)), "int32");
          return {
            images: tf.gather(data.images, idx) as tf.Tensor4D,
            labels: tf.gather(data.labels, idx),
          };
        }),
    },
    steps: 15,
    progress: false,
    onEvent: (e) => events.push(e),
  });
  assert.equal(resumedFrom, undefined);
  assert.equal(log.lossVr.length, 15);
  assert.ok(log.lossVr[14] < log.lossVr[0], `L_VR ${log.lossVr[0]} → ${log.lossVr[14]}`);
  assert.ok(log.lossIp.every(Number.isNaN) && log.cosine.every(Number.isNaN));
  assert.equal(log.layers, undefined);
  assert.deepEqual(
    events.map((e) => e.type === "step" && e.step),
    [...Array(15).keys()].map((i) => i + 1),
  );
  vr.module.dispose();
  optimizer.dispose();
  assert.equal(tf.memory().numTensors, before, "batches and steps leave no tensors");
  tf.dispose(data);
});

Deno.test("trainLoop() resumes an interrupted IP+VR run at its checkpoint and ends with the uninterrupted numbers", async () => {
  const data = toyData();
  const dir = await Deno.makeTempDir({ prefix: "gradprom-loop-" });
  const path = join(dir, "state.bin");
  try {
    const whole = ipVrSetup();
    const a = await trainLoop({
      setup: whole,
      batches: toyBatches(data, 3),
      steps: 7,
      progress: false,
      layerEvery: 3,
    });
    assert.deepEqual(a.log.layers?.steps, [1, 4, 7]);
    assert.equal(a.log.layers?.names.length, whole.ip.module.trainable().length);

    const cut = ipVrSetup();
    const cutEvents: TrainEvent[] = [];
    await assert.rejects(
      trainLoop({
        setup: cut,
        batches: toyBatches(data, 3),
        steps: 7,
        progress: false,
        layerEvery: 3,
        checkpoint: { path, every: 2 },
        stopAfterStep: 5,
        onEvent: (e) => cutEvents.push(e),
      }),
      /stopped after step 5/,
    );
    assert.deepEqual(cutEvents.filter((e) => e.type === "checkpoint").map((e) => e.step), [2, 4]);
    disposeSetup(cut);

    // Fresh models and optimizers, as a new process would build; no `skip`: the default replays.
    const again = ipVrSetup();
    const { next } = toyBatches(data, 3);
    const events: TrainEvent[] = [];
    const b = await trainLoop({
      setup: again,
      batches: { next },
      steps: 7,
      progress: false,
      layerEvery: 3,
      checkpoint: { path, every: 2 },
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(events[0], { type: "resume", step: 4, total: 7, path });
    assert.deepEqual(events.filter((e) => e.type === "step").map((e) => e.step), [5, 6, 7]);
    assert.equal(b.resumedFrom, 4);
    assert.deepEqual(b.log, a.log);
    assert.deepEqual(values(again.ip.module), values(whole.ip.module));
    assert.deepEqual(values(again.vr!.module), values(whole.vr!.module));
    disposeSetup(whole);
    disposeSetup(again);
  } finally {
    tf.dispose(data);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainLoop() stops on a non-finite loss, naming the step and the last good checkpoint", async () => {
  const data = toyData();
  const dir = await Deno.makeTempDir({ prefix: "gradprom-loop-" });
  const path = join(dir, "state.bin");
  const s = ipVrSetup();
  const batches = toyBatches(data, 4);
  let step = 0;
  const before = tf.memory().numTensors;
  try {
    const error = await trainLoop({
      setup: s,
      batches: {
        next: () => {
          const b = batches.next();
          if (++step < 4) return b;
          // Step 4's input is NaN.
          const input = tf.mul(b.input, NaN) as tf.Tensor4D;
          b.input.dispose();
          return { ...b, input };
        },
      },
      steps: 6,
      label: "toy",
      progress: false,
      checkpoint: { path, every: 2 },
    }).catch((e) => e);
    assert.ok(error instanceof NonFiniteLossError, String(error));
    assert.match(
      error.message,
      new RegExp(
        `^toy, step 4: Expected a finite L_IP but found NaN \\(the last good checkpoint, step 2, is kept: ${
          path.replaceAll(".", "\\.")
        }\\)$`,
      ),
    );
    // The step's batch was disposed; the checkpoint's optimizer slots are the only new tensors.
    const created = tf.memory().numTensors - before;
    assert.ok(
      created <= 2 * s.ip.module.trainable().length + 2 * s.vr!.module.trainable().length + 4,
    );
  } finally {
    disposeSetup(s);
    tf.dispose(data);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainLoop() keeps one series per auxiliary, named by auxTasks, and checks their number", async () => {
  const data = toyData();
  const s = ipVrSetup();
  const seg = resNet({ blocks: [1], widths: [4], classes: 2 }, 9);
  const segOptimizer = tf.train.adam(1e-2);
  const batches = toyBatches(data, 6);
  const next = (): TrainBatch => {
    const b = batches.next();
    return { ...b, extraLabels: [tf.clone(b.labels!)] };
  };
  try {
    const multi = { ...s, extra: [{ vr: seg, vrOptimizer: segOptimizer }] };
    const { log } = await trainLoop({
      setup: multi,
      batches: { next },
      steps: 2,
      progress: false,
      auxTasks: ["a", "b"],
    });
    assert.deepEqual(log.perAux?.map((p) => [p.task, p.lossVr.length]), [["a", 2], ["b", 2]]);
    await assert.rejects(
      trainLoop({ setup: multi, batches: { next }, steps: 1, auxTasks: ["a"] }),
      /Expected 2 auxTasks \(vr and extra\) but found 1/,
    );
  } finally {
    disposeSetup(s);
    seg.module.dispose();
    segOptimizer.dispose();
    tf.dispose(data);
  }
});

Deno.test("trainLoop() with Joint measures the cosine every cosineEvery steps only, GradProm every step; cosineEvery is checked", async () => {
  const data = toyData();
  const run = async (strategy: TrainStepSetup["strategy"], cosineEvery?: number) => {
    const setup = { ...ipVrSetup(), strategy };
    try {
      const { log } = await trainLoop({
        setup,
        batches: toyBatches(data, 3),
        steps: 12,
        progress: false,
        layerEvery: 4,
        ...(cosineEvery !== undefined ? { cosineEvery } : {}),
      });
      return log;
    } finally {
      disposeSetup(setup);
    }
  };
  const measured = (log: { cosine: number[] }) =>
    log.cosine.flatMap((c, i) => (Number.isFinite(c) ? [i + 1] : []));
  // Default: the per-layer log's steps (1, 5, 9 with layerEvery 4).
  const j = await run(joint);
  assert.deepEqual(measured(j), [1, 5, 9]);
  assert.deepEqual(j.layers!.steps, [1, 5, 9]);
  assert.ok(j.auxWeight.every((w) => w === 1), `${j.auxWeight}`);
  assert.ok(j.lossVr.every(Number.isFinite));
  assert.deepEqual(measured(await run(joint, 3)), [1, 4, 5, 7, 9, 10]);
  assert.deepEqual(measured(await run(gradProm(), 3)), Array.from({ length: 12 }, (_, i) => i + 1));
  for (const bad of [0, 1.5, -2]) {
    await assert.rejects(() => run(joint, bad), /Expected cosineEvery to be an integer ≥ 1/);
  }
  tf.dispose([data.images, data.labels]);
});
