/**
 * Static export of Plotly figures (PNG and SVG) through headless Chromium.
 *
 * Plotly can only lay out and rasterise a figure in a real browser (DOM shims
 * fail on real figures), so this drives Debian's `chromium` with
 * `puppeteer-core` over a pipe (nothing listens on any port), loads
 * `plotly.min.js` from `node_modules/` into a local page with every network
 * request refused, and calls `Plotly.toImage`. Output is deterministic byte for
 * byte: a fixed size and scale, one font family, and `Math.random` reseeded
 * before each figure (Plotly uses it for the ids of SVG clip paths).
 *
 * @module
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import type { PlotlyFigure } from "../plots/plotly.ts";
import { findChromium } from "./find_chromium.ts";

/** Options of {@link FigureExporter.launch}. */
export interface FigureExporterOptions {
  /** Chromium executable (default: {@link findChromium}). */
  executablePath?: string;
  /** Font family of every figure that does not set `layout.font.family` (default `"DejaVu Sans"`). */
  fontFamily?: string;
  /** Seed of the page's `Math.random`, reset before each figure (default 0). */
  seed?: number;
  /** Milliseconds one browser call may take before it fails (default 120000). */
  timeoutMs?: number;
}

/** Size of an exported figure, in CSS pixels; the PNG has `width·scale × height·scale` pixels. */
export interface ExportSize {
  width?: number;
  height?: number;
  /**
   * PNG pixels per CSS pixel (default 2). The SVG's `width`/`height` are scaled
   * too, its `viewBox` stays `0 0 width height`.
   */
  scale?: number;
}

/** One exported figure. */
export interface ExportedFigure {
  png: Uint8Array;
  svg: string;
  /** The size used, with defaults filled in. */
  size: Required<ExportSize>;
}

/** Default width when neither the call nor `layout.width` gives one. */
export const DEFAULT_WIDTH = 900;
/** Default height when neither the call nor `layout.height` gives one. */
export const DEFAULT_HEIGHT = 600;
/** Default PNG scale. */
export const DEFAULT_SCALE = 2;

/** Chromium flags: headless, no GPU, and none of its background network traffic. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-default-apps",
  "--mute-audio",
  "--font-render-hinting=none",
  // Belt and braces with the request interception below: no host name resolves.
  "--host-resolver-rules=MAP * ~NOTFOUND",
];

/**
 * One headless Chromium with Plotly loaded, exporting figures one at a time.
 * Launch once, export many, then `close()` (or `await using`).
 *
 * @example
 * ```ts ignore
 * import { FigureExporter } from "./figure_exporter.ts";
 * await using exporter = await FigureExporter.launch();
 * const { png, svg } = await exporter.export(
 *   { data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: {} },
 *   { width: 400, height: 300, scale: 1 },
 * );
 * console.log(png.length > 0, svg.startsWith("<svg")); // true true
 * ```
 */
export class FigureExporter {
  #blocked: string[] = [];

  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly userDataDir: string,
    private readonly options: Required<Omit<FigureExporterOptions, "executablePath">>,
  ) {}

  /**
   * Starts Chromium and loads Plotly into a blank local page: about 4 s on
   * an idle 2-core machine, up to 15 s on a busy one (parsing the 4.6 MB
   * `plotly.min.js` dominates).
   *
   * @param options See {@link FigureExporterOptions}.
   * @returns A ready exporter.
   * @throws {ChromiumNotFoundError} When there is no Chromium (the message says what to install).
   */
  static async launch(options: FigureExporterOptions = {}): Promise<FigureExporter> {
    const executablePath = options.executablePath ?? (await findChromium())!;
    const userDataDir = await mkdtemp(join(tmpdir(), "gradprom-chromium-"));
    const timeoutMs = options.timeoutMs ?? 120_000;
    let browser: Browser | undefined;
    try {
      browser = await puppeteer.launch({
        executablePath,
        headless: true,
        pipe: true,
        userDataDir,
        args: [...CHROMIUM_FLAGS],
        protocolTimeout: timeoutMs,
        timeout: timeoutMs,
      });
      const page = await browser.newPage();
      page.setDefaultTimeout(timeoutMs);
      const exporter = new FigureExporter(browser, page, userDataDir, {
        fontFamily: options.fontFamily ?? "DejaVu Sans",
        seed: options.seed ?? 0,
        timeoutMs,
      });
      await exporter.#loadPlotly();
      return exporter;
    } catch (e) {
      await browser?.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Plotly.js's version in the page. */
  plotlyVersion(): Promise<string> {
    return this.page.evaluate(() => (globalThis as unknown as _PageGlobals).Plotly.version);
  }

  /**
   * Renders one figure to PNG and SVG.
   *
   * Size: `size.width`/`size.height`, else the figure's `layout.width`/`layout.height`,
   * else {@link DEFAULT_WIDTH} × {@link DEFAULT_HEIGHT}; `scale` defaults to {@link DEFAULT_SCALE}.
   *
   * @param fig The figure (not modified).
   * @param size Size and PNG scale.
   * @returns The PNG bytes, the SVG text and the size used.
   * @throws {RangeError} On a non-positive size. {Error} When the figure requests anything over the network.
   */
  async export(fig: PlotlyFigure, size: ExportSize = {}): Promise<ExportedFigure> {
    const used = _resolveSize(fig, size);
    const prepared = _withFont(fig, this.options.fontFamily);
    const blockedBefore = this.#blocked.length;
    const { png, svg } = await this.page.evaluate(
      async (f, s, seed) => {
        const g = globalThis as unknown as _PageGlobals;
        const render = async (format: "png" | "svg") => {
          g.__seedRandom(seed);
          return await g.Plotly.toImage(f, { format, ...s, imageDataOnly: true });
        };
        return { png: await render("png"), svg: await render("svg") };
      },
      prepared as unknown as Record<string, unknown>,
      used,
      this.options.seed,
    );
    const blocked = this.#blocked.slice(blockedBefore);
    if (blocked.length) {
      throw new Error(
        `Figure "${_title(fig)}" requested ${blocked.join(", ")}; figures are exported without ` +
          `network, so everything they need must be in the figure itself`,
      );
    }
    return { png: _base64ToBytes(png), svg, size: used };
  }

  /** Closes Chromium and removes its profile folder. */
  async close(): Promise<void> {
    try {
      await this.browser.close();
    } finally {
      await rm(this.userDataDir, { recursive: true, force: true });
    }
  }

  /**
   * Lets this process exit while Chromium still runs: unrefs Chromium's child
   * process and its pipes, so an idle exporter keeps no event loop alive (a
   * kernel or a script that ends closes it from an exit handler instead).
   */
  unref(): void {
    const proc = this.browser.process() as unknown as _Unrefable & { stdio?: unknown[] } | null;
    proc?.unref?.();
    for (const s of proc?.stdio ?? []) (s as _Unrefable | null)?.unref?.();
  }

  /**
   * Ends Chromium at once, synchronously (SIGKILL), and removes its profile
   * folder: for `unload` handlers, where nothing async runs.
   */
  killSync(): void {
    try {
      this.browser.process()?.kill("SIGKILL");
    } catch { /* already gone */ }
    try {
      Deno.removeSync(this.userDataDir, { recursive: true });
    } catch { /* already removed */ }
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #loadPlotly(): Promise<void> {
    // The page and Plotly are files in the profile folder; every other request (network or
    // another local file) is refused and recorded.
    const js = await readFile(_plotlyPath(), "utf8");
    await writeFile(join(this.userDataDir, "plotly.min.js"), js);
    const html = join(this.userDataDir, "index.html");
    await writeFile(
      html,
      `<!doctype html><html><head><meta charset="utf-8"><script>${_SEEDED_RANDOM}</script>` +
        `<script src="plotly.min.js"></script></head><body></body></html>`,
    );
    await this.page.setRequestInterception(true);
    this.page.on("request", (req) => {
      const url = req.url();
      const own = url.startsWith(`file://${this.userDataDir}/`);
      if (own || url.startsWith("data:") || url === "about:blank") {
        req.continue();
      } else {
        this.#blocked.push(url);
        req.abort("blockedbyclient");
      }
    });
    await this.page.goto(`file://${html}`, { waitUntil: "load" });
    const ok = await this.page.evaluate(() =>
      typeof (globalThis as unknown as _PageGlobals).Plotly?.toImage === "function"
    );
    if (!ok) throw new Error(`Plotly did not load from ${_plotlyPath()}`);
    await this.#checkFont();
  }

  /**
   * Is a font family installed for this Chromium? (The usual width test: text
   * in the family, with two different fallbacks, must differ from the
   * fallbacks alone.)
   *
   * @param family A CSS font family name.
   * @returns True when Chromium draws with it.
   */
  fontInstalled(family: string): Promise<boolean> {
    return this.page.evaluate((fam) => {
      const ctx = (globalThis as unknown as _PageGlobals).document.createElement("canvas")
        .getContext("2d");
      const width = (font: string) => {
        ctx.font = `40px ${font}`;
        return ctx.measureText("mmmmmmmmmmlli WQ@#0σθ").width;
      };
      return ["monospace", "serif"].some((fb) => width(`"${fam}", ${fb}`) !== width(fb));
    }, family);
  }

  /**
   * Fails when the figures' font family is not installed: Chromium would
   * silently draw with another one, and the output would depend on the machine.
   */
  async #checkFont(): Promise<void> {
    const family = this.options.fontFamily;
    if (!(await this.fontInstalled(family))) {
      throw new Error(
        `Font "${family}" is not installed for Chromium` +
          (family === "DejaVu Sans"
            ? "; as root run: apt-get install -y --no-install-recommends fonts-dejavu-core"
            : ""),
      );
    }
  }
}

/** A Node handle that can stop keeping the event loop alive. */
interface _Unrefable {
  unref?: () => void;
}

/** What the page defines. */
interface _PageGlobals {
  Plotly: {
    version: string;
    toImage(fig: unknown, opts: Record<string, unknown>): Promise<string>;
  };
  __seedRandom(seed: number): void;
  /** The little of the DOM used here (Deno's types have no DOM). */
  document: {
    createElement(tag: "canvas"): {
      getContext(kind: "2d"): { font: string; measureText(text: string): { width: number } };
    };
  };
}

/** Replaces the page's Math.random with a seedable mulberry32 (a few lines; no library needed in the page). */
const _SEEDED_RANDOM = `(() => {
  let a = 0;
  globalThis.__seedRandom = (s) => { a = s >>> 0; };
  Math.random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();`;

/** The path of `plotly.min.js` of the pinned `plotly.js-dist-min`. */
function _plotlyPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

function _resolveSize(fig: PlotlyFigure, size: ExportSize): Required<ExportSize> {
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const used = {
    width: size.width ?? num(fig.layout.width) ?? DEFAULT_WIDTH,
    height: size.height ?? num(fig.layout.height) ?? DEFAULT_HEIGHT,
    scale: size.scale ?? DEFAULT_SCALE,
  };
  for (const [k, v] of Object.entries(used)) {
    if (!(Number.isFinite(v) && v > 0)) {
      throw new RangeError(`Expected ${k} to be a positive number but found ${v}`);
    }
  }
  return used;
}

function _withFont(fig: PlotlyFigure, family: string): PlotlyFigure {
  const font = (fig.layout.font ?? {}) as Record<string, unknown>;
  return { data: fig.data, layout: { ...fig.layout, font: { family, ...font } } };
}

function _title(fig: PlotlyFigure): string {
  const t = fig.layout.title as { text?: string } | string | undefined;
  return (typeof t === "string" ? t : t?.text) ?? "(untitled)";
}

function _base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64.replace(/^data:[^,]*,/, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
