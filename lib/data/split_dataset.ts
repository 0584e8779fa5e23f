/**
 * Deterministic, seeded train / val / test split of a list of items, stratified
 * by class when labels are given.
 *
 * @module
 */

import { Rng } from "../util/rng.ts";

/** Options of {@linkcode splitDataset}. */
export interface SplitOptions {
  /** Class index per item (same order as `ids`); the split is stratified by it. */
  labels?: ArrayLike<number>;
  /** Fractions for train, val, test; non-negative, summing to 1. Default [0.7, 0.1, 0.2]. */
  fractions?: readonly [number, number, number];
  /** Seed of the shuffle (default 0). */
  seed?: number;
}

/** Indices into the input `ids`, each list sorted by id. */
export interface Split {
  train: number[];
  val: number[];
  test: number[];
}

/**
 * Splits items into train / val / test.
 *
 * Algorithm: the items are sorted by id (so the input order, e.g. a file-system
 * listing, does not matter); each class (or all items, without labels) is shuffled
 * with `new Rng(seed).fork("split:<class>")`; of its `n` items,
 * `round(n·val)` go to val, `round(n·test)` to test and the rest to train. The
 * same ids, labels, fractions and seed therefore always give the same split, and
 * the three parts are disjoint and cover every item.
 *
 * @param ids Unique item ids.
 * @param options Labels for stratification, fractions, seed.
 * @returns Indices into `ids` for each part, in id order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitDataset } from "./split_dataset.ts";
 * const ids = Array.from({ length: 10 }, (_, i) => `item${i}`);
 * const { train, val, test } = splitDataset(ids, { seed: 1 });
 * assert.deepEqual([train.length, val.length, test.length], [7, 1, 2]);
 * ```
 */
export function splitDataset(ids: readonly string[], options: SplitOptions = {}): Split {
  const { labels, fractions = [0.7, 0.1, 0.2], seed = 0 } = options;
  if (
    !Array.isArray(fractions) || fractions.length !== 3 ||
    !fractions.every((f) => Number.isFinite(f) && f >= 0) ||
    Math.abs(fractions[0] + fractions[1] + fractions[2] - 1) > 1e-9
  ) {
    throw new RangeError(
      `Expected fractions to be 3 non-negative numbers summing to 1 but found ${
        JSON.stringify(fractions)
      }`,
    );
  }
  if (labels !== undefined && labels.length !== ids.length) {
    throw new RangeError(`Expected ${ids.length} labels (one per id) but found ${labels.length}`);
  }
  const order = ids.map((_, i) => i).sort((a, b) => _cmp(ids[a], ids[b]));
  for (let k = 1; k < order.length; k++) {
    if (ids[order[k]] === ids[order[k - 1]]) {
      throw new RangeError(`Expected unique ids but found "${ids[order[k]]}" twice`);
    }
  }
  const groups = new Map<number, number[]>();
  for (const i of order) {
    const g = labels === undefined ? 0 : labels[i];
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  }
  const rng = new Rng(seed);
  const out: Split = { train: [], val: [], test: [] };
  for (const g of [...groups.keys()].sort((a, b) => a - b)) {
    const members = rng.fork(`split:${labels === undefined ? "all" : g}`).shuffle(groups.get(g)!);
    const nVal = Math.round(members.length * fractions[1]);
    const nTest = Math.min(members.length - nVal, Math.round(members.length * fractions[2]));
    out.val.push(...members.slice(0, nVal));
    out.test.push(...members.slice(nVal, nVal + nTest));
    out.train.push(...members.slice(nVal + nTest));
  }
  const byId = (a: number, b: number) => _cmp(ids[a], ids[b]);
  out.train.sort(byId);
  out.val.sort(byId);
  out.test.sort(byId);
  return out;
}

function _cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
