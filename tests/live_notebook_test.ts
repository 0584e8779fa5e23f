/**
 * The notebooks in a real front end: Debian's classic Jupyter Notebook served on loopback with
 * the project's Deno kernelspec, driven by headless Chromium the way a reader uses it. For the
 * Fig. 1 notebook and the Table 1 notebook (smoke profile, one seed, through the notebooks'
 * environment parameters) the page runs every cell ("Run All"), waits until every cell has run
 * and the kernel is idle, and checks what the page shows: no error output, every code cell with
 * some output, and every chart cell (a `plotly(` call) drawn as a picture. A full-page screenshot
 * of each is saved under `results/screenshots/`. The notebook files are never written (autosave
 * off, nothing saved; their bytes are compared before and after).
 *
 * Ignored, with the reason and the Debian package in its name, without `jupyter-notebook`,
 * Chromium or Jupyter's executor packages.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import puppeteer, { type Page } from "puppeteer-core";
import { REPO_ROOT } from "../lib/experiments/results_cache.ts";
import { CHROMIUM_FLAGS } from "../lib/figures/figure_exporter.ts";
import { findChromium } from "../lib/figures/find_chromium.ts";
import { checkNotebookTooling } from "../lib/notebook/execute_notebook.ts";
import { writeDenoKernelspec } from "../lib/notebook/kernelspec.ts";
import { cellSource, notebookPath, readCells } from "./_notebook_testing.ts";

const NOTEBOOKS = ["fig1_gradient_promotion", "table1_isic_denoise"];
const SCREENSHOTS = join(REPO_ROOT, "results", "screenshots");

async function _jupyterNotebook(): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat("/usr/bin")) {
    const path = join(dir, "jupyter-notebook");
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

const server = await _jupyterNotebook();
const chromium = await findChromium({ throwIfMissing: false });
const tooling = await checkNotebookTooling();
const missing = [
  ...(server ? [] : ["jupyter-notebook (Debian package jupyter-notebook)"]),
  ...(chromium ? [] : ["Chromium (Debian package chromium)"]),
  ...tooling.missing,
];

async function _sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

function _freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts Jupyter Notebook on 127.0.0.1 and waits until its API answers. */
async function _startServer(tmp: string) {
  const port = _freePort();
  const token = crypto.randomUUID().replaceAll("-", "");
  const jupyterPath = await writeDenoKernelspec(join(tmp, "kernelspec"));
  const child = new Deno.Command(server!, {
    args: [
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--port-retries=0",
      "--no-browser",
      `--notebook-dir=${join(REPO_ROOT, "notebooks")}`,
      `--NotebookApp.token=${token}`,
      ...(Deno.uid() === 0 ? ["--allow-root"] : []),
    ],
    env: {
      JUPYTER_PATH: jupyterPath,
      JUPYTER_CONFIG_DIR: join(tmp, "config"),
      JUPYTER_RUNTIME_DIR: join(tmp, "runtime"),
      IPYTHONDIR: join(tmp, "ipython"),
      PYTHONDONTWRITEBYTECODE: "1",
      GRADPROM_PROFILE: "smoke",
      GRADPROM_SEEDS: "1",
      GRADPROM_CACHE: join(tmp, "cache"),
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // The server's log, for the message when it does not come up (and drained so it never blocks).
  let log = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + chunk).slice(-4000);
    }
  })();
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/api/kernelspecs?token=${token}`);
      const specs = await r.json() as { kernelspecs: Record<string, unknown> };
      assert.ok("deno" in specs.kernelspecs, `kernelspecs: ${Object.keys(specs.kernelspecs)}`);
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill("SIGTERM");
        throw new Error(
          `Jupyter Notebook did not answer on ${base} within 60 s: ${e}\n${log.slice(-1500)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { child, base, token };
}

/** What the page shows after Run All, per code cell. */
interface _CellView {
  source: string;
  /** The cell's execution count, and those of the execute results it shows. */
  count: number;
  resultCounts: number[];
  outputs: number;
  images: number;
  errors: string[];
}

async function _runAll(page: Page, timeoutMs: number): Promise<_CellView[]> {
  await page.waitForFunction(
    () => {
      // deno-lint-ignore no-explicit-any
      const nb = (globalThis as any).Jupyter?.notebook;
      // deno-lint-ignore no-explicit-any
      const doc = (globalThis as any).document;
      return nb?.kernel?.is_connected?.() &&
        doc.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null;
    },
    { timeout: 120_000, polling: 500 },
  );
  await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const nb = (globalThis as any).Jupyter.notebook;
    nb.set_autosave_interval(0); // the notebook file is never written
    nb.execute_all_cells();
  });
  await page.waitForFunction(
    () => {
      // deno-lint-ignore no-explicit-any
      const nb = (globalThis as any).Jupyter.notebook;
      // deno-lint-ignore no-explicit-any
      const code = nb.get_cells().filter((c: any) => c.cell_type === "code");
      // deno-lint-ignore no-explicit-any
      const doc = (globalThis as any).document;
      return code.every((c: { input_prompt_number: unknown }) =>
        typeof c.input_prompt_number === "number"
      ) && doc.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null;
    },
    { timeout: timeoutMs, polling: 1000 },
  );
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const nb = (globalThis as any).Jupyter.notebook;
    // deno-lint-ignore no-explicit-any
    return nb.get_cells().filter((c: any) => c.cell_type === "code").map((c: any) => ({
      source: c.get_text() as string,
      count: c.input_prompt_number as number,
      resultCounts: c.output_area.outputs
        .filter((o: { output_type: string }) => o.output_type === "execute_result")
        .map((o: { execution_count: number }) => o.execution_count) as number[],
      outputs: c.output_area.outputs.length as number,
      images: c.element[0].querySelectorAll(".output_area img").length as number,
      errors: c.output_area.outputs
        .filter((o: { output_type: string }) => o.output_type === "error")
        .map((o: { ename: string; evalue: string }) => `${o.ename}: ${o.evalue}`) as string[],
    }));
  });
}

Deno.test({
  name: "live notebooks: Jupyter Notebook on loopback, driven by Chromium, runs Fig. 1 and " +
    "Table 1 with every chart drawn and no error" +
    (missing.length ? ` (ignored: missing ${missing.join(", ")})` : ""),
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-live-nb-" });
    const before = new Map<string, string>();
    for (const name of NOTEBOOKS) before.set(name, await _sha256(notebookPath(name)));
    const { child, base, token } = await _startServer(tmp);
    const browser = await puppeteer.launch({
      executablePath: chromium!,
      headless: true,
      userDataDir: join(tmp, "chromium"),
      // The exporter's flags, but the loopback server must resolve (nothing else does).
      args: CHROMIUM_FLAGS.map((f) =>
        f.startsWith("--host-resolver-rules=") ? `${f}, EXCLUDE 127.0.0.1` : f
      ),
    });
    try {
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      for (const name of NOTEBOOKS) {
        await t.step(name, async () => {
          const page = await browser.newPage();
          await page.setViewport({ width: 1280, height: 900 });
          // Leaving the page must not ask about unsaved changes.
          page.on("dialog", (d) => void d.accept());
          try {
            await page.goto(`${base}/notebooks/${name}.ipynb?token=${token}`, {
              waitUntil: "load",
              timeout: 120_000,
            });
            const cells = await _runAll(page, 480_000);
            // Classic Notebook scrolls inside #site: let the page grow so the screenshot holds it all.
            await page.evaluate(() => {
              // deno-lint-ignore no-explicit-any
              const doc = (globalThis as any).document;
              doc.body.style.overflow = "visible";
              doc.body.style.height = "auto";
              const site = doc.querySelector("#site");
              if (site) Object.assign(site.style, { height: "auto", overflow: "visible" });
            });
            await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
            const expected = (await readCells(notebookPath(name)))
              .filter((c) => c.cell_type === "code").map(cellSource);
            assert.equal(cells.length, expected.length, "code cells on the page");
            for (const [i, c] of cells.entries()) {
              assert.deepEqual(c.errors, [], `cell ${i} shows an error`);
              // Another cell's result here is the kernel's late output landing on the next cell.
              assert.ok(
                c.resultCounts.every((n) => n === c.count),
                `cell ${i} (In [${c.count}]) shows the result of In [${c.resultCounts}]`,
              );
              assert.ok(c.outputs > 0, `cell ${i} shows nothing:\n${c.source.slice(0, 200)}`);
              const charts = c.source.split("plotly(").length - 1;
              assert.ok(
                c.images >= charts,
                `cell ${i} draws ${charts} chart(s) but shows ${c.images} image(s)`,
              );
            }
            const charts = cells.reduce((n, c) => n + c.source.split("plotly(").length - 1, 0);
            assert.ok(charts > 0, `${name} shows no chart`);
            // Shut the kernel down through the page's own session.
            await page.evaluate(() =>
              // deno-lint-ignore no-explicit-any
              (globalThis as any).Jupyter.notebook.session.delete()
            );
          } finally {
            await page.close();
          }
          assert.equal(
            await _sha256(notebookPath(name)),
            before.get(name),
            `${name}.ipynb written`,
          );
        });
      }
    } finally {
      await browser.close();
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
