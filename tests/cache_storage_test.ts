// An unusable results cache stops a run or a grid before any work (data, VR pre-training).
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { runExperiment } from "../lib/experiments/run_experiment.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";

// A valid config whose data folder does not exist: any work (the data's fingerprint, loading
// it, VR pre-training) would fail on that first; the cache must be checked before it.
const config = mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), {
  method: "gradprom",
  data: { root: "/nonexistent/isic2018" },
});

const cacheError = (file: string) => (e: Error) => {
  assert.match(e.message, new RegExp(`^Cannot write to the results cache at ${file}: `));
  assert.match(e.message, /GRADPROM_CACHE/);
  return true;
};

Deno.test("runExperiment() checks that the cache is writable before any work", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "cache");
  await Deno.writeTextFile(file, "");
  await assert.rejects(
    runExperiment(config, { cache: new ResultsCache(file), progress: false }),
    cacheError(file),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runGrid() checks that the cache is writable before any work", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "cache");
  await Deno.writeTextFile(file, "");
  await assert.rejects(
    runGrid([config], { cache: new ResultsCache(file), workers: 0, progress: false }),
    cacheError(file),
  );
  await Deno.remove(dir, { recursive: true });
});
