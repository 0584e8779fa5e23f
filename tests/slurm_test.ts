/**
 * The grid on a real Slurm cluster: a one-node cluster on loopback (Debian's
 * slurm-wlm and munge, started by lib/slurm/_test_cluster.ts), a smoke grid
 * submitted with `deno task experiment … --slurm`, every result in the cache,
 * a second submission that submits nothing, a task requeued mid-run that
 * resumes from its checkpoint, and a failing task that `--collect` reports
 * with its log. Skipped (with the reason) when not root or the packages cannot
 * be installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { getExperiment, SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import { runKey } from "../lib/experiments/run_experiment.ts";
import { listJobFolders } from "../lib/slurm/_job_folder.ts";
import { formatStatusLine, gridStatus } from "../lib/slurm/grid_status.ts";
import {
  clusterUnavailable,
  startTestCluster,
  type TestCluster,
} from "../lib/slurm/_test_cluster.ts";

const NAME = "experiment --slurm runs a grid on a loopback Slurm cluster, resumes a requeued task";
const skip = await clusterUnavailable();
if (skip) console.log(`slurm_test: skipped: ${skip}`);

/** Runs `deno task experiment` with the cluster's SLURM_CONF and the test cache. */
async function experiment(cluster: TestCluster, cache: string, args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), ...args, "--cache", cache],
    env: { ...cluster.env, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

async function squeue(cluster: TestCluster): Promise<string[]> {
  const r = await new Deno.Command("squeue", {
    args: ["--me", "-h", "-r", "-o", "%i %T"],
    env: cluster.env,
  }).output();
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l.trim());
}

async function until(
  what: string,
  seconds: number,
  ok: () => Promise<boolean>,
  explain?: () => Promise<string>,
  intervalMs = 250,
): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > seconds * 1000) {
      throw new Error(
        `Timed out after ${seconds} s: ${what}${explain ? `\n${await explain()}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

Deno.test({ name: NAME, ignore: skip !== null }, async () => {
  const t0 = Date.now();
  const marks: string[] = [];
  const mark = (what: string) => marks.push(`${what} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const cache = await Deno.makeTempDir({ prefix: "gradprom-slurm-cache-" });
  const cluster = await startTestCluster();
  try {
    const listening = await cluster.listening();
    assert.ok(listening.length >= 2, `slurmctld and slurmd listen: ${listening.join("\n")}`);
    for (const l of listening) {
      assert.match(l, /\s127\.0\.0\.1:\d+\s/, `listens on loopback only: ${l}`);
    }

    mark("cluster up");
    // 1. The smoke grid of Table 1 (5 runs) as job arrays, until the queue is empty.
    const grid = getExperiment("table1-isic-denoise").grid("smoke");
    const smoke = ["table1-isic-denoise", "--profile", "smoke"];
    const dry = await experiment(cluster, cache, [...smoke, "--slurm", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /#SBATCH --array=0-4\n/);
    assert.match(dry.stdout, /#SBATCH --requeue\n/);
    assert.match(dry.stdout, /# {3}4 +table1-isic-denoise +gradprom-weighted σ=0\.1 seed 0 /);
    assert.match(dry.stderr, /dry run: would submit 5 runs/);
    assert.equal((await squeue(cluster)).length, 0, "a dry run submits nothing");
    const first = await experiment(cluster, cache, [...smoke, "--slurm"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /submitted 5 runs \(0 of 5 in the cache\) after 1 VR pre-training/);
    await until(
      "the grid's arrays to finish",
      180,
      async () => (await squeue(cluster)).length === 0,
    );
    const results = new ResultsCache(cache);
    for (const c of grid) {
      assert.ok(await results.get("runs", await runKey(c)), `${c.method} is in the cache`);
    }
    const [job] = await listJobFolders(cache);
    for (let i = 0; i < 5; i++) {
      const log = await Deno.readTextFile(
        join(job.dir, "logs", `${job.record.runsJobId}_${i}.log`),
      );
      assert.match(log, /exited with 0/, `task ${i}'s log ends with its exit code`);
    }

    mark("grid done");
    // 2. A second submission of the same grid submits nothing; --collect finds it complete.
    const second = await experiment(cluster, cache, [...smoke, "--slurm"]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /all 5 runs are in the cache: nothing submitted/);
    assert.match(second.stderr, /slurm: 5 runs: 5 done, 0 running, 0 pending, 0 failed/);
    assert.equal((await squeue(cluster)).length, 0);
    assert.equal((await listJobFolders(cache)).length, 1, "no new job folder");
    const collected = await experiment(cluster, cache, [...smoke, "--collect"]);
    assert.equal(collected.code, 0, collected.stderr);
    assert.match(collected.stdout, /GradProm \(gate\)/, "the table is printed");

    mark("second submission and collect");
    // 3. A longer run, requeued after its first checkpoint, resumes from it.
    // 100 steps, checkpoints every 10: after the first, 90 steps of margin to requeue it mid-run.
    const long = mergeConfig(grid[3], { train: { steps: 100 } });
    const longFile = join(cache, "long.json");
    await Deno.writeTextFile(longFile, JSON.stringify(long));
    const sub = await experiment(cluster, cache, ["--config", longFile, "--slurm"]);
    assert.equal(sub.code, 0, sub.stderr);
    const [longJob] = await listJobFolders(cache);
    const task = `${longJob.record.runsJobId}_0`;
    const checkpoint = results.sidePath("checkpoints", await runKey(long), "state.bin");
    await until(
      "the first checkpoint",
      60,
      () => Deno.stat(checkpoint).then(() => true, () => false),
      undefined,
      20,
    );
    const requeue = await new Deno.Command("scontrol", {
      args: ["requeue", task],
      env: cluster.env,
    }).output();
    assert.equal(requeue.code, 0, new TextDecoder().decode(requeue.stderr));
    const requeued = await gridStatus([{ experiment: "long", config: long }], {
      cache: results,
      env: cluster.env,
    });
    assert.match(
      formatStatusLine(requeued),
      /^slurm: 1 runs: 0 done, [01] running, [01] pending, 0 failed$/,
    );
    const longLog = join(longJob.dir, "logs", `${task}.log`);
    const tail = async () =>
      `squeue: ${(await squeue(cluster)).join("; ")}\n${longLog}:\n` +
      (await Deno.readTextFile(longLog).catch(() => "")).slice(-3000);
    await until(
      "the requeued task to finish",
      180,
      async () => (await squeue(cluster)).length === 0,
      tail,
    );
    const longText = await Deno.readTextFile(longLog);
    const resumedAt = Number(longText.match(/resumed at step (\d+)/)?.[1]);
    assert.ok(resumedAt >= 10 && resumedAt < 100, `resumed mid-run:\n${await tail()}`);
    assert.match(longText, /restart 1\)/, "the log keeps both attempts");
    assert.ok(await results.get("runs", await runKey(long)), "the requeued run is in the cache");

    mark(`requeued run done (resumed at step ${resumedAt} of 100)`);
    // 4. A failing run: --collect lists it with its state and log, and exits 1.
    const bad = mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), {
      train: { batchSize: 64 }, // more than the 48 training images: the run throws
    });
    const badFile = join(cache, "bad.json");
    await Deno.writeTextFile(badFile, JSON.stringify(bad));
    const badSub = await experiment(cluster, cache, ["--config", badFile, "--slurm"]);
    assert.equal(badSub.code, 0, badSub.stderr);
    await until("the failing task to end", 60, async () => (await squeue(cluster)).length === 0);
    const report = await experiment(cluster, cache, ["--config", badFile, "--collect"]);
    assert.equal(report.code, 1, report.stderr);
    assert.match(report.stderr, /slurm: 1 runs: 0 done, 0 running, 0 pending, 1 failed/);
    assert.match(report.stderr, /failed \(exit 1\), task \d+_0, log: \S+\/logs\/\d+_0\.log/);
    mark("failure reported");
    console.log(`slurm_test: ${marks.join(", ")}`);
  } finally {
    await cluster.stop();
    await Deno.remove(cache, { recursive: true }).catch(() => {});
  }
});
