/**
 * Static figure export through headless Chromium: deterministic bytes, the
 * expected PNG size, file naming of `exportFigures`. Skipped (with the reason
 * in the test name) when Chromium is not installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { ResultsCache } from "../lib/experiments/results_cache.ts";
import { exportFigures } from "../lib/figures/export_figures.ts";
import { FigureExporter } from "../lib/figures/figure_exporter.ts";
import { ChromiumNotFoundError, findChromium } from "../lib/figures/find_chromium.ts";
import { chromiumForTests } from "./_chromium.ts";
import type { FigureSpec } from "../lib/figures/registry.ts";
import type { PlotlyFigure } from "../lib/plots/plotly.ts";

const { chromium, skip } = await chromiumForTests("figures_test");

/** Small, but with what makes SVG output random without a seeded Math.random: clip paths. */
const small: PlotlyFigure = {
  data: [
    { type: "bar", name: "a", x: ["σ = 0.1", "σ = 0.2"], y: [1, 2] },
    { type: "scatter", mode: "lines", name: "b", x: ["σ = 0.1", "σ = 0.2"], y: [1.5, 0.5] },
  ],
  layout: { title: { text: "Small figure" }, yaxis2: { overlaying: "y", side: "right" } },
};
const other: PlotlyFigure = {
  data: [{ type: "contour", z: [[1, 2], [3, 4]], showscale: false }],
  layout: { title: { text: "Another" } },
};

Deno.test({
  name: `FigureExporter exports deterministic PNG and SVG at the requested size${skip}`,
  ignore: chromium === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using exporter = await FigureExporter.launch({ executablePath: chromium! });
    const size = { width: 320, height: 240, scale: 1.5 };

    await t.step("export() twice (another figure between) is byte-identical", async () => {
      const a = await exporter.export(small, size);
      await exporter.export(other, size);
      const b = await exporter.export(small, size);
      assert.ok(a.png.length > 1000);
      assert.deepEqual(a.png, b.png);
      assert.equal(a.svg, b.svg);
      // Plotly scales the SVG's own size and keeps the CSS size as its viewBox.
      assert.match(a.svg, /^<svg [^>]*width="480" height="360"[^>]*viewBox="0 0 320 240"/);
      assert.match(a.svg, /font-family: 'DejaVu Sans'/);
    });

    await t.step("the PNG decodes with sharp to width·scale × height·scale", async () => {
      const { png } = await exporter.export(small, size);
      const meta = await sharp(png).metadata();
      assert.equal(meta.format, "png");
      assert.equal(meta.width, 480);
      assert.equal(meta.height, 360);
      const stats = await sharp(png).stats();
      // Not blank: some channel varies.
      assert.ok(stats.channels.some((c) => c.max - c.min > 100));
    });

    await t.step("fontInstalled() tells an installed family from a missing one", async () => {
      assert.equal(await exporter.fontInstalled("DejaVu Sans"), true);
      assert.equal(await exporter.fontInstalled("No Such Font 123"), false);
    });

    await t.step("a figure that requests the network fails, naming the URL", async () => {
      const remote: PlotlyFigure = {
        data: [{ type: "scatter", x: [0], y: [0] }],
        layout: {
          images: [{ source: "http://192.0.2.1/x.png", x: 0, y: 0, sizex: 1, sizey: 1 }],
        },
      };
      await assert.rejects(
        () => exporter.export(remote, size),
        /requested http:\/\/192\.0\.2\.1\/x\.png/,
      );
      const local: PlotlyFigure = {
        data: [{ type: "scatter", x: [0], y: [0] }],
        layout: { images: [{ source: "file:///etc/hostname", x: 0, y: 0, sizex: 1, sizey: 1 }] },
      };
      await assert.rejects(
        () => exporter.export(local, size),
        /requested file:\/\/\/etc\/hostname/,
      );
    });

    await t.step("exportFigures() writes <id>.png/.svg and <id>-<panel>.png/.svg", async () => {
      const dir = await Deno.makeTempDir();
      try {
        const specs: FigureSpec[] = [
          {
            id: "one",
            title: "One figure",
            experiments: [],
            size,
            build: () => Promise.resolve(small),
          },
          {
            id: "two",
            title: "Two panels",
            experiments: [],
            size,
            build: () => Promise.resolve({ left: small, right: other }),
          },
        ];
        const ctx = {
          profile: "smoke" as const,
          seeds: 1,
          dataRoot: null,
          cache: new ResultsCache(dir),
        };
        const written = await exportFigures(specs, ctx, { outDir: dir, exporter });
        assert.deepEqual(written.map((w) => [w.id, w.panel, w.width, w.height]), [
          ["one", null, 480, 360],
          ["two", "left", 480, 360],
          ["two", "right", 480, 360],
        ]);
        const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
        assert.deepEqual(files, [
          "one.png",
          "one.svg",
          "two-left.png",
          "two-left.svg",
          "two-right.png",
          "two-right.svg",
        ]);
        assert.deepEqual(
          await Deno.readFile(join(dir, "one.png")),
          await Deno.readFile(join(dir, "two-left.png")),
        );
        await assert.rejects(
          () =>
            exportFigures(
              [{ ...specs[1], build: () => Promise.resolve({ "Bad Name": small }) }],
              ctx,
              { outDir: dir, exporter },
            ),
          /Expected panel name to match \[a-z0-9-\]\+ but found "Bad Name"/,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test("findChromium() with a CHROMIUM_PATH that does not exist says what to install", async () => {
  const before = Deno.env.get("CHROMIUM_PATH");
  Deno.env.set("CHROMIUM_PATH", "/nonexistent/chromium");
  try {
    await assert.rejects(() => findChromium({ throwIfMissing: false }), (e: Error) => {
      assert.ok(e instanceof ChromiumNotFoundError);
      assert.match(e.message, /tried \/nonexistent\/chromium/);
      assert.match(
        e.message,
        /apt-get install -y --no-install-recommends chromium fonts-dejavu-core/,
      );
      return true;
    });
  } finally {
    if (before === undefined) Deno.env.delete("CHROMIUM_PATH");
    else Deno.env.set("CHROMIUM_PATH", before);
  }
});
