/**
 * Bad values in a config stop a run before anything trains (issue #17): the error names the
 * key, says what is expected and what was found, and nothing is written to the cache. The
 * same for a grid (before any worker starts) and for `deno task train --config FILE`, whose
 * error also names the file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, type ExperimentConfig, mergeConfig } from "../lib/experiments/config.ts";
import { EXPERIMENTS, PROFILES, SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import { checkConfig, type RunEvent, runExperiment } from "../lib/experiments/run_experiment.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";

const smoke = (over: Record<string, unknown> = {}): ExperimentConfig =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), { method: "gradprom", ...over });

/** Overrides of the smoke config, each with the exact error it must stop with. */
const BAD: [Record<string, unknown>, string][] = [
  [{ train: { steps: 0 } }, "Expected train.steps to be an integer ≥ 1 but found 0"],
  [{ train: { steps: -3 } }, "Expected train.steps to be an integer ≥ 1 but found -3"],
  [{ train: { steps: 2.5 } }, "Expected train.steps to be an integer ≥ 1 but found 2.5"],
  [{ train: { lr: -1 } }, "Expected train.lr to be a finite number > 0 but found -1"],
  [{ train: { lr: 0 } }, "Expected train.lr to be a finite number > 0 but found 0"],
  [{ train: { lr: NaN } }, "Expected train.lr to be a finite number > 0 but found NaN"],
  [{ train: { lr: Infinity } }, "Expected train.lr to be a finite number > 0 but found Infinity"],
  [{ train: { vrLr: 0 } }, "Expected train.vrLr to be a finite number > 0 but found 0"],
  [{ train: { batchSize: 0 } }, "Expected train.batchSize to be an integer ≥ 1 but found 0"],
  [{ train: { batchSize: -4 } }, "Expected train.batchSize to be an integer ≥ 1 but found -4"],
  [{ train: { batchSize: 2.5 } }, "Expected train.batchSize to be an integer ≥ 1 but found 2.5"],
  [{ train: { lambda: -0.1 } }, "Expected train.lambda to be a finite number ≥ 0 but found -0.1"],
  [{ train: { lambda: NaN } }, "Expected train.lambda to be a finite number ≥ 0 but found NaN"],
  [
    { train: { optimizer: "rmsprop" } },
    'Expected train.optimizer to be one of "adam", "sgd" but found "rmsprop"',
  ],
  [
    { train: { granularity: "block" } },
    'Expected train.granularity to be one of "global", "layer" but found "block"',
  ],
  [
    { method: "gradpromm" },
    "Expected method among benchmark-i, joint, frozen, gradprom, gradprom-weighted, pcgrad, " +
    'gradvac, cagrad, mgda, gradsim but found "gradpromm"',
  ],
  [{ seed: -1 }, "Expected seed to be an integer ≥ 0 but found -1"],
  [{ seed: 0.5 }, "Expected seed to be an integer ≥ 0 but found 0.5"],
  [
    { data: { root: 42 } },
    "Expected data.root to be a folder path (a non-empty string) or null but found 42",
  ],
  [
    { data: { root: "" } },
    'Expected data.root to be a folder path (a non-empty string) or null but found ""',
  ],
  [
    { data: { evalRoot: "" } },
    'Expected data.evalRoot to be a folder path (a non-empty string) or null but found ""',
  ],
  [
    { data: { size: [0, 16] } },
    "Expected data.size to be [height, width], integers ≥ 1, but found [0,16]",
  ],
  [
    { data: { size: [16] } },
    "Expected data.size to be [height, width], integers ≥ 1, but found [16]",
  ],
  [{ data: { splitSeed: -2 } }, "Expected data.splitSeed to be an integer ≥ 0 but found -2"],
  [
    { data: { trainLimit: 0 } },
    "Expected data.trainLimit to be an integer ≥ 1 or null but found 0",
  ],
  [
    { data: { testLimit: 2.5 } },
    "Expected data.testLimit to be an integer ≥ 1 or null but found 2.5",
  ],
  [{ degradation: { sigma: 1.5 } }, "Expected degradation.sigma to be in [0, 1] but found 1.5"],
  [{ degradation: { sigma: -0.1 } }, "Expected degradation.sigma to be in [0, 1] but found -0.1"],
  [
    { degradation: { photons: -5 } },
    "Expected degradation.photons to be a finite number ≥ 0 but found -5",
  ],
  [
    { degradation: { kind: "poisson", photons: 0 } },
    "Expected degradation.photons to be a finite number > 0 for poisson but found 0",
  ],
  [
    { degradation: { blurSigma: -1 } },
    "Expected degradation.blurSigma to be a finite number ≥ 0 but found -1",
  ],
  [
    { degradation: { factor: 0 } },
    "Expected degradation.factor to be an integer ≥ 1 but found 0",
  ],
  [
    { degradation: { kind: "bicubic", factor: 3 }, ip: { scale: 3 } },
    "Expected degradation.factor to be 2 or 4 for bicubic but found 3",
  ],
  [
    { degradation: { kind: "salt" } },
    'Expected degradation.kind to be one of "gaussian", "poisson", "blur", "composite", ' +
    '"bicubic" but found "salt"',
  ],
  [{ ip: { channels: 0 } }, "Expected ip.channels to be an integer ≥ 1 but found 0"],
  [{ ip: { blocks: -1 } }, "Expected ip.blocks to be an integer ≥ 0 but found -1"],
  [{ ip: { outerKernel: 2.5 } }, "Expected ip.outerKernel to be an integer ≥ 1 but found 2.5"],
  [{ vr: { blocks: [1, 0] } }, "Expected vr.blocks[1] to be an integer ≥ 1 but found 0"],
  [{ vr: { widths: [4, -8] } }, "Expected vr.widths[1] to be an integer ≥ 1 but found -8"],
  [
    { vr: { widths: [4] } },
    "Expected vr.widths to have one width per stage of vr.blocks (2) but found [4]",
  ],
  [
    { vr: { widthMultiplier: 0 } },
    "Expected vr.widthMultiplier to be a finite number > 0 but found 0",
  ],
  [{ vr: { stemStride: 3 } }, "Expected vr.stemStride to be one of 1, 2 but found 3"],
  [{ seg: { depth: 0 } }, "Expected seg.depth to be an integer ≥ 1 but found 0"],
  [{ seg: { baseWidth: 1.5 } }, "Expected seg.baseWidth to be an integer ≥ 1 but found 1.5"],
  [{ vrPretrain: { steps: 0 } }, "Expected vrPretrain.steps to be an integer ≥ 1 but found 0"],
  [
    { vrPretrain: { batchSize: -1 } },
    "Expected vrPretrain.batchSize to be an integer ≥ 1 but found -1",
  ],
  [{ vrPretrain: { lr: -1 } }, "Expected vrPretrain.lr to be a finite number > 0 but found -1"],
];

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("runExperiment() stops on a bad config value before anything trains, naming the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-bad-config-" });
  try {
    const cache = new ResultsCache(join(dir, "cache"));
    for (const [over, message] of BAD) {
      const events: RunEvent[] = [];
      await assert.rejects(
        () =>
          runExperiment(smoke(over), { cache, progress: false, onEvent: (e) => events.push(e) }),
        (e: Error) => {
          assert.equal(e.message, message, JSON.stringify(over));
          return true;
        },
      );
      assert.deepEqual(events, [], `${JSON.stringify(over)}: nothing trained`);
      assert.equal(await exists(cache.dir), false, `${JSON.stringify(over)}: nothing cached`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runGrid() stops on a bad config value before any worker starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-bad-grid-" });
  try {
    const cache = new ResultsCache(join(dir, "cache"));
    for (const [over, message] of [BAD[0], BAD[8], BAD[18], BAD[19]]) {
      for (const workers of [0, 1]) {
        await assert.rejects(
          () => runGrid([smoke(), smoke(over)], { cache, progress: false, workers }),
          (e: Error) => {
            assert.equal(e.message, message, JSON.stringify(over));
            return true;
          },
        );
        assert.equal(await exists(cache.dir), false, `${JSON.stringify(over)}: nothing ran`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkConfig() accepts every grid of every profile", () => {
  // The paper profile's grids name a folder for every dataset (never read here).
  const vars = ["COVID_CT", "LIZARD", "CAMUS"].map((d) => `GRADPROM_DATA_${d}`);
  const saved = vars.map((v) => Deno.env.get(v));
  try {
    for (const v of vars) Deno.env.set(v, `/data/${v}`);
    for (const spec of Object.values(EXPERIMENTS)) {
      for (const profile of PROFILES) {
        for (const c of spec.grid(profile, { dataRoot: "/data/isic" })) checkConfig(c);
      }
    }
  } finally {
    vars.forEach((v, i) =>
      saved[i] === undefined ? Deno.env.delete(v) : Deno.env.set(v, saved[i]!)
    );
  }
});

Deno.test("deno task train --config FILE stops on a bad value, naming the file and the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-bad-cli-" });
  try {
    const file = join(dir, "run.json");
    await Deno.writeTextFile(file, JSON.stringify({ train: { batchSize: 2.5 } }));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), "--config", file],
      env: { GRADPROM_CACHE: join(dir, "cache"), NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.equal(
      stderr.trim().split("\n").at(-1),
      `error: Config ${file}: Expected train.batchSize to be an integer ≥ 1 but found 2.5`,
    );
    assert.equal(await exists(join(dir, "cache")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
