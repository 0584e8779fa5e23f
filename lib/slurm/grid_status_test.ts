import assert from "node:assert/strict";
import { join } from "node:path";
import { getExperiment } from "../experiments/registry.ts";
import { ResultsCache, writeFileAtomic } from "../experiments/results_cache.ts";
import { runKey } from "../experiments/run_experiment.ts";
import type { JobRecord } from "./_job_folder.ts";
import { formatMissing, formatStatusLine, gridStatus } from "./grid_status.ts";

Deno.test("gridStatus() tells done, failed (with its log) and never submitted apart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradprom-status-" });
  const noSlurm = await Deno.makeTempDir({ prefix: "gradprom-nopath-" });
  try {
    const cache = new ResultsCache(dir);
    const grid = getExperiment("table1-isic-denoise").grid("smoke");
    const entries = grid.map((config) => ({ experiment: "t1", config }));
    const keys = await Promise.all(grid.map(runKey));
    await cache.put("runs", keys[0], { fake: true });
    // A job folder as submitGrid leaves it: runs 1 and 2 submitted as job 41 (after pre-training job 40).
    const job = join(dir, "slurm", "20261126T000000Z-abcd");
    const record: JobRecord = {
      format: "gradprom-slurm-job-v1",
      submittedAt: "2026-11-26T00:00:00.000Z",
      command: "test",
      cacheDir: dir,
      runsJobId: "41",
      pretrainJobId: "40",
      runs: [1, 2].map((i, index) => ({
        index,
        experiment: "t1",
        label: "x",
        key: keys[i],
        pretrain: 0,
      })),
      pretrains: [{ index: 0, experiment: "t1", label: "pre", key: "p" }],
    };
    await writeFileAtomic(join(job, "job.json"), JSON.stringify(record));
    await writeFileAtomic(join(job, "tasks", "0.status"), "start 43 0 t\nexit 1 t\n");
    await writeFileAtomic(join(job, "tasks", "pretrain_0.status"), "start 42 0 t\nexit 3 t\n");
    // Stand-ins for squeue (an empty queue) and
    // sacct (no accounting) on PATH.
    await Deno.writeTextFile(join(noSlurm, "squeue"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    await Deno.writeTextFile(
      join(noSlurm, "sacct"),
      "#!/bin/sh\necho 'Slurm accounting storage is disabled' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    const env = { PATH: `${noSlurm}:/usr/bin:/bin` };
    const s = await gridStatus(entries, { cache, env });
    assert.deepEqual(s.runs.map((r) => r.state), [
      "done",
      "failed",
      "failed",
      "not submitted",
      "not submitted",
    ]);
    assert.equal(s.runs[1].detail, "exit 1");
    assert.equal(s.runs[1].task, "41_0");
    assert.equal(s.runs[1].log, join(job, "logs", "41_0.log"));
    // Task 1 never started: its pre-training failed, so it points at the pre-training's log.
    assert.equal(s.runs[2].detail, "its VR pre-training (task 40_0) failed: exit 3");
    assert.equal(s.runs[2].log, join(job, "logs", "pretrain_40_0.log"));
    assert.equal(
      formatStatusLine(s),
      "slurm: 5 runs: 1 done, 0 running, 0 pending, 2 failed, 2 not submitted",
    );
    const lines = formatMissing(s);
    assert.equal(lines.length, 4);
    assert.match(lines[0], /joint σ=0\.1 seed 0 +failed \(exit 1\), task 41_0, log: .*41_0\.log$/);
    // A failing squeue is an error, not an empty queue (queued runs would be submitted twice).
    await Deno.writeTextFile(join(noSlurm, "squeue"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    await assert.rejects(gridStatus(entries, { cache, env }), /Expected squeue to list the queue/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(noSlurm, { recursive: true });
  }
});
