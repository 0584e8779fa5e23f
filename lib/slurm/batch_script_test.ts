import assert from "node:assert/strict";
import { type BatchScriptOptions, renderBatchScript } from "./batch_script.ts";

const base: BatchScriptOptions = {
  kind: "runs",
  jobDir: "/shared/cache/slurm/20261126T000000Z-abcd",
  cacheDir: "/shared/cache",
  repoRoot: "/shared/gradprom",
  denoPath: "/opt/deno bin/deno",
  runs: [
    {
      index: 0,
      experiment: "table1-isic-denoise",
      label: "joint σ=0.1 seed 0",
      key: "a".repeat(64),
    },
    {
      index: 1,
      experiment: "table1-isic-denoise",
      label: "gradprom σ=0.1 seed 0",
      key: "b".repeat(64),
    },
  ],
};

Deno.test("renderBatchScript() writes an array with one task per run, requeue and per-task logs", () => {
  const s = renderBatchScript(base);
  assert.ok(s.startsWith("#!/bin/bash\n"));
  const directives = s.split("\n").filter((l) => l.startsWith("#SBATCH "));
  assert.deepEqual(directives, [
    "#SBATCH --job-name=gradprom-runs",
    "#SBATCH --array=0-1",
    "#SBATCH --ntasks=1",
    "#SBATCH --cpus-per-task=1",
    "#SBATCH --output=/shared/cache/slurm/20261126T000000Z-abcd/logs/%A_%a.log",
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --chdir=/shared/gradprom",
  ]);
  // sbatch reads #SBATCH lines only before the first command: nothing but comments precede them.
  const firstCommand = s.split("\n").findIndex((l) => l && !l.startsWith("#"));
  const lastDirective = s.split("\n").findLastIndex((l) => l.startsWith("#SBATCH"));
  assert.ok(lastDirective < firstCommand);
  assert.ok(s.includes("#   1     table1-isic-denoise  gradprom σ=0.1 seed 0  bbbbbbbbbbbb\n"));
  assert.match(s, /export GRADPROM_CACHE=\/shared\/cache\n/);
  assert.match(s, /DENO='\/opt\/deno bin\/deno'\n/, "paths with spaces are quoted");
  assert.match(s, /"\$DENO" task train --config "\$JOB_DIR\/configs\/\$task\.json"\n/);
  assert.match(s, />> "\$JOB_DIR\/tasks\/\$task\.status"/);
});

Deno.test("renderBatchScript() adds partition, GPUs, time and throttle; pretrain uses --pretrain-only", () => {
  const s = renderBatchScript({
    ...base,
    kind: "pretrain",
    runs: base.runs.slice(0, 1),
    partition: "gpu",
    gpusPerTask: 1,
    time: "1-04:00:00",
    maxParallel: 4,
  });
  for (
    const d of [
      "--job-name=gradprom-pretrain",
      "--array=0-0%4",
      "--partition=gpu",
      "--gpus-per-task=1",
      "--time=1-04:00:00",
      "--output=/shared/cache/slurm/20261126T000000Z-abcd/logs/pretrain_%A_%a.log",
    ]
  ) assert.ok(s.includes(`#SBATCH ${d}\n`), d);
  assert.match(s, /"\$JOB_DIR\/pretrain\/\$task\.json" --pretrain-only\n/);
});

Deno.test("renderBatchScript() rejects bad options, naming what it found", () => {
  assert.throws(() => renderBatchScript({ ...base, time: "4h" }), /HH:MM:SS but found "4h"/);
  assert.throws(() => renderBatchScript({ ...base, gpusPerTask: 0 }), /gpusPerTask .* found 0/);
  assert.throws(() => renderBatchScript({ ...base, runs: [] }), /at least one run/);
  assert.throws(() => renderBatchScript({ ...base, cacheDir: "results/cache" }), /absolute path/);
  assert.throws(
    () => renderBatchScript({ ...base, runs: [{ ...base.runs[1] }] }),
    /run 0 to have array index 0 but found 1/,
  );
});
