/**
 * Where a run's data folder comes from and what a relative one is relative to (issue #17):
 * `deno task train --config FILE --data DIR` trains on DIR (over the file's `data.root`); a
 * relative path on the command line is relative to the shell's working directory (not the
 * repository's, where `deno task` runs the tool), a relative `data.root` in a config file to
 * the file's folder; and a grid hands its worker processes absolute folders.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { DEFAULT_CONFIG, type ExperimentConfig, mergeConfig } from "../lib/experiments/config.ts";
import { datasetOverrides, SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import type { RunResult } from "../lib/experiments/run_experiment.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { defaultLockPath } from "../lib/data/manifest.ts";
import { generateSyntheticCovidCt } from "../lib/data/synthetic_covid_ct.ts";

/** A smoke run on COVID-CT (the data folder left to each test). */
const covidSmoke: ExperimentConfig = mergeConfig(
  mergeConfig(
    mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES),
    datasetOverrides("covid_ct", "diagnosis"),
  ),
  { method: "benchmark-i", train: { steps: 2 }, vrPretrain: { steps: 2 } },
);

/** The config a file gives: the smoke run's values, without the data folder. */
const fileOverrides = (root: string | null) => {
  const { data, ...rest } = structuredClone(covidSmoke);
  return { ...rest, data: { ...data, root } };
};

/**
 * Runs `f` with a tiny COVID-CT copy at `<tmp>/data/COVID-CT` (tmp: real path), then removes
 * the folder and the checksum lock the runs wrote.
 */
async function withCovid(f: (tmp: string, root: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "gradprom-paths-" }));
  const root = join(tmp, "data", "COVID-CT");
  try {
    await generateSyntheticCovidCt({
      dir: root,
      covidCounts: [6, 2, 2],
      nonCovidCounts: [6, 2, 2],
      minSize: 24,
      maxSize: 32,
    });
    await f(tmp, root);
  } finally {
    await Deno.remove(defaultLockPath("covid_ct", root)).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
}

/** This process's environment without `INIT_CWD` (which `deno task` keeps when it is set). */
const envWithout = (extra: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([k]) => k !== "INIT_CWD")),
  NO_COLOR: "1",
  ...extra,
});

/** Runs a command to its end; fails the test with its stderr unless it succeeds. */
async function run(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, cwd, env, clearEnv: true, stdin: "null" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as {
    key: string;
  };
}

Deno.test("deno task train --config FILE --data DIR trains on DIR, over the file's data.root", async () => {
  await withCovid(async (tmp, root) => {
    const file = join(tmp, "run.json");
    await Deno.writeTextFile(file, JSON.stringify(fileOverrides(join(tmp, "elsewhere"))));
    const cache = join(tmp, "cache");
    const out = await run(
      Deno.execPath(),
      ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), "--config", file, "--data", root],
      tmp,
      envWithout({ GRADPROM_CACHE: cache }),
    );
    const r = await new ResultsCache(cache).get<RunResult>("runs", out.key);
    assert.equal(r?.config.data.root, root);
  });
});

Deno.test("deno task train --config FILE --data DIR trains on DIR, both relative to the shell's folder", async () => {
  await withCovid(async (tmp, root) => {
    const shell = join(tmp, "work");
    await Deno.mkdir(shell);
    // The file names no folder (the embedded synthetic COVID-CT): --data gives it.
    await Deno.writeTextFile(join(shell, "run.json"), JSON.stringify(fileOverrides(null)));
    const cache = join(tmp, "cache");
    const out = await run(
      Deno.execPath(),
      [
        "task",
        "--config",
        join(REPO_ROOT, "deno.json"),
        "train",
        "--config",
        "run.json",
        "--data",
        "../data/COVID-CT",
      ],
      shell,
      envWithout({ GRADPROM_CACHE: cache }),
    );
    const r = await new ResultsCache(cache).get<RunResult>("runs", out.key);
    assert.equal(r?.config.data.root, root);
  });
});

Deno.test("a relative data.root in a config file is relative to the file's folder", async () => {
  await withCovid(async (tmp, root) => {
    const folder = join(tmp, "configs");
    await Deno.mkdir(folder);
    const file = join(folder, "run.json");
    await Deno.writeTextFile(file, JSON.stringify(fileOverrides("../data/COVID-CT")));
    const cache = join(tmp, "cache");
    // Run from the repository's folder, neither the file's nor the data's.
    const out = await run(
      Deno.execPath(),
      ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), "--config", file],
      REPO_ROOT,
      envWithout({ GRADPROM_CACHE: cache }),
    );
    const r = await new ResultsCache(cache).get<RunResult>("runs", out.key);
    assert.equal(r?.config.data.root, root);
  });
});

Deno.test("runGrid() hands its workers absolute data folders", async () => {
  await withCovid(async (tmp, root) => {
    const cache = new ResultsCache(join(tmp, "cache"));
    const rel = relative(Deno.cwd(), root);
    const config = mergeConfig(covidSmoke, { data: { root: rel } });
    const [r] = await runGrid([config], { cache, workers: 1, progress: false });
    assert.equal(r.config.data.root, root);
    for (const e of Deno.readDirSync(join(cache.dir, "configs"))) {
      const written = JSON.parse(Deno.readTextFileSync(join(cache.dir, "configs", e.name)));
      assert.equal(written.data.root, root, "the worker's config file");
    }
  });
});
