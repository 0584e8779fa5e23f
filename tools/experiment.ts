/**
 * `deno task experiment`: list, run and tabulate the paper's experiments.
 *
 * ```
 * deno task experiment --list
 * deno task experiment table1-isic-denoise [--profile quick|paper|smoke] [--seeds 3] [--data DIR] [--workers 2] [--force]
 * deno task experiment table1-isic-denoise --profile smoke --dataset folder --data DIR   (on your own images)
 * deno task experiment --config run.json [--data DIR] [--force]   (one run; the file overrides the defaults)
 * ```
 *
 * `deno task train` is the same tool. Relative paths on the command line (`--config`, `--data`)
 * are relative to the folder the command was run from (not the repository's, where `deno task`
 * runs it); relative data folders inside a config file are relative to the file's folder.
 * `--data` sets `data.root`, over the file's. `--dataset ID` runs a grid on another dataset: it
 * sets `data.dataset` of every run and fits the networks to it (`datasetOverrides`; for
 * `folder`, the channels and classes read from `--data DIR`), keeping each run's task.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { gridOnDataset } from "../lib/experiments/grid_on_dataset.ts";
import { EXPERIMENTS, getExperiment } from "../lib/experiments/registry.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { readConfigFile, runConfig } from "../lib/experiments/worker.ts";
import { checkClaims, summarize, tableMarkdown } from "../lib/experiments/summarize.ts";
import { applySlurmArgs, SLURM_ARGS, SLURM_USAGE, slurmBranch } from "../lib/slurm/slurm_cli.ts";
import { cliPath, runArgs, runOptions } from "./_cli.ts";

const USAGE = `usage:
  deno task experiment --list
  deno task experiment <id> [--profile quick|paper|smoke] [--seeds N] [--data DIR] [--dataset ID] [--workers N]
  deno task experiment --config FILE.json [--data DIR] [--force] [--pretrain-only]
slurm (with <id> or --config):
${SLURM_USAGE}`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      list: { type: "boolean" },
      ...runOptions(),
      dataset: { type: "string" },
      workers: { type: "string" },
      config: { type: "string" },
      force: { type: "boolean" },
      "quiet-result": { type: "boolean" },
      "pretrain-only": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      ...SLURM_ARGS,
    },
  });
  applySlurmArgs(values);
  if (values.force && values.slurm) {
    console.error(
      "error: --force is not passed on to Slurm jobs; run the grid here with --force, or remove " +
        "its entries from the results cache before submitting",
    );
    return 2;
  }
  const slurm = { tool: "experiment", command: `deno task experiment ${args.join(" ")}` };
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const spec of Object.values(EXPERIMENTS)) {
      console.log(`${spec.id.padEnd(24)} ${spec.title}: ${spec.description}`);
    }
    return 0;
  }
  if (values.config !== undefined) {
    const file = cliPath("--config", values.config);
    let config = await readConfigFile(file);
    if (values.data !== undefined) {
      config = { ...config, data: { ...config.data, root: cliPath("--data", values.data) } };
    }
    const handled = await slurmBranch([{ experiment: values.config, config }], values, slurm);
    if (handled !== null) return handled;
    const out = await runConfig(config, {
      pretrainOnly: values["pretrain-only"],
      force: values.force,
    });
    if (!values["quiet-result"]) console.log(JSON.stringify(out));
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  const spec = getExperiment(positionals[0]);
  const { profile, seeds, dataRoot } = runArgs(values);
  let configs = spec.grid(profile, { seeds, dataRoot });
  if (values.dataset !== undefined) {
    configs = await gridOnDataset(configs, values.dataset, dataRoot);
  }
  const handled = await slurmBranch(
    configs.map((config) => ({ experiment: spec.id, config })),
    values,
    slurm,
  );
  if (handled !== null) return handled;
  const results = await runGrid(configs, {
    workers: values.workers ? Number(values.workers) : undefined,
    force: values.force,
  });
  const rows = summarize(spec, results);
  console.log(`\n${spec.title} (${profile} profile, ${seeds} seed${seeds > 1 ? "s" : ""})\n`);
  console.log(tableMarkdown(rows, checkClaims(spec, rows)));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
