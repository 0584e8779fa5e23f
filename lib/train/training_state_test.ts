import assert from "node:assert/strict";
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { resNet } from "../models/resnet.ts";
import { _temporaryPath } from "../util/_temporary_path.ts";
import { Rng } from "../util/rng.ts";
import { trainLoop, type VrBatch, type VrTrainSetup } from "./train_loop.ts";
import { loadTrainingState } from "./training_state.ts";

await setupBackend({ quiet: true });

/** Eight 8×8 images of two classes. */
function toyData() {
  const rng = new Rng(5);
  const labels = Array.from({ length: 8 }, (_, i) => i % 2);
  const values = labels.flatMap((c) =>
    Array.from({ length: 8 * 8 * 3 }, () => (c ? 0.7 : 0.3) + 0.05 * rng.normal())
  );
  return { images: tf.tensor4d(values, [8, 8, 8, 3]), labels: tf.tensor1d(labels, "int32") };
}

const vrSetup = (): VrTrainSetup => ({
  vr: resNet({ blocks: [1], widths: [4], classes: 2 }, 0),
  optimizer: tf.train.adam(1e-2),
});

const dispose = (s: VrTrainSetup) => (s.vr.module.dispose(), s.optimizer.dispose());

/** Trains a VR alone, checkpointing every 2 steps into `path`; stops after `stop` steps. */
function train(setup: VrTrainSetup, data: ReturnType<typeof toyData>, path: string, stop?: number) {
  const order = new Rng(0);
  return trainLoop({
    setup,
    batches: {
      next: (): VrBatch =>
        tf.tidy(() => {
          const idx = tf.tensor1d([0, 1, 2, 3].map(() => order.int(8)), "int32");
          return {
            images: tf.gather(data.images, idx) as tf.Tensor4D,
            labels: tf.gather(data.labels, idx),
          };
        }),
      skip: () => [0, 1, 2, 3].forEach(() => order.int(8)),
    },
    steps: 6,
    progress: false,
    checkpoint: { path, every: 2 },
    stopAfterStep: stop,
  });
}

Deno.test("loadTrainingState() names the file, what is wrong with it and that --force starts over", async () => {
  const data = toyData();
  const dir = await Deno.makeTempDir({ prefix: "gradprom-state-" });
  const path = join(dir, "state.bin");
  const setup = vrSetup();
  await assert.rejects(train(setup, data, path, 3), /stopped after step 3/);
  const good = await Deno.readFile(path);
  const hlen = new DataView(good.buffer).getUint32(0, true);
  const header = (text: string) => {
    const out = good.slice();
    out.set(new TextEncoder().encode(text.padEnd(hlen, " ")).subarray(0, hlen), 4);
    return out;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /the file is empty \(0 bytes; expected at least 4\)/],
    ["2 bytes", good.slice(0, 2), /the file is 2 bytes \(expected at least 4\)/],
    ["cut in the header", good.slice(0, 30), /its header length says \d+ bytes but only 26 follow/],
    [
      "cut in the values (not a multiple of 4)",
      good.slice(0, good.length - 7),
      new RegExp(`the file is ${good.length - 7} bytes, expected ${good.length} from its header`),
    ],
    [
      "cut in the values",
      good.slice(0, good.length - 8),
      new RegExp(`the file is ${good.length - 8} bytes, expected ${good.length} from its header`),
    ],
    ["garbage header", header("\u0000\u0001garbage"), /its header \(\d+ bytes\) is not JSON/],
    ["header without tensors", header('{"format": "gradprom-training-state-v1"}'), /header/],
    [
      "another format",
      header('{"format": "other", "step": 2, "meta": null, "tensors": []}'),
      /expected format gradprom-training-state-v1 but found other/,
    ],
  ];
  const fresh = vrSetup();
  const before = tf.memory().numTensors;
  for (const [what, bytes, reason] of cases) {
    await Deno.writeFile(path, bytes);
    await assert.rejects(
      loadTrainingState(path, { modules: { vr: fresh.vr.module }, optimizers: {} }),
      (e: Error) => {
        assert.ok(e.message.startsWith(`${path}: `), `${what}: ${e.message}`);
        assert.match(e.message, reason, what);
        assert.match(e.message, /run again with --force, to start over/, what);
        return true;
      },
    );
  }
  assert.equal(tf.memory().numTensors, before, "nothing leaks");
  // A checkpoint that cannot be read (here a folder) is an error too, not a silent fresh start.
  await Deno.remove(path);
  await Deno.mkdir(path);
  await assert.rejects(
    loadTrainingState(path, { modules: { vr: fresh.vr.module }, optimizers: {} }),
    (e: Error) => e.message.startsWith(`${path}: cannot read the checkpoint: `),
  );
  assert.equal(
    await loadTrainingState(join(dir, "none.bin"), { modules: {}, optimizers: {} }),
    undefined,
  );
  // Through the loop, the run stops with the same message before training anything.
  await Deno.remove(path);
  await Deno.writeFile(path, good.slice(0, 5));
  await assert.rejects(train(fresh, data, path), /state\.bin: not a valid checkpoint/);
  dispose(setup);
  dispose(fresh);
  tf.dispose(data);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("trainLoop() removes the temporaries a killed run left beside its checkpoint", async () => {
  const data = toyData();
  const dir = await Deno.makeTempDir({ prefix: "gradprom-state-" });
  const path = join(dir, "state.bin");
  const dead = _temporaryPath(path, 4_194_305); // no process has this pid (Linux's max is 2^22)
  const live = _temporaryPath(path, Deno.pid);
  const other = _temporaryPath(join(dir, "other.bin"), 4_194_305);
  for (const t of [dead, live, other]) await Deno.writeTextFile(t, "partial");
  const setup = vrSetup();
  await train(setup, data, path);
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(left, [basename(live), basename(other), "state.bin"].sort());
  dispose(setup);
  tf.dispose(data);
  await Deno.remove(dir, { recursive: true });
});
