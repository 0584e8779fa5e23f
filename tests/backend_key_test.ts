/**
 * The TF.js backend is part of a run's cache key (issue #17: `GRADPROM_BACKEND=wasm` returned
 * the result onednn had computed): another backend computes and caches its own result, and
 * its own VR pre-training. A result records its backend and thread count; a cached result
 * computed on another thread count is returned with a note.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setupBackend } from "../lib/backend/setup_backend.ts";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import {
  runExperiment,
  runKey,
  runKeyOnBackend,
  type RunResult,
} from "../lib/experiments/run_experiment.ts";
import { vrPretrainKey } from "../lib/experiments/vr_pretrain.ts";

const smoke = mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), {
  method: "benchmark-i",
  train: { steps: 2 },
  vrPretrain: { steps: 2 },
});

Deno.test("runKey(), runKeyOnBackend() and vrPretrainKey() depend on the backend, by default this process's", async () => {
  const { name } = await setupBackend({ quiet: true });
  assert.notEqual(await runKeyOnBackend(smoke, "cpu"), await runKeyOnBackend(smoke, "wasm"));
  assert.equal(await runKey(smoke), await runKeyOnBackend(smoke, name));
  assert.notEqual(
    await vrPretrainKey(smoke, "diagnosis", "cpu"),
    await vrPretrainKey(smoke, "diagnosis", "wasm"),
  );
  assert.equal(
    await vrPretrainKey(smoke, "diagnosis"),
    await vrPretrainKey(smoke, "diagnosis", name),
  );
});

/** `deno task train --config FILE` with `GRADPROM_BACKEND=backend`: its printed summary. */
async function train(file: string, cache: string, backend: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), "--config", file],
    env: { GRADPROM_CACHE: cache, GRADPROM_BACKEND: backend, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return JSON.parse(stdout) as { key: string; fromCache: boolean };
}

Deno.test("a run on another backend computes its own result; each records its backend and threads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-backend-key-" });
  try {
    const file = join(dir, "run.json");
    await Deno.writeTextFile(file, JSON.stringify(smoke));
    const cache = new ResultsCache(join(dir, "cache"));
    const cpu = await train(file, cache.dir, "cpu");
    const wasm = await train(file, cache.dir, "wasm");
    assert.equal(cpu.fromCache, false);
    assert.equal(wasm.fromCache, false, "wasm does not get the cpu result");
    assert.notEqual(wasm.key, cpu.key);
    const a = await cache.get<RunResult>("runs", cpu.key);
    const b = await cache.get<RunResult>("runs", wasm.key);
    assert.deepEqual([a?.backend, a?.threads], ["cpu", 1]);
    assert.equal(b?.backend, "wasm");
    assert.ok(Number.isInteger(b?.threads) && b!.threads! >= 1, `${b?.threads}`);
    assert.notEqual(a?.vrPretrain.key, b?.vrPretrain.key, "nor its VR pre-training");
    assert.equal((await train(file, cache.dir, "cpu")).fromCache, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runExperiment() notes a cached result computed on another thread count", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-threads-" });
  try {
    const cache = new ResultsCache(dir);
    const first = await runExperiment(smoke, { cache, progress: false });
    assert.ok(Number.isInteger(first.threads) && first.threads! >= 1);
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    try {
      assert.equal((await runExperiment(smoke, { cache })).fromCache, true);
      assert.deepEqual(lines, [], "the same thread count: no note");
      await cache.put("runs", first.key, { ...first, threads: first.threads! + 7 });
      assert.equal((await runExperiment(smoke, { cache })).fromCache, true);
    } finally {
      console.error = original;
    }
    assert.deepEqual(lines, [
      `note: the cached result ${first.key.slice(0, 12)} was computed on ${first.threads! + 7} ` +
      `${first.backend} thread(s), this process uses ${first.threads}: results differ at ` +
      "float-rounding level across thread counts (--force recomputes it)",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
