/**
 * Batching shared by the dataset loaders and the training batches
 * (`batch_sampler.ts`): the order of a pass (shuffled per epoch or by a
 * seed), its groups of indices, and a batch iterator that decodes the next
 * batch while the caller works on the current one.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";

/** Options of a pass over a dataset. */
export interface BatchOptions {
  /** Shuffle the order (default false). */
  shuffle?: boolean;
  /** Seed of the shuffle; without one, each call is a new epoch of the loader's seed. */
  seed?: number;
  /** Drop a last batch smaller than `batchSize` (default false). */
  dropRemainder?: boolean;
}

/**
 * The groups of item indices of one pass: `0…n-1`, shuffled when asked, cut
 * into batches of `batchSize`.
 *
 * @param n Number of items.
 * @param batchSize Items per batch (a positive integer).
 * @param options Shuffle, seed, drop the remainder.
 * @param epochRng The loader's generator for the next epoch (used when shuffling without a seed).
 */
export function _batchGroups(
  n: number,
  batchSize: number,
  options: BatchOptions,
  epochRng: () => Rng,
): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Expected batchSize to be a positive integer but found ${batchSize}`);
  }
  const { shuffle = false, seed, dropRemainder = false } = options;
  let order = [...Array(n).keys()];
  if (shuffle) {
    order = (seed === undefined ? epochRng() : new Rng(seed).fork("batches")).shuffle(order);
  }
  const groups: number[][] = [];
  for (let s = 0; s < order.length; s += batchSize) {
    const g = order.slice(s, s + batchSize);
    if (g.length === batchSize || !dropRemainder) groups.push(g);
  }
  return groups;
}

/** Reads the items of `indices`, at most `concurrency` at a time, in order. */
export async function _decodeItems<I>(
  indices: number[],
  item: (index: number) => Promise<I>,
  concurrency: number,
): Promise<I[]> {
  const out: I[] = new Array(indices.length);
  for (let s = 0; s < indices.length; s += concurrency) {
    const part = indices.slice(s, s + concurrency);
    const items = await Promise.all(part.map(item));
    items.forEach((it, k) => (out[s + k] = it));
  }
  return out;
}

/**
 * Yields one batch per group, decoding the next group while the current
 * batch is in use (one batch ahead, so memory stays bounded).
 *
 * @param groups Item indices per batch.
 * @param item Reads one item.
 * @param toBatch Builds the batch (tensors) from the items.
 * @param concurrency Items decoded at once.
 */
export async function* _prefetchBatches<I, B>(
  groups: number[][],
  item: (index: number) => Promise<I>,
  toBatch: (items: I[]) => B,
  concurrency: number,
): AsyncGenerator<B> {
  let next = groups.length ? _decodeItems(groups[0], item, concurrency) : undefined;
  next?.catch(() => {}); // handled when awaited; avoids an unhandled rejection if abandoned
  for (let b = 0; b < groups.length; b++) {
    const current = await next!;
    if (b + 1 < groups.length) {
      next = _decodeItems(groups[b + 1], item, concurrency);
      next.catch(() => {});
    }
    yield toBatch(current);
  }
}
