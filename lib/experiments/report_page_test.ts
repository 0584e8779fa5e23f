/**
 * The report page: links, escaping and plotly.js inlined once (no browser); then a report written
 * from a few fake runs, opened from file:// in headless Chromium (skipped, with the reason in the
 * test name, when there is none): every figure drawn, no network request, no console error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { CHROMIUM_FLAGS } from "../figures/figure_exporter.ts";
import { findChromium } from "../figures/find_chromium.ts";
import type { ConfigOverrides, ExperimentConfig } from "./config.ts";
import { getExperiment } from "./registry.ts";
import { buildReport, gateDynamicsFigure, tableFigures } from "./report.ts";
import {
  plotlyJsPath,
  reportHtml,
  type ReportNotebook,
  type ReportSection,
  writeReport,
} from "./report_page.ts";
import { REPO_ROOT } from "./results_cache.ts";
import type { RunResult } from "./run_experiment.ts";
import { tableHtml } from "./summarize.ts";
import { _fakeRun } from "./_testing.ts";

/** A finished run of `overrides` with PSNR `psnr` and a short training log. */
const fakeRun = (overrides: ConfigOverrides<ExperimentConfig>, psnr: number): RunResult =>
  _fakeRun(overrides, psnr, { cosine: [1, -0.5, 0.2, -1], auxWeight: [1, 0, 1, 0] });

/** Two sections (Table 1 and the λ sweep) of a report under `dir`, from fake runs. */
function sections(dir: string): { sections: ReportSection[]; notebooks: ReportNotebook[] } {
  const methods = ["benchmark-i", "joint", "frozen", "gradprom"] as const;
  const reports = [
    buildReport(
      getExperiment("table1-isic-denoise"),
      methods.map((method, i) => fakeRun({ method }, 24 + i)),
      { profile: "smoke" },
    ),
    buildReport(
      getExperiment("lambda-sweep"),
      [0.01, 0.1].flatMap((lambda) =>
        (["joint", "gradprom"] as const).map((method, i) =>
          fakeRun({ method, train: { lambda } }, 25 + i - lambda)
        )
      ),
      { profile: "smoke" },
    ),
  ];
  const names = ["table1_isic_denoise", "lambda_sensitivity"];
  return {
    sections: reports.map((r, i) => ({
      title: r.spec.title,
      notebook: join(dir, "notebooks", `${names[i]}.ipynb`),
      markdown: join(dir, "tables", `${r.spec.id}.md`),
      csv: join(dir, "tables", `${r.spec.id}.csv`),
      tableHtml: tableHtml(r.rows),
      claims: r.claims,
      figures: [...Object.values(tableFigures(r)), gateDynamicsFigure(r)],
    })),
    notebooks: names.map((n, i) => ({
      ipynb: join(dir, "notebooks", `${n}.ipynb`),
      html: i === 0 ? join(dir, "notebooks", `${n}.html`) : null,
    })),
  };
}

const META = { profile: "smoke", seeds: 1, dataRoot: null, backend: "cpu", library: "test" };

Deno.test("reportHtml() inlines plotly.js once, links relatively and escapes what it embeds", () => {
  const { sections: s, notebooks } = sections("/r");
  s[0].title = "A & <b>";
  s[0].figures[0].layout.title = { text: "</script><script>alert(1)</script>" };
  const html = reportHtml("/r", s, notebooks, { ...META, notes: ["No HTML copy of x."] }, {
    plotlyJs: "/** plotly.js v9.9.9 */ window.Plotly = {s: '</script>'};",
  });
  assert.equal(html.split("plotly.js v9.9.9").length, 2, "plotly.js inlined once");
  assert.match(html, /window\.Plotly = \{s: '<\\\/script>'\}/);
  assert.doesNotMatch(html, /<script[^>]* src=|<link /);
  assert.equal(html.match(/<\/script>/g)?.length, html.match(/<script>/g)?.length);
  assert.match(html, /alert\(1\)\\u003c\/script>/);
  assert.match(html, /<h2>A &amp; &lt;b><\/h2>/);
  assert.match(html, /library test, Deno \d+\.\d+\.\d+, plotly\.js 9\.9\.9/);
  assert.equal(html.match(/<p class="note">No HTML copy of x\.<\/p>/g)?.length, 1);
  // Table 1's notebook has an HTML copy, the λ sweep's does not.
  assert.match(
    html,
    /Executed notebook: <a href="notebooks\/table1_isic_denoise\.html">HTML<\/a> · <a href="notebooks\/table1_isic_denoise\.ipynb">\.ipynb<\/a> · table: <a href="tables\/table1-isic-denoise\.md">/,
  );
  assert.match(
    html,
    /<li>notebooks\/lambda_sensitivity: <a href="notebooks\/lambda_sensitivity\.ipynb">/,
  );
  const figures = s.reduce((n, x) => n + x.figures.length, 0);
  assert.equal(html.match(/<div id="fig\d+" class="fig"><\/div>/g)?.length, figures);

  const without = reportHtml("/r", s, notebooks, META);
  assert.doesNotMatch(without, /class="fig"|Plotly\.newPlot/);
  assert.match(without, /No figures: plotly\.js-dist-min is not installed/);
});

const chromium = await findChromium({ throwIfMissing: false }).catch(() => null);
const skip = chromium
  ? ""
  : " (skipped: no Chromium; as root: apt-get install chromium fonts-dejavu-core)";

Deno.test({
  name: `writeReport() page opens offline in Chromium with every figure drawn${skip}`,
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gradprom-report-page-" });
    const profile = await Deno.makeTempDir({ prefix: "gradprom-chromium-" });
    const browser = await puppeteer.launch({
      executablePath: chromium!,
      headless: true,
      pipe: true,
      userDataDir: profile,
      args: [...CHROMIUM_FLAGS],
    });
    try {
      const { sections: s, notebooks } = sections(dir);
      const path = join(dir, "index.html");
      const { bytes, plotly } = await writeReport(path, s, notebooks, META);
      assert.ok(plotly, "plotly.js-dist-min is installed");
      const html = await Deno.readTextFile(path);
      assert.doesNotMatch(html, /<script[^>]* src=|<link /);
      // plotly.js once, plus the figures' JSON: a few KB here.
      const plotlyBytes = (await Deno.stat(plotlyJsPath()!)).size;
      assert.ok(bytes > plotlyBytes && bytes < plotlyBytes + 200_000, `${bytes} bytes`);

      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      const url = `file://${path}`;
      const requests: string[] = [], errors: string[] = [];
      await page.setRequestInterception(true);
      page.on("request", (req) => {
        if (req.url() === url || req.url().startsWith("data:")) {
          req.continue();
        } else {
          requests.push(req.url());
          req.abort("blockedbyclient");
        }
      });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(url, { waitUntil: "load" });
      // Every figure container holds Plotly's drawn SVG with a trace in it, and the drag layer
      // and event hooks of an interactive plot.
      const drawn = `[...document.querySelectorAll(".fig")].map((d) =>
        !!d.querySelector("svg.main-svg .trace") && !!d.querySelector("svg.main-svg .draglayer") &&
        !!d._fullLayout && typeof d.on === "function")`;
      await page.waitForFunction(`(${drawn}).every((x) => x)`, { timeout: 30_000 }).catch(
        () => {},
      );
      const figures = s.reduce((n, x) => n + x.figures.length, 0);
      assert.deepEqual(await page.evaluate(drawn), Array(figures).fill(true));
      // The mode bar is there, without the button that uploads the figure to Plotly's cloud.
      assert.deepEqual(
        await page.evaluate(`[document.querySelectorAll(".fig .modebar").length,
          document.querySelectorAll(".modebar-btn[data-title^='Share']").length]`),
        [figures, 0],
      );
      assert.deepEqual(requests, []);
      assert.deepEqual(errors, []);
      const shots = join(REPO_ROOT, "results", "screenshots");
      await Deno.mkdir(shots, { recursive: true });
      await page.screenshot({ path: join(shots, "report_page.png") });
    } finally {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});
