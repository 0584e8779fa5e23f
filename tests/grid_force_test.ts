/**
 * `--force` on a grid (`runGrid({force})`, `deno task experiment ID --force`): every run is
 * trained again, cached or not, in process and in worker processes; a VR pre-training that runs
 * share is trained again once, first, and the runs reuse it; the new results replace the cached
 * ones (and, the runs being seeded, equal them).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { stderrOf } from "./_stderr.ts";

const smoke = (method: string) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method });

/** Modification times of the files of `dir/<kind>/`, by name. */
function mtimes(dir: string, kind: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of Deno.readDirSync(join(dir, kind))) {
    out.set(e.name, Deno.statSync(join(dir, kind, e.name)).mtime!.getTime());
  }
  return out;
}

for (const workers of [0, 1]) {
  Deno.test(
    `runGrid({ force }) trains every run again and each shared VR pre-training once ` +
      `(${workers ? "worker processes" : "in process"})`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "gradprom-force-" });
      try {
        const cache = new ResultsCache(dir);
        const configs = [smoke("joint"), smoke("gradprom")]; // one shared pre-training
        const [first] = await stderrOf(() => runGrid(configs, { cache, workers }));
        const runsBefore = mtimes(dir, "runs"), preBefore = mtimes(dir, "vr-pretrain");
        await new Promise((r) => setTimeout(r, 20));
        const [again, cached] = await stderrOf(() => runGrid(configs, { cache, workers }));
        assert.match(cached[0], /^grid: 2 runs, 2 cached, 0 to run$/);
        assert.deepEqual(mtimes(dir, "runs"), runsBefore, "a cached grid rewrote its results");
        assert.deepEqual(again.map((r) => r.metrics), first.map((r) => r.metrics));

        const [forced, err] = await stderrOf(() =>
          runGrid(configs, { cache, workers, force: true })
        );
        assert.match(err[0], /^grid: 2 runs, 2 cached, 2 to run \(--force: every run again\)$/);
        const runsAfter = mtimes(dir, "runs"), preAfter = mtimes(dir, "vr-pretrain");
        for (const [name, t] of runsBefore) {
          assert.ok(runsAfter.get(name)! > t, `run ${name} was not written again`);
        }
        assert.deepEqual([...preAfter.keys()].sort(), [...preBefore.keys()].sort());
        for (const [name, t] of preBefore) {
          assert.ok(preAfter.get(name)! > t, `pre-training file ${name} was not written again`);
        }
        // Trained once, before the runs: a run that trained it again would write it after the
        // first run's result.
        const firstRun = Math.min(...runsAfter.values());
        for (const [name, t] of preAfter) {
          assert.ok(t <= firstRun, `pre-training file ${name} written again after a run`);
        }
        // Seeded runs: the same numbers again.
        assert.deepEqual(forced.map((r) => r.metrics), first.map((r) => r.metrics));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
