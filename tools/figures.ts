/**
 * `deno task figures`: every paper figure as PNG and SVG under
 * `results/figures/`, through headless Chromium, byte for byte the same from
 * the same results.
 *
 * ```
 * deno task figures [--profile quick|paper|smoke] [--seeds N] [--data DIR] [--only ID[,ID…]] [--all]
 *                   [--cached-only] [--out DIR] [--list]
 * ```
 *
 * Figures read the results cache (`$GRADPROM_CACHE`, default `results/cache`)
 * and run the experiments it lacks, as `deno task reproduce` does; with
 * `--cached-only` a missing run is an error instead. Figures marked extra
 * (long experiments) are exported only with `--all` or `--only`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { REPO_ROOT, ResultsCache } from "../lib/experiments/results_cache.ts";
import { exportFigures } from "../lib/figures/export_figures.ts";
import { FigureExporter } from "../lib/figures/figure_exporter.ts";
import { FIGURES, getFigure } from "../lib/figures/registry.ts";
import { runArgs, runOptions } from "./_cli.ts";

/** `path` relative to the working folder when it lies inside it, else as given. */
function _show(path: string): string {
  const r = relative(Deno.cwd(), path);
  return r && !r.startsWith("..") ? r : path;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...runOptions(),
      only: { type: "string", multiple: true },
      all: { type: "boolean" },
      "cached-only": { type: "boolean" },
      out: { type: "string", default: join(REPO_ROOT, "results", "figures") },
      list: { type: "boolean" },
    },
  });
  if (values.list) {
    for (const f of Object.values(FIGURES)) {
      console.log(`${f.id}${f.extra ? " (extra)" : ""}\t${f.title}`);
    }
    return;
  }
  const { profile, seeds, dataRoot } = runArgs(values, {
    paperNeedsData: true,
    seedsExpected: "to be an integer ≥ 1",
  });
  const only = (values.only ?? []).flatMap((s) => s.split(",")).map((s) => s.trim())
    .filter(Boolean);
  const specs = only.length
    ? only.map(getFigure)
    : Object.values(FIGURES).filter((f) => values.all || !f.extra);
  const skipped = only.length ? [] : Object.values(FIGURES).filter((f) => !specs.includes(f));
  const ctx = {
    profile,
    seeds,
    dataRoot,
    cache: new ResultsCache(),
    runMissing: !values["cached-only"],
  };
  const t0 = performance.now();
  // Launched before any experiment runs: a missing Chromium fails at once, not after the grid.
  await using exporter = await FigureExporter.launch();
  console.error(
    `figures: ${specs.length} (${profile} profile, ${seeds} seed(s)); ` +
      `Chromium and Plotly ${await exporter.plotlyVersion()} ready in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  const written = await exportFigures(specs, ctx, {
    outDir: values.out!,
    exporter,
    onWritten: (w) =>
      console.log(
        `${_show(w.png)}  ${_show(w.svg)}  ` +
          `(${w.width}×${w.height}, ${Math.round(w.ms)} ms)`,
      ),
  });
  console.error(
    `figures: wrote ${written.length * 2} files to ${_show(values.out!)} ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
      (skipped.length
        ? `; skipped (use --all or --only): ${skipped.map((f) => f.id).join(", ")}`
        : ""),
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
