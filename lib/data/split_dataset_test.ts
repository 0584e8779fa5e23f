import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { splitDataset } from "./split_dataset.ts";

const ids = Array.from({ length: 103 }, (_, i) => `ISIC_${String(24306 + i).padStart(7, "0")}`);
const labels = ids.map((_, i) => (i * 7919) % 5);

Deno.test("splitDataset() parts are disjoint, cover every item and follow the fractions", () => {
  const s = splitDataset(ids, { labels, seed: 3 });
  const all = [...s.train, ...s.val, ...s.test];
  assert.equal(new Set(all).size, ids.length);
  assert.equal(all.length, ids.length);
  for (let c = 0; c < 5; c++) {
    const n = labels.filter((l) => l === c).length;
    const count = (part: number[]) => part.filter((i) => labels[i] === c).length;
    assert.equal(count(s.val), Math.round(n * 0.1));
    assert.equal(count(s.test), Math.round(n * 0.2));
    assert.equal(count(s.train), n - Math.round(n * 0.1) - Math.round(n * 0.2));
  }
  for (const part of [s.train, s.val, s.test]) {
    assert.deepEqual(part, part.slice().sort((a, b) => (ids[a] < ids[b] ? -1 : 1)));
  }
});

Deno.test("splitDataset() depends on the seed, not on the input order", () => {
  const a = splitDataset(ids, { labels, seed: 11 });
  const perm = new Rng(5).shuffle(ids.map((_, i) => i));
  const b = splitDataset(perm.map((i) => ids[i]), { labels: perm.map((i) => labels[i]), seed: 11 });
  const names = (idx: number[], src: readonly string[]) => idx.map((i) => src[i]);
  const permIds = perm.map((i) => ids[i]);
  assert.deepEqual(names(b.train, permIds), names(a.train, ids));
  assert.deepEqual(names(b.val, permIds), names(a.val, ids));
  assert.deepEqual(names(b.test, permIds), names(a.test, ids));
  const c = splitDataset(ids, { labels, seed: 12 });
  assert.notDeepEqual(c.test, a.test);
  const u = splitDataset(ids, { seed: 1, fractions: [0.5, 0.25, 0.25] });
  assert.deepEqual([u.train.length, u.val.length, u.test.length], [51, 26, 26]);
});

Deno.test("splitDataset() rejects bad fractions, labels and duplicate ids", () => {
  assert.throws(
    () => splitDataset(ids, { fractions: [0.7, 0.2, 0.2] }),
    /Expected fractions to be 3 non-negative numbers summing to 1 but found \[0.7,0.2,0.2\]/,
  );
  assert.throws(() => splitDataset(ids, { labels: [1, 2] }), /Expected 103 labels .* found 2/);
  assert.throws(() => splitDataset(["a", "b", "a"]), /found "a" twice/);
});
