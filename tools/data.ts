/**
 * Dataset verification and inspection (`deno task data:verify` / `data:inspect`).
 *
 * ```
 * deno run -A tools/data.ts verify <name> <folder> [--task T] [--synthetic] [--lock FILE] [--update-lock] [--json]
 * deno run -A tools/data.ts inspect <name> <folder> [--task T] [--seed N] [--json]
 * ```
 *
 * verify exits 0 when every check passes, 1 when one fails, 2 on a usage error. The
 * dataset folder is only read; the checksum lock goes to
 * `data-manifests/locks/<name>.<hash of the folder's real path>.sha256.json` unless `--lock`
 * (never inside the folder, symbolic links resolved). Counts that differ from the manifest
 * (a partial or variant copy) fail, naming the command that accepts them: `--update-lock`
 * records the copy as it is (its files and counts), and later runs report those counts as
 * warnings (`WARN`). A corrupt file fails with or without `--update-lock`.
 *
 * inspect decodes every image (and mask) it counts; it exits 1 naming each file that does
 * not read (`unreadable: <path> (<reason>)`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  inspectDataset,
  inspectJson,
  type InspectReport,
  verifyDataset,
  type VerifyReport,
} from "../lib/data/manifest.ts";
import { DATASET_IDS, DATASETS, inspectionTasks, TASK_ALIASES } from "../lib/data/registry.ts";

const USAGE = `usage:
  deno run -A tools/data.ts verify <name> <folder> [--task T] [--synthetic] [--lock FILE] [--update-lock] [--json]
  deno run -A tools/data.ts inspect <name> <folder> [--task T] [--seed N] [--json]
datasets and their --task values (inspect's default first):
${
  DATASET_IDS.map((id) => {
    const d = DATASETS[id];
    return `  ${id} (${d.name}): ${inspectionTasks(d).join(", ")}` +
      (d.inspect.note ? `; ${d.inspect.note}` : "");
  }).join("\n")
}
  also accepted: ${Object.entries(TASK_ALIASES).map(([a, t]) => `${a} for ${t}`).join(", ")}`;

class _UsageError extends Error {}

/** Runs the CLI on `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        task: { type: "string" },
        synthetic: { type: "boolean" },
        lock: { type: "string" },
        "update-lock": { type: "boolean" },
        seed: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const [command, name, folder, ...rest] = positionals;
    if (!command || !name || !folder || rest.length) {
      throw new _UsageError(
        `Expected <command> <name> <folder> but found "${positionals.join(" ")}"`,
      );
    }
    if (command === "verify") {
      const report = await verifyDataset(name, folder, {
        task: values.task,
        synthetic: values.synthetic,
        lockPath: values.lock,
        updateLock: values["update-lock"],
      });
      console.log(values.json ? JSON.stringify(report) : _verifyText(report));
      return report.ok ? 0 : 1;
    }
    if (command === "inspect") {
      const seed = values.seed === undefined ? undefined : Number(values.seed);
      if (seed !== undefined && !Number.isInteger(seed)) {
        throw new _UsageError(`Expected an integer --seed but found "${values.seed}"`);
      }
      const report = await inspectDataset(name, folder, { task: values.task, seed });
      console.log(values.json ? JSON.stringify(inspectJson(report)) : _inspectText(report));
      if (report.unreadable.length) {
        const n = report.unreadable.length;
        const samples = Object.values(report.splits).reduce((a, s) => a + s.samples, 0);
        const masks = report.splits.train.maskPixels !== undefined;
        console.error(
          `error: ${n} of ${masks ? 2 * samples : samples} files ${
            masks ? "(images and masks) " : ""
          }do not decode: ${report.unreadable.join(", ")}`,
        );
        return 1;
      }
      return 0;
    }
    throw new _UsageError(`Expected command verify or inspect but found "${command}"`);
  } catch (err) {
    if (err instanceof _UsageError || err instanceof TypeError) {
      console.error(`${err.message}\n${USAGE}`);
      return 2;
    }
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
}

function _verifyText(r: VerifyReport): string {
  const mark = { pass: "ok  ", fail: "FAIL", info: "info", warn: "WARN" } as const;
  const lines = [`verify ${r.dataset} in ${r.folder}`];
  for (const c of r.checks) lines.push(`  ${mark[c.status]} ${c.name}: ${c.detail}`);
  for (const [what, files] of [["changed", r.changed], ["missing", r.missing], ["new", r.added]]) {
    for (const f of files as string[]) lines.push(`  ${what}: ${f}`);
  }
  const failed = r.checks.filter((c) => c.status === "fail").length;
  const warned = r.checks.filter((c) => c.status === "warn").length;
  const s = (n: number) => (n === 1 ? "" : "s");
  lines.push(
    !r.ok
      ? `verify: FAILED (${failed} check${s(failed)})` +
        (r.acceptCommand ? `; only counts differ: accept them with ${r.acceptCommand}` : "")
      : warned
      ? `verify: OK with ${warned} warning${s(warned)} (counts differ from the manifest; ` +
        `recorded in ${r.lockPath})`
      : "verify: OK",
  );
  return lines.join("\n");
}

function _inspectText(r: InspectReport): string {
  const lines = [`inspect ${r.dataset} (${r.task}) in ${r.folder}`];
  for (const [split, s] of Object.entries(r.splits)) {
    const size = s.height === null ? "-" : `${s.height}x${s.width}x${s.channels} (HxWxC)`;
    lines.push(`  ${split}: ${s.samples} samples, stored size ${size}`);
    if (s.sizes) {
      const all = Object.entries(s.sizes).sort((a, b) => b[1] - a[1]);
      const shown = all.slice(0, 8).map(([k, n]) => `${k} ${n}`).join(", ");
      const more = all.length > 8 ? ` (and ${all.length - 8} more)` : "";
      lines.push(`    ${all.length} sizes (most common shown above): ${shown}${more}`);
    }
    if (s.classes) {
      lines.push(
        `    classes: ${Object.entries(s.classes).map(([k, n]) => `${k} ${n}`).join(", ")}`,
      );
    }
    if (s.maskPixels) {
      const total = Object.values(s.maskPixels).reduce((a, b) => a + b, 0) || 1;
      const parts = Object.entries(s.maskPixels).map(([k, n]) =>
        `${k} ${n} (${(100 * n / total).toFixed(1)}%)`
      );
      lines.push(`    mask pixels: ${parts.join(", ")}`);
    }
  }
  for (const u of r.unreadable) lines.push(`  unreadable: ${u}`);
  return lines.join("\n");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
