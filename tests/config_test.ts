import assert from "node:assert/strict";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { getExperiment, TABLE1_METHODS } from "../lib/experiments/registry.ts";
import { canonicalJson, hashKey } from "../lib/experiments/results_cache.ts";

Deno.test("mergeConfig() overrides nested values and leaves the base untouched", () => {
  const c = mergeConfig(DEFAULT_CONFIG, { train: { steps: 7 }, data: { size: [16, 24] } });
  assert.equal(c.train.steps, 7);
  assert.deepEqual(c.data.size, [16, 24]);
  assert.equal(c.train.lr, DEFAULT_CONFIG.train.lr);
  assert.equal(DEFAULT_CONFIG.train.steps, 2000);
});

Deno.test("mergeConfig() rejects unknown keys, naming the path and the known keys", () => {
  assert.throws(
    () => mergeConfig(DEFAULT_CONFIG, { train: { stepz: 7 } }),
    /Unknown config key 'train.stepz'; expected one of: steps, batchSize/,
  );
  assert.throws(() => mergeConfig(DEFAULT_CONFIG, { model: {} }), /Unknown config key 'model'/);
});

Deno.test("mergeConfig() rejects a value of another type than the default's", () => {
  assert.throws(
    () => mergeConfig(DEFAULT_CONFIG, { train: { steps: "10" } }),
    /Expected number at 'train.steps' but found string "10"/,
  );
  assert.throws(
    () => mergeConfig(DEFAULT_CONFIG, { ip: 3 }),
    /Expected an object at 'ip' but found 3/,
  );
  // A null default (the data root) accepts a path.
  assert.equal(
    mergeConfig(DEFAULT_CONFIG, { data: { root: "/data/isic" } }).data.root,
    "/data/isic",
  );
});

Deno.test("hashKey() is independent of key order and changes with any value", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  const a = mergeConfig(DEFAULT_CONFIG, {});
  const b = mergeConfig(DEFAULT_CONFIG, { train: { lambda: 0.0011 } });
  assert.equal(hashKey(a), hashKey(structuredClone(a)));
  assert.notEqual(hashKey(a), hashKey(b));
});

Deno.test("getExperiment() builds the Table 1 grid per profile and rejects unknown ids", () => {
  const spec = getExperiment("table1-isic-denoise");
  const quick = spec.grid("quick", { seeds: 2 });
  assert.equal(quick.length, 2 * 2 * TABLE1_METHODS.length);
  assert.deepEqual([...new Set(quick.map((c) => c.degradation.sigma))], [0.1, 0.2]);
  assert.deepEqual([...new Set(quick.map((c) => c.seed))], [0, 1]);
  assert.ok(quick.every((c) => c.data.root === null));
  assert.throws(() => spec.grid("paper"), /needs the real ISIC 2018 folder/);
  assert.equal(spec.grid("paper", { dataRoot: "/x" })[0].data.root, "/x");
  assert.throws(
    () => getExperiment("table9"),
    /Unknown experiment 'table9'; known: table1-isic-denoise/,
  );
});
