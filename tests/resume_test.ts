/**
 * A run interrupted mid-way (by an exception, or by SIGKILL of its process)
 * resumes from its last checkpoint: it says so, trains only the steps after
 * the checkpoint, and ends with exactly the numbers of an uninterrupted run.
 * Every wait is on an event (a line of the child's output, its exit), never
 * on a clock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, mergeConfig } from "../lib/experiments/config.ts";
import { SMOKE_OVERRIDES } from "../lib/experiments/registry.ts";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import {
  type RunEvent,
  runExperiment,
  runKey,
  type RunResult,
} from "../lib/experiments/run_experiment.ts";

const config = (steps: number) =>
  mergeConfig(mergeConfig(DEFAULT_CONFIG, SMOKE_OVERRIDES), {
    method: "gradprom",
    train: { steps },
  });

/** The integers from `first` to `last`, both included, by `by`. */
const range = (first: number, last: number, by = 1) =>
  Array.from(
    { length: Math.max(0, Math.floor((last - first) / by) + 1) },
    (_, i) => first + i * by,
  );

/** The steps of the events of one type, in order. */
const stepsOf = (events: RunEvent[], type: RunEvent["type"]) =>
  events.filter((e) => e.type === type).map((e) => e.step);

/** The step a checkpoint file holds, read from its header (uint32 length, then JSON). */
async function checkpointStep(path: string): Promise<number> {
  const bytes = await Deno.readFile(path);
  const length = new DataView(bytes.buffer).getUint32(0, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))).step;
}

async function withDirs(n: number, fn: (dirs: string[]) => Promise<void>) {
  const dirs = await Promise.all(
    Array.from({ length: n }, () => Deno.makeTempDir({ prefix: "gradprom-resume-" })),
  );
  try {
    await fn(dirs);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

Deno.test("runExperiment() resumes an interrupted run at its checkpoint, trains only the remaining steps, and matches the uninterrupted run", async () => {
  await withDirs(2, async ([a, b]) => {
    const c = config(12);
    const total = 12;
    const wholeEvents: RunEvent[] = [];
    const whole = await runExperiment(c, {
      cache: new ResultsCache(a),
      progress: false,
      checkpointEvery: 4,
      onEvent: (e) => wholeEvents.push(e),
    });
    assert.deepEqual(stepsOf(wholeEvents, "step"), range(1, total));
    assert.deepEqual(stepsOf(wholeEvents, "resume"), []);
    assert.equal(whole.resumedFrom, undefined);

    const cache = new ResultsCache(b);
    const checkpoint = cache.sidePath("checkpoints", await runKey(c), "state.bin");
    const cut: RunEvent[] = [];
    await assert.rejects(
      runExperiment(c, {
        cache,
        progress: false,
        checkpointEvery: 4,
        stopAfterStep: 6,
        onEvent: (e) => cut.push(e),
      }),
      /stopped after step 6/,
    );
    assert.deepEqual(stepsOf(cut, "step"), range(1, 6), "the interrupted run trained steps 1–6");
    assert.deepEqual(cut.filter((e) => e.type === "checkpoint"), [
      { type: "checkpoint", step: 4, total, path: checkpoint },
    ]);
    const k = await checkpointStep(checkpoint);
    assert.equal(k, 4, "the checkpoint left holds step 4");

    const events: RunEvent[] = [];
    const resumed = await runExperiment(c, {
      cache,
      progress: false,
      checkpointEvery: 4,
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(events[0], { type: "resume", step: k, total, path: checkpoint });
    assert.deepEqual(
      stepsOf(events, "step"),
      range(k + 1, total),
      `the resumed run trains steps ${k + 1}–${total} only`,
    );
    assert.deepEqual(stepsOf(events, "checkpoint"), [8]);
    assert.equal(resumed.resumedFrom, k);
    assert.deepEqual(resumed.metrics, whole.metrics);
    assert.deepEqual(resumed.log, whole.log);
    await assert.rejects(
      Deno.stat(checkpoint),
      Deno.errors.NotFound,
      "the checkpoint is removed at the end",
    );
  });
});

/**
 * Reads a stream line by line, calling `onLine` with each as it arrives;
 * resolves with all lines once the stream ends (its process exited).
 */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void = () => {},
): Promise<string[]> {
  const lines: string[] = [];
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  }
  if (rest) {
    lines.push(rest);
    onLine(rest);
  }
  return lines;
}

/** `deno task experiment --config cfgPath` on the cache `dir`, its stdio piped. */
function experimentCli(cfgPath: string, dir: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "tools", "experiment.ts"), "--config", cfgPath],
    env: { GRADPROM_CACHE: dir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The steps of the lines `[…] <what> at step N of total…` a run printed. */
const printedSteps = (lines: string[], what: string, total: number) =>
  lines.flatMap((l) => {
    const m = l.match(new RegExp(`\\] ${what} at step (\\d+) of ${total}\\b`));
    return m ? [Number(m[1])] : [];
  });

Deno.test("a run whose process is killed (SIGKILL) resumes in a new process at its last checkpoint and trains only the remaining steps", async () => {
  await withDirs(3, async ([a, b, tmp]) => {
    const total = 30;
    const every = 10; // the CLI's default: a tenth of the run, at least 10
    const c = config(total);
    const key = await runKey(c);
    const cache = new ResultsCache(b);
    const checkpoint = cache.sidePath("checkpoints", key, "state.bin");
    const cfgPath = join(tmp, "run.json");
    await Deno.writeTextFile(cfgPath, JSON.stringify(c));

    // Killed as soon as it reports its first checkpoint; its output ends when it dies.
    const child = experimentCli(cfgPath, b);
    const stdout = new Response(child.stdout).text();
    let killed = false;
    const lines = await readLines(child.stderr, (line) => {
      if (!killed && / checkpoint saved at step \d+ of /.test(line)) {
        child.kill("SIGKILL");
        killed = true;
      }
    });
    const status = await child.status;
    await stdout;
    assert.ok(killed, `the run reported a checkpoint:\n${lines.join("\n")}`);
    assert.equal(status.signal, "SIGKILL", "the run was killed, not finished");
    const saved = printedSteps(lines, "checkpoint saved", total);
    assert.equal(saved[0], every);
    assert.equal(await cache.get("runs", key), undefined, "the killed run left no result");
    const k = await checkpointStep(checkpoint);
    assert.equal(k, saved.at(-1), "the checkpoint left is the last one reported");

    // The same command again resumes: it says so first, then saves only checkpoints after k.
    const again = experimentCli(cfgPath, b);
    const [out, err, done] = await Promise.all([
      new Response(again.stdout).text(),
      readLines(again.stderr),
      again.status,
    ]);
    assert.ok(done.success, err.join("\n"));
    const resumedAt = printedSteps(err, "resumed", total);
    assert.deepEqual(resumedAt, [k], `it reports resuming at step ${k}:\n${err.join("\n")}`);
    const resumeLine = err.findIndex((l) => / resumed at step /.test(l));
    assert.ok(err[resumeLine].endsWith(` from checkpoint ${checkpoint}`));
    assert.ok(
      err.every((l, i) => !/ checkpoint saved at /.test(l) || i > resumeLine),
      "nothing was trained before resuming",
    );
    assert.deepEqual(
      printedSteps(err, "checkpoint saved", total),
      range(k + every, total - 1, every),
      `the resumed process went on from step ${k + 1}, not from step 1`,
    );
    const printed = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.equal(printed.fromCache, false);
    assert.equal(printed.resumedFrom, k);

    const resumed = (await cache.get<RunResult>("runs", key))!;
    assert.equal(resumed.resumedFrom, k);
    const whole = await runExperiment(c, { cache: new ResultsCache(a), progress: false });
    assert.deepEqual(resumed.metrics, whole.metrics);
    assert.deepEqual(resumed.log, whole.log);
    await assert.rejects(Deno.stat(checkpoint), Deno.errors.NotFound);
  });
});
