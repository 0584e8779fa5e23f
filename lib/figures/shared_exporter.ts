/**
 * One {@link FigureExporter} per process, shared by every figure a notebook
 * kernel or a script displays: launched on the first figure, reused after,
 * and closed when the process ends. It never keeps the process alive: its
 * child process and pipes are unref'd, a script that runs out of work closes it
 * from `beforeunload`, and `unload` kills whatever is left.
 *
 * @module
 */
import type { FigureExporter } from "./figure_exporter.ts";

let _shared: Promise<FigureExporter> | undefined;
let _launched: FigureExporter | undefined;
let _handlersAdded = false;
let _closing = false;

/**
 * The process's shared exporter, launched on first use. A failed launch (no
 * Chromium, no font) is remembered: later calls reject with the same error
 * and do not try again.
 *
 * @returns The ready exporter.
 * @throws {ChromiumNotFoundError} When there is no Chromium; any launch error otherwise.
 * @example
 * ```ts ignore
 * import { sharedFigureExporter } from "./shared_exporter.ts";
 * const { png } = await (await sharedFigureExporter()).export(
 *   { data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} },
 * );
 * console.log(png.length > 0); // true
 * ```
 */
export function sharedFigureExporter(): Promise<FigureExporter> {
  _shared ??= _launch();
  return _shared;
}

async function _launch(): Promise<FigureExporter> {
  const { FigureExporter } = await import("./figure_exporter.ts");
  const exporter = await FigureExporter.launch();
  exporter.unref();
  _launched = exporter;
  if (!_handlersAdded) {
    _handlersAdded = true;
    // beforeunload fires when the event loop has run dry. Chromium's pipes are unref'd, so a
    // timer keeps the loop alive until the close has finished; then the loop runs dry again,
    // and the process ends.
    globalThis.addEventListener("beforeunload", () => {
      const e = _launched;
      if (!e || _closing) return;
      _closing = true;
      const keepAlive = setInterval(() => {}, 1000);
      e.close().then(() => {
        if (_launched === e) _launched = undefined;
      }, () => {}).finally(() => clearInterval(keepAlive));
    });
    // On Deno.exit(), or if the close did not finish: kill Chromium and remove its profile.
    globalThis.addEventListener("unload", () => {
      _launched?.killSync();
      _launched = undefined;
    });
  }
  return exporter;
}
