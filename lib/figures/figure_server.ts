/**
 * One headless Chromium for many processes: a loopback HTTP server in front of a
 * {@link FigureExporter}, and the exporter that notebook kernels use to reach it.
 *
 * Each process that shows a figure otherwise starts its own Chromium and parses Plotly
 * (`FigureExporter.launch`: about 4 s on an idle 2-core machine, more on a busy one), once per
 * notebook. `deno task reproduce` executes twelve notebooks: it starts one exporter, serves it
 * on `127.0.0.1` and hands the kernels its address in {@link FIGURE_SERVER_ENV}; their figures
 * come back with the bytes their own Chromium would draw (the same exporter code, seed and
 * font). A kernel that cannot reach the server starts its own Chromium, as without it.
 *
 * @module
 */
import type { PlotlyFigure, StaticFigureExporter } from "../plots/plotly.ts";
import type { ExportSize, FigureExporter } from "./figure_exporter.ts";

/** The environment variable with the address of a figure server (`http://127.0.0.1:PORT`). */
export const FIGURE_SERVER_ENV = "GRADPROM_FIGURE_SERVER";

/** A running figure server. */
export interface FigureServer {
  /** `http://127.0.0.1:PORT`, for {@link FIGURE_SERVER_ENV}. */
  url: string;
  /** Figures exported so far. */
  readonly exported: number;
  /** Stops serving (the exporter stays open: its owner closes it). */
  close(): Promise<void>;
}

/** What a request asks for and a response carries (JSON). */
interface _Request {
  fig: PlotlyFigure;
  size?: ExportSize;
}
interface _Response {
  png?: string;
  svg?: string;
  error?: string;
}

/**
 * Serves `exporter` on a free loopback port: `POST /export` with `{fig, size}` answers
 * `{png (base64), svg}`, or `{error}` with status 500 when the export fails. Exports run one at
 * a time (the exporter has one page, and each export resets its seeded `Math.random`).
 *
 * @param exporter A launched exporter (the caller closes it after the server).
 * @returns The server's address and `close`.
 */
export function serveFigures(exporter: Pick<FigureExporter, "export">): FigureServer {
  let queue: Promise<unknown> = Promise.resolve();
  let exported = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/export") {
        return new Response("Expected POST /export\n", { status: 404 });
      }
      let body: _Request;
      try {
        body = await req.json();
      } catch (e) {
        return _json({ error: `Expected a JSON body: ${(e as Error).message}` }, 400);
      }
      const job = queue.then(() => exporter.export(body.fig, body.size ?? {}));
      queue = job.catch(() => {});
      try {
        const { png, svg } = await job;
        exported++;
        return _json({ png: _base64(png), svg }, 200);
      } catch (e) {
        return _json({ error: (e as Error).message }, 500);
      }
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}`,
    get exported() {
      return exported;
    },
    close: () => server.shutdown(),
  };
}

/**
 * An exporter that asks the figure server at `url`. An export the server could not do fails
 * with the server's message (as a local export would); a server that cannot be reached (gone,
 * refused) makes this and every later export use `fallback()` instead, once.
 *
 * @param url The server's address ({@link FIGURE_SERVER_ENV}).
 * @param fallback The exporter to use when the server cannot be reached (launched on demand).
 * @returns A {@link StaticFigureExporter}.
 */
export function remoteFigureExporter(
  url: string,
  fallback: () => Promise<StaticFigureExporter>,
): StaticFigureExporter {
  let local: Promise<StaticFigureExporter> | undefined;
  return {
    async export(fig, size) {
      if (local) return await (await local).export(fig, size);
      let res: Response;
      try {
        res = await fetch(`${url}/export`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ fig, size }),
        });
      } catch {
        local ??= fallback();
        return await (await local).export(fig, size);
      }
      const out = await res.json() as _Response;
      if (!res.ok || out.png === undefined || out.svg === undefined) {
        throw new Error(out.error ?? `figure server ${url}: HTTP ${res.status}`);
      }
      return { png: _bytes(out.png), svg: out.svg };
    },
  };
}

function _json(body: _Response, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function _base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function _bytes(base64: string): Uint8Array {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
