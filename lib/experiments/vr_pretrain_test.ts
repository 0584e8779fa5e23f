import assert from "node:assert/strict";
import { DEFAULT_CONFIG, mergeConfig } from "./config.ts";
import { SMOKE_OVERRIDES } from "./registry.ts";
import { ResultsCache } from "./results_cache.ts";
import { ensureVrPretrain, runExperiment } from "./run_experiment.ts";
import { pretrainStream, vrPretrainKey } from "./vr_pretrain.ts";

const smoke = () => mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method: "joint" });

Deno.test("vrPretraining() refuses a corrupt cached weights file, naming it; --force replaces it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-vr-pretrain-" });
  try {
    const cache = new ResultsCache(dir);
    const config = smoke();
    const first = await ensureVrPretrain(config, { cache, progress: false });
    const path = cache.sidePath(
      "vr-pretrain",
      await vrPretrainKey(config, "diagnosis"),
      "weights.bin",
    );
    const good = await Deno.readFile(path);
    /** The values of a weights file (after its header, which names the model's scope). */
    const values = (b: Uint8Array) => b.slice(4 + new DataView(b.buffer).getUint32(0, true));
    const cases: [string, Uint8Array, RegExp][] = [
      ["empty", new Uint8Array(0), /the file is empty/],
      ["truncated", good.slice(0, good.length - 10), /\(truncated\)/],
      ["garbage", new TextEncoder().encode("not a weights file at all"), /its header length says/],
    ];
    for (const [what, bytes, reason] of cases) {
      await Deno.writeFile(path, bytes);
      for (const run of [ensureVrPretrain, runExperiment]) {
        await assert.rejects(run(config, { cache, progress: false }), (e: Error) => {
          assert.ok(e.message.startsWith(`${path}: not a valid weights file`), e.message);
          assert.match(e.message, reason, what);
          assert.match(e.message, /delete it, or run again with --force, to compute it again/);
          return true;
        });
      }
      assert.deepEqual(await Deno.readFile(path), bytes, `${what}: the file is left as it was`);
    }
    // --force trains it again (the same numbers: same seed) and replaces the file.
    const forced = await ensureVrPretrain(config, { cache, progress: false, force: true });
    assert.equal(forced.accuracyClean, first.accuracyClean);
    assert.deepEqual(values(await Deno.readFile(path)), values(good));
    // A weights file that is gone is trained again.
    await Deno.remove(path);
    const again = await ensureVrPretrain(config, { cache, progress: false });
    assert.equal(again.accuracyClean, first.accuracyClean);
    assert.deepEqual(values(await Deno.readFile(path)), values(good));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vrPretrainKey() tells a multi-task run's segmentation pre-training from the single-task one", async () => {
  const single = mergeConfig(DEFAULT_CONFIG, { data: { task: "segmentation" } });
  const multi = mergeConfig(DEFAULT_CONFIG, { data: { task: "diagnosis+segmentation" } });
  const diagnosis = mergeConfig(DEFAULT_CONFIG, { data: { task: "diagnosis" } });
  // They draw from different random streams, so they are different pre-trainings: one key would
  // let the cache serve whichever a grid happened to train first.
  assert.notEqual(pretrainStream(single, "segmentation"), pretrainStream(multi, "segmentation"));
  assert.notEqual(
    await vrPretrainKey(single, "segmentation", "cpu"),
    await vrPretrainKey(multi, "segmentation", "cpu"),
  );
  // The diagnosis pre-training is the same in both.
  assert.equal(pretrainStream(multi, "diagnosis"), pretrainStream(diagnosis, "diagnosis"));
  assert.equal(
    await vrPretrainKey(multi, "diagnosis", "cpu"),
    await vrPretrainKey(diagnosis, "diagnosis", "cpu"),
  );
});
