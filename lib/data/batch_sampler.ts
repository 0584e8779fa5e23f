/**
 * Endless training batches of indices, shuffled epoch by epoch.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { _batchGroups } from "./_batches.ts";

/**
 * Draws batches of item indices for training: each epoch is a new shuffle of
 * `0…n-1` by `rng` (the same cut as the loaders' passes with `shuffle` and
 * `dropRemainder`), and its last partial batch is dropped; when an epoch runs
 * out the next one starts. The stream depends only on `rng`'s seed.
 *
 * @param n Number of items.
 * @param batchSize Items per batch (at most `n`).
 * @param rng Generator of the shuffles (advanced by each new epoch).
 * @returns A function returning the next batch's indices.
 * @throws {RangeError} When `n < batchSize` (no whole batch fits).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../util/rng.ts";
 * import { batchSampler } from "./batch_sampler.ts";
 * const next = batchSampler(5, 2, new Rng(0));
 * const epoch = [...next(), ...next()]; // 4 of the 5 items, each once
 * assert.equal(new Set(epoch).size, 4);
 * assert.equal(next().length, 2); // a new epoch
 * ```
 */
export function batchSampler(n: number, batchSize: number, rng: Rng): () => number[] {
  if (n < batchSize) {
    throw new RangeError(`Expected at least ${batchSize} training images but found ${n}`);
  }
  let epoch: number[][] = [];
  return () => {
    if (!epoch.length) {
      epoch = _batchGroups(n, batchSize, { shuffle: true, dropRemainder: true }, () => rng);
    }
    return epoch.shift()!;
  };
}
