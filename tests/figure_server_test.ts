/**
 * The figure server `deno task reproduce` runs for its notebooks: the bytes a kernel gets through
 * it are those of its own Chromium, a server's error reaches the caller, and a server that is
 * gone makes the kernel draw with its own exporter. Loopback only.
 */
import assert from "node:assert/strict";
import { FigureExporter } from "../lib/figures/figure_exporter.ts";
import { remoteFigureExporter, serveFigures } from "../lib/figures/figure_server.ts";
import { chromiumForTests } from "./_chromium.ts";
import type { PlotlyFigure, StaticFigureExporter } from "../lib/plots/plotly.ts";

const { chromium, skip } = await chromiumForTests("figure_server_test");

const FIG: PlotlyFigure = {
  data: [{ type: "bar", x: ["Joint", "GradProm"], y: [22.3, 22.5] }],
  layout: { title: { text: "PSNR" }, width: 320, height: 240 },
};

/** An exporter that never draws: a fallback that must not be used. */
const NO_FALLBACK = (): Promise<StaticFigureExporter> => {
  throw new Error("the fallback exporter was used");
};

Deno.test("a figure server answers each export with the exporter's bytes, one at a time, and its errors", async () => {
  let running = 0, most = 0;
  const exporter = {
    async export(fig: PlotlyFigure, size?: { scale?: number }) {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (fig.layout.title === "broken") throw new Error("Plotly refused the figure");
      const png = new Uint8Array(70_000).map((_, i) => (i * 7 + (size?.scale ?? 0)) % 256);
      return { png, svg: `<svg>${JSON.stringify(fig.data)}</svg>`, size: {} as never };
    },
  };
  const server = serveFigures(exporter);
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const remote = remoteFigureExporter(server.url, NO_FALLBACK);
    const results = await Promise.all([1, 2, 3].map((scale) => remote.export(FIG, { scale })));
    results.forEach((r, k) => {
      assert.deepEqual(r.png, new Uint8Array(70_000).map((_, i) => (i * 7 + k + 1) % 256));
      assert.equal(r.svg, `<svg>${JSON.stringify(FIG.data)}</svg>`);
    });
    assert.equal(most, 1, "exports ran side by side");
    assert.equal(server.exported, 3);
    await assert.rejects(
      () => remote.export({ data: [], layout: { title: "broken" } }),
      /Plotly refused the figure/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("a kernel whose figure server is gone draws with its own exporter", async () => {
  const server = serveFigures({ export: () => Promise.reject(new Error("unused")) });
  const url = server.url;
  await server.close();
  let launched = 0;
  const own: StaticFigureExporter = {
    export: () => Promise.resolve({ png: new Uint8Array([1, 2, 3]), svg: "<svg/>" }),
  };
  const remote = remoteFigureExporter(url, () => {
    launched++;
    return Promise.resolve(own);
  });
  assert.deepEqual((await remote.export(FIG)).png, new Uint8Array([1, 2, 3]));
  assert.deepEqual((await remote.export(FIG)).png, new Uint8Array([1, 2, 3]));
  assert.equal(launched, 1, "the own exporter is launched once");
});

Deno.test({
  name: `figures through the server are the bytes of a local Chromium export${skip}`,
  ignore: chromium === null,
  fn: async () => {
    await using exporter = await FigureExporter.launch({ executablePath: chromium! });
    const local = await exporter.export(FIG, { scale: 1 });
    const server = serveFigures(exporter);
    try {
      const remote = remoteFigureExporter(server.url, NO_FALLBACK);
      const viaServer = await remote.export(FIG, { scale: 1 });
      assert.deepEqual(viaServer.png, local.png);
      assert.equal(viaServer.svg, local.svg);
      // A figure that asks for the network is refused there as it is locally.
      const remoteImage: PlotlyFigure = {
        data: [],
        layout: { images: [{ source: "http://127.0.0.1:9/x.png", x: 0, y: 0 }] },
      };
      await assert.rejects(() => remote.export(remoteImage), /requested/);
    } finally {
      await server.close();
    }
  },
});
