import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { batchSampler } from "./batch_sampler.ts";

/** The sampler the experiment runner had before it moved here (splice from a shuffled epoch). */
function spliceSampler(n: number, batchSize: number, rng: Rng): () => number[] {
  let order: number[] = [];
  return () => {
    if (order.length < batchSize) order = rng.shuffle([...Array(n).keys()]);
    return order.splice(0, batchSize);
  };
}

Deno.test("batchSampler() draws the same batches as a splice over per-epoch shuffles", () => {
  for (const [n, batchSize] of [[48, 4], [10, 3], [7, 7], [9, 1]]) {
    const a = batchSampler(n, batchSize, new Rng(3).fork("batches"));
    const b = spliceSampler(n, batchSize, new Rng(3).fork("batches"));
    for (let i = 0; i < 40; i++) {
      assert.deepEqual(a(), b(), `n ${n}, batch ${batchSize}, draw ${i}`);
    }
  }
});

Deno.test("batchSampler() covers every item once per epoch, without the remainder", () => {
  const next = batchSampler(10, 3, new Rng(1));
  const epoch = [next(), next(), next()].flat();
  assert.equal(new Set(epoch).size, 9);
  assert.ok(epoch.every((i) => Number.isInteger(i) && i >= 0 && i < 10));
});

Deno.test("batchSampler() rejects fewer items than a batch, naming both", () => {
  assert.throws(
    () => batchSampler(3, 4, new Rng(0)),
    /Expected at least 4 training images but found 3/,
  );
});
