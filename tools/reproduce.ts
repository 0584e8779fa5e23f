/**
 * `deno task reproduce` (what `make reproduce` runs): runs the experiment grid
 * of every paper notebook on all cores, writes the tables (Markdown and CSV),
 * executes every notebook headlessly and writes a one-page HTML report, all
 * under the git-ignored `results/`.
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
import { copyFile, mkdir, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { getExperiment } from "../lib/experiments/registry.ts";
import { NOTEBOOKS } from "../lib/experiments/notebook_index.ts";
import { REPO_ROOT, ResultsCache, writeFileAtomic } from "../lib/experiments/results_cache.ts";
import { runGrid } from "../lib/experiments/run_grid.ts";
import { experimentReport, gateDynamicsFigure, tableFigures } from "../lib/experiments/report.ts";
import {
  type ClaimCheck,
  claimsHtml,
  describeVerdict,
  formatDelta,
  tableCsv,
  tableHtml,
  tableMarkdown,
} from "../lib/experiments/summarize.ts";
import { checkNotebookTooling, executeNotebook } from "../lib/notebook/execute_notebook.ts";
import type { PlotlyFigure } from "../lib/plots/plotly.ts";
import { formatDuration } from "../lib/train/progress.ts";
import { setupBackend } from "../lib/backend/setup_backend.ts";
import {
  applySlurmArgs,
  reproduceEntries,
  SLURM_ARGS,
  slurmBranch,
} from "../lib/slurm/slurm_cli.ts";
import { runArgs, runOptions } from "./_cli.ts";

interface Section {
  name: string;
  title: string;
  markdownPath: string;
  csvPath: string;
  notebookPath: string;
  tableHtml: string;
  claims: ClaimCheck[];
  figures: PlotlyFigure[];
}

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
  const sections: Section[] = [];
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
      const markdownPath = join(out, "tables", `${spec.id}.md`);
      const csvPath = join(out, "tables", `${spec.id}.csv`);
      await writeFileAtomic(markdownPath, header + tableMarkdown(rows, claims));
      await writeFileAtomic(csvPath, tableCsv(rows));
      sections.push({
        name: nb.name,
        title: spec.title,
        markdownPath,
        csvPath,
        notebookPath: join(out, "notebooks", `${nb.name}.ipynb`),
        tableHtml: tableHtml(rows),
        claims,
        figures: [...Object.values(tableFigures(report)), gateDynamicsFigure(report)],
      });
    }
  }

  // 2. The notebooks, headlessly, against the filled cache.
  const executed: string[] = [];
  for (const nb of notebooks) {
    const notebookPath = join(out, "notebooks", `${nb.name}.ipynb`);
    console.error(`\n== executing notebooks/${nb.name}.ipynb`);
    await mkdir(join(out, "notebooks"), { recursive: true });
    const r = await executeNotebook(
      join(REPO_ROOT, "notebooks", `${nb.name}.ipynb`),
      notebookPath,
      {
        env: {
          GRADPROM_PROFILE: profile,
          GRADPROM_SEEDS: String(seeds),
          GRADPROM_CACHE: cache.dir,
          ...(dataRoot ? { GRADPROM_DATA: dataRoot } : {}),
        },
      },
    );
    console.error(`   ${r.cells} cells in ${r.seconds.toFixed(1)} s`);
    executed.push(notebookPath);
  }

  // 3. The report.
  const report = join(out, "index.html");
  await writeReport(report, sections, executed, {
    profile,
    seeds,
    dataRoot,
    backend: backend.name,
  });
  console.log(`\nreproduce: done in ${formatDuration((performance.now() - t0) / 1000)}`);
  for (const s of sections) {
    console.log(`  table:    ${relative(Deno.cwd(), s.markdownPath)} (and .csv)`);
  }
  for (const p of executed) console.log(`  notebook: ${relative(Deno.cwd(), p)}`);
  console.log(`  report:   ${relative(Deno.cwd(), report)}`);
  for (const s of sections) {
    for (const c of s.claims) {
      console.log(`  claim: ${c.text}: ${describeVerdict(c)} (ours Δ ${formatDelta(c)})`);
    }
  }
}

async function writeReport(
  path: string,
  sections: Section[],
  notebooks: string[],
  meta: { profile: string; seeds: number; dataRoot: string | null; backend: string },
): Promise<void> {
  // Plotly.js from the pinned npm package, copied beside the report (no network at view time).
  const plotlyDir = join(REPO_ROOT, "node_modules", "plotly.js-dist-min");
  const plotlyOk = await readdir(plotlyDir).then(() => true, () => false);
  if (plotlyOk) {
    await copyFile(join(plotlyDir, "plotly.min.js"), join(REPO_ROOT, "results", "plotly.min.js"));
  }
  const e = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  let fig = 0;
  const body = sections.map((s) => {
    const rel = (p: string) => relative(join(REPO_ROOT, "results"), p);
    const figs = s.figures.map((f) => {
      const id = `fig${fig++}`;
      return `<div id="${id}" class="fig"></div><script>Plotly.newPlot(${JSON.stringify(id)}, ${
        JSON.stringify(f.data)
      }, ${JSON.stringify(f.layout)}, {responsive: true});</script>`;
    }).join("\n");
    return `<section><h2>${e(s.title)}</h2>
<p><a href="${rel(s.notebookPath)}">executed notebook</a> · <a href="${
      rel(s.markdownPath)
    }">table (Markdown)</a> ·
<a href="${rel(s.csvPath)}">table (CSV)</a></p>
${s.tableHtml}
<h3>The paper's claims on our data</h3>
${claimsHtml(s.claims)}
${plotlyOk ? figs : "<p>(plotly.js not installed: figures are in the notebook)</p>"}
</section>`;
  }).join("\n");
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>GradProm reproduction</title>
${plotlyOk ? '<script src="plotly.min.js"></script>' : ""}
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.holds{color:#080}.does-not-hold{color:#b00}.inconclusive{color:#a60}.fig{height:420px}</style></head><body>
<h1>GradProm reproduction</h1>
<p>Profile <b>${e(meta.profile)}</b>, ${meta.seeds} seed(s), data ${
      e(meta.dataRoot ?? "embedded synthetic data")
    },
TF.js backend ${e(meta.backend)}, generated ${
      new Date().toISOString()
    }. The quick profile uses CPU-sized networks on
synthetic data: compare methods with each other, not absolute numbers with the paper's.</p>
<h2>Executed notebooks</h2>
<ul>${
      notebooks.map((p) =>
        `<li><a href="${relative(join(REPO_ROOT, "results"), p)}">${
          e(relative(join(REPO_ROOT, "results"), p))
        }</a></li>`
      )
        .join("")
    }</ul>
${body}
</body></html>`;
  await writeFileAtomic(path, html);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`\nreproduce: error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
