/**
 * Builds figures of the registry and writes each as PNG and SVG: what
 * `deno task figures` does.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../experiments/results_cache.ts";
import type { FigureContext } from "./experiment_results.ts";
import type { FigureExporter } from "./figure_exporter.ts";
import { type FigureSpec, isSingleFigure } from "./registry.ts";

/** One written figure (or panel). */
export interface WrittenFigure {
  /** The figure's id. */
  id: string;
  /** Panel name, or null for a single-figure entry. */
  panel: string | null;
  png: string;
  svg: string;
  /** PNG size in pixels. */
  width: number;
  height: number;
  /** Milliseconds to render both formats. */
  ms: number;
}

/** Options of {@link exportFigures}. */
export interface ExportFiguresOptions {
  /** Output folder (created when missing). */
  outDir: string;
  /** A launched exporter (the caller closes it). */
  exporter: FigureExporter;
  /** Called after each file pair is written (e.g. to print it). */
  onWritten?: (w: WrittenFigure) => void;
}

/**
 * Builds each figure (in order) and writes `<outDir>/<id>.png` and `.svg`, or
 * `<id>-<panel>.png`/`.svg` for each panel of a multi-panel figure.
 *
 * @param specs Figures to export.
 * @param ctx Profile, seeds, data and results cache the figures are built from.
 * @param options Output folder and exporter.
 * @returns What was written, in order.
 * @throws {RangeError} On an id or panel name that is not file-name safe. Whatever a build throws.
 * @example
 * ```ts ignore
 * import { ResultsCache } from "../experiments/results_cache.ts";
 * import { exportFigures } from "./export_figures.ts";
 * import { FigureExporter } from "./figure_exporter.ts";
 * import { FIGURES } from "./registry.ts";
 * await using exporter = await FigureExporter.launch();
 * const ctx = { profile: "quick" as const, seeds: 1, dataRoot: null, cache: new ResultsCache() };
 * await exportFigures([FIGURES["fig1-toy"]], ctx, { outDir: "results/figures", exporter });
 * ```
 */
export async function exportFigures(
  specs: FigureSpec[],
  ctx: FigureContext,
  options: ExportFiguresOptions,
): Promise<WrittenFigure[]> {
  const written: WrittenFigure[] = [];
  for (const spec of specs) {
    _checkName("figure id", spec.id);
    const out = await spec.build(ctx);
    const panels = isSingleFigure(out)
      ? [[null, out] as const]
      : Object.entries(out).map(([k, f]) => [_checkName("panel name", k), f] as const);
    for (const [panel, fig] of panels) {
      const base = join(options.outDir, panel === null ? spec.id : `${spec.id}-${panel}`);
      const t0 = performance.now();
      const r = await options.exporter.export(fig, spec.size);
      const ms = performance.now() - t0;
      await writeFileAtomic(`${base}.png`, r.png);
      await writeFileAtomic(`${base}.svg`, r.svg);
      const w: WrittenFigure = {
        id: spec.id,
        panel,
        png: `${base}.png`,
        svg: `${base}.svg`,
        width: Math.round(r.size.width * r.size.scale),
        height: Math.round(r.size.height * r.size.scale),
        ms,
      };
      written.push(w);
      options.onWritten?.(w);
    }
  }
  return written;
}

function _checkName(what: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new RangeError(`Expected ${what} to match [a-z0-9-]+ but found "${name}"`);
  }
  return name;
}
