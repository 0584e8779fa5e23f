import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { figureBundle, type PlotlyFigure } from "./plotly.ts";
import { ChromiumNotFoundError, findChromium } from "../figures/find_chromium.ts";

const FIG: PlotlyFigure = {
  data: [{ type: "bar", name: "psnr", x: ["Joint", "GradProm"], y: [30.5, 31.25] }],
  layout: { title: { text: "PSNR" }, width: 300, height: 200 },
};
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

Deno.test("figureBundle() orders Plotly JSON, PNG, then the numbers as text", async () => {
  const fake = () =>
    Promise.resolve({
      export: () => Promise.resolve({ png: new Uint8Array([1, 2, 255]), svg: "<svg></svg>" }),
    });
  const bundle = await figureBundle(FIG, undefined, fake);
  // No text/html or SVG: classic Notebook and nbconvert would show those instead of the PNG.
  assert.deepEqual(Object.keys(bundle), [
    "application/vnd.plotly.v1+json",
    "image/png",
    "text/plain",
  ]);
  assert.equal(bundle["application/vnd.plotly.v1+json"], FIG);
  assert.equal(bundle["image/png"], "AQL/");
  assert.equal(bundle["text/plain"], "PSNR\npsnr: Joint = 30.5000\npsnr: GradProm = 31.2500");
});

Deno.test("figureBundle() without Chromium says so in text/html and keeps the table", async () => {
  const missing = () => Promise.reject(new ChromiumNotFoundError(["/nonexistent/chromium"]));
  const bundle = await figureBundle(FIG, undefined, missing);
  assert.deepEqual(Object.keys(bundle), ["application/vnd.plotly.v1+json", "text/html"]);
  const html = String(bundle["text/html"]);
  assert.match(
    html,
    /^<p><i>No static image of this chart: they could not be drawn: Figure export needs Chromium, but none was found \(tried \/nonexistent\/chromium\)\. As root run: apt-get install -y --no-install-recommends chromium fonts-dejavu-core/,
  );
  assert.match(html, /<td>Joint<\/td><td>30\.5000<\/td>/);
  // A custom fallback is kept after the sentence too.
  const custom = await figureBundle(FIG, "<p>grid</p>", missing);
  assert.match(String(custom["text/html"]), /^<p><i>No static image[^\n]*\n<p>grid<\/p>$/);
  // Turned off: the sentence names the switch.
  const off = await figureBundle(FIG, undefined, null);
  assert.match(
    String(off["text/html"]),
    /static images are turned off \(GRADPROM_STATIC_FIGURES=0\)/,
  );
});

const chromium = await findChromium({ throwIfMissing: false }).catch(() => null);
const skip = chromium
  ? ""
  : " (skipped: no Chromium; as root: apt-get install chromium fonts-dejavu-core)";

Deno.test({
  name: `plotly() draws a PNG with one shared Chromium that does not keep the process alive${skip}`,
  ignore: !chromium,
  async fn() {
    // In a child process, as a kernel or a script would: two figures, one Chromium, then the
    // process must end by itself, leaving no Chromium and no profile folder behind.
    const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
    const tmp = await Deno.makeTempDir({ prefix: "gradprom-plotly-test-" });
    try {
      const script = `
        import { JUPYTER_DISPLAY, plotly } from ${
        JSON.stringify(join(root, "lib/plots/plotly.ts"))
      };
        const fig = ${JSON.stringify(FIG)};
        const a = await plotly(fig)[JUPYTER_DISPLAY]();
        const b = await plotly(fig)[JUPYTER_DISPLAY]();
        console.log(JSON.stringify({ keys: Object.keys(a), png: a["image/png"], same: a["image/png"] === b["image/png"] }));
      `;
      const t0 = performance.now();
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--config", join(root, "deno.json"), script],
        env: { TMPDIR: tmp, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const seconds = (performance.now() - t0) / 1000;
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(r.keys, ["application/vnd.plotly.v1+json", "image/png", "text/plain"]);
      const png = Uint8Array.from(atob(r.png), (c) => c.charCodeAt(0));
      assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
      assert.ok(r.same, "the same figure drew different PNGs");
      assert.ok(seconds < 60, `the process took ${seconds.toFixed(1)} s to end`);
      // The profile folder (made under TMPDIR) is gone, so Chromium was closed.
      assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), []);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
