/**
 * `deno task reproduce` (what `make reproduce` runs): runs the experiment grid
 * of every paper notebook on all cores, writes the tables (Markdown and CSV),
 * executes every notebook headlessly (with an HTML copy of each when Debian's
 * `jupyter-nbconvert` is installed) and writes a self-contained one-page HTML
 * report, all under the git-ignored `results/`.
 *
 * ```
 * deno task reproduce [--profile quick|paper|smoke] [--seeds N] [--data DIR] [--workers N] [--only NAME] [--all]
 * deno task reproduce … --slurm [--partition P] [--gpus-per-task N] [--time HH:MM:SS] [--dry-run] [--cache DIR]
 * deno task reproduce … --collect [--cache DIR]     (the notebooks, once every run is in the cache)
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { getExperiment } from "../lib/experiments/registry.ts";
import { NOTEBOOKS } from "../lib/experiments/notebook_index.ts";
import { FigureExporter } from "../lib/figures/figure_exporter.ts";
import {
  FIGURE_SERVER_ENV,
  type FigureServer,
  serveFigures,
} from "../lib/figures/figure_server.ts";
import { REPO_ROOT, ResultsCache, writeFileAtomic } from "../lib/experiments/results_cache.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { experimentReport, gateDynamicsFigure, tableFigures } from "../lib/experiments/report.ts";
import { type ReportSection, writeReport } from "../lib/experiments/report_page.ts";
import {
  describeVerdict,
  formatDelta,
  tableCsv,
  tableHtml,
  tableMarkdown,
} from "../lib/experiments/summarize.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";
import { notebookHtmlCopies } from "../lib/notebook/notebook_html.ts";
import { formatDuration } from "../lib/train/progress.ts";
import { setupBackend } from "../lib/backend/setup_backend.ts";
import {
  applySlurmArgs,
  reproduceEntries,
  SLURM_ARGS,
  slurmBranch,
} from "../lib/slurm/slurm_cli.ts";
import { runArgs, runOptions } from "./_cli.ts";

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...runOptions(),
      workers: { type: "string" },
      only: { type: "string" },
      all: { type: "boolean" },
      ...SLURM_ARGS,
    },
  });
  applySlurmArgs(values);
  const t0 = performance.now();
  const { profile, seeds, dataRoot } = runArgs(values, { paperNeedsData: true });
  // On a cluster: --slurm submits the missing runs; --collect stops here when some are missing.
  const handled = await slurmBranch(
    reproduceEntries(profile, { seeds, dataRoot, only: values.only, all: values.all }),
    values,
    { tool: "reproduce", command: `deno task reproduce ${args.join(" ")}` },
  );
  if (handled !== null) Deno.exit(handled);
  const tooling = await checkNotebookTooling();
  if (!tooling.ok) {
    throw new Error(
      `notebook execution needs Debian packages ${tooling.missing.join(" ")}; as root run: ` +
        `apt-get install -y --no-install-recommends ${tooling.missing.join(" ")}`,
    );
  }
  const out = join(REPO_ROOT, "results");
  const cache = new ResultsCache();
  const backend = await setupBackend();
  console.error(
    `reproduce: profile ${profile}, ${seeds} seed(s), data ${
      dataRoot ?? "embedded synthetic data"
    }, ` +
      `backend ${backend.name}, cache ${relative(REPO_ROOT, cache.dir) || cache.dir}`,
  );
  const notebooks = values.only
    ? NOTEBOOKS.filter((n) => n.name === values.only)
    : NOTEBOOKS.filter((n) => values.all || !n.extra);
  if (!notebooks.length) {
    throw new RangeError(
      `No notebook named ${values.only}; known: ${NOTEBOOKS.map((n) => n.name)}`,
    );
  }

  // 1. Every experiment grid at once, on all cores (runs shared between grids are trained once,
  //    and no core idles at the end of a small grid), then each grid's table from the cache.
  const ids = [...new Set(notebooks.flatMap((nb) => nb.experiments))];
  const workers = values.workers ? Number(values.workers) : undefined;
  const all = ids.flatMap((id) => getExperiment(id).grid(profile, { seeds, dataRoot }));
  console.error(`\n== ${ids.length} experiments: ${ids.join(", ")}`);
  await runGrid(all, { workers, cache });
  const sections: ReportSection[] = [];
  let library: string | undefined;
  for (const nb of notebooks) {
    for (const id of nb.experiments) {
      const report = await experimentReport(id, {
        profile,
        seeds,
        dataRoot,
        workers,
        cache,
        progress: false,
      });
      const { spec, results, rows, claims } = report;
      const header = `# ${spec.title}\n\nProfile ${profile}, seeds ${
        [...new Set(results.map((r) => r.config.seed))].join(", ")
      }, ` +
        `data ${dataRoot ?? "embedded synthetic data"}, backend ${results[0]?.backend}, library ${
          results[0]?.version
        }.\n\n`;
      const markdown = join(out, "tables", `${spec.id}.md`);
      const csv = join(out, "tables", `${spec.id}.csv`);
      await writeFileAtomic(markdown, header + tableMarkdown(rows, claims));
      await writeFileAtomic(csv, tableCsv(rows));
      library ??= results[0]?.version;
      sections.push({
        title: spec.title,
        markdown,
        csv,
        notebook: join(out, "notebooks", `${nb.name}.ipynb`),
        tableHtml: tableHtml(rows),
        claims,
        figures: [...Object.values(tableFigures(report)), gateDynamicsFigure(report)],
      });
    }
  }

  // 2. The notebooks, headlessly, against the filled cache: two at a time on two cores or more
  //    (each is a kernel process that mostly starts up and type-checks).
  const executed: string[] = [];
  await mkdir(join(out, "notebooks"), { recursive: true });
  // One Chromium draws every notebook's static figures (a kernel would otherwise start its own,
  // ~4 s each); without Chromium the kernels say so in each figure, as they do alone.
  await using figures = await _figureServer();
  const queue = notebooks.map((nb, i) => ({ nb, i }));
  const lanes = Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const { nb, i } = item;
        const notebookPath = join(out, "notebooks", `${nb.name}.ipynb`);
        console.error(`== executing notebooks/${nb.name}.ipynb`);
        const r = await executeNotebook(
          join(REPO_ROOT, "notebooks", `${nb.name}.ipynb`),
          notebookPath,
          {
            env: {
              GRADPROM_PROFILE: profile,
              GRADPROM_SEEDS: String(seeds),
              GRADPROM_CACHE: cache.dir,
              ...(dataRoot ? { GRADPROM_DATA: dataRoot } : {}),
              ...(figures.server ? { [FIGURE_SERVER_ENV]: figures.server.url } : {}),
            },
          },
        ).catch((e) => {
          queue.length = 0; // the other lane starts no new notebook
          throw e;
        });
        console.error(
          `   notebooks/${nb.name}.ipynb: ${r.cells} cells in ${r.seconds.toFixed(1)} s`,
        );
        executed[i] = notebookPath;
      }
    }),
  );

  // 3. An HTML copy of each executed notebook (never fatal: without nbconvert, say so once).
  const copies = await notebookHtmlCopies(executed);
  if (copies.note) console.error(`\nreproduce: ${copies.note}`);

  // 4. The report.
  const report = join(out, "index.html");
  const written = await writeReport(
    report,
    sections,
    executed.map((ipynb, i) => ({ ipynb, html: copies.html[i] })),
    {
      profile,
      seeds,
      dataRoot,
      backend: backend.name,
      library,
      notes: copies.note ? [copies.note] : [],
    },
  );
  if (!written.plotly) {
    console.error("reproduce: plotly.js-dist-min is not installed: the report has no figures");
  }
  console.log(`\nreproduce: done in ${formatDuration((performance.now() - t0) / 1000)}`);
  for (const s of sections) {
    console.log(`  table:    ${relative(Deno.cwd(), s.markdown)} (and .csv)`);
  }
  for (const [i, p] of executed.entries()) {
    const html = copies.html[i];
    console.log(
      `  notebook: ${relative(Deno.cwd(), p)}${html ? ` (and ${relative(Deno.cwd(), html)})` : ""}`,
    );
  }
  console.log(
    `  report:   ${relative(Deno.cwd(), report)} (${(written.bytes / 1e6).toFixed(1)} MB)`,
  );
  for (const s of sections) {
    for (const c of s.claims) {
      console.log(`  claim: ${c.text}: ${describeVerdict(c)} (ours Δ ${formatDelta(c)})`);
    }
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`\nreproduce: error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}

/**
 * A figure server for the notebooks (`lib/figures/figure_server.ts`), or none when Chromium
 * cannot start (each kernel then reports it in its figures, as it would alone).
 */
async function _figureServer(): Promise<
  { server?: FigureServer; [Symbol.asyncDispose](): Promise<void> }
> {
  let exporter: FigureExporter | undefined;
  try {
    exporter = await FigureExporter.launch();
  } catch {
    return { [Symbol.asyncDispose]: async () => {} };
  }
  const server = serveFigures(exporter);
  return {
    server,
    async [Symbol.asyncDispose]() {
      await server.close();
      await exporter.close();
    },
  };
}
