/**
 * Rich display of Markdown and HTML in notebooks on the Deno kernel, without
 * depending on `Deno.jupyter` (so library code also runs outside a kernel).
 *
 * @module
 */
import { type Displayable, JUPYTER_DISPLAY } from "./plotly.ts";

/**
 * A Markdown block (with an HTML twin where given) that a notebook cell displays
 * when it is the cell's value or passed to `Deno.jupyter.display`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdown } from "./display.ts";
 * import { JUPYTER_DISPLAY } from "./plotly.ts";
 * const m = markdown("**bold**");
 * assert.equal(m[JUPYTER_DISPLAY]()["text/markdown"], "**bold**");
 * ```
 */
export function markdown(md: string, html?: string): Displayable & { toString(): string } {
  return {
    [JUPYTER_DISPLAY]() {
      return html
        ? { "text/markdown": md, "text/html": html, "text/plain": md }
        : { "text/markdown": md, "text/plain": md };
    },
    toString: () => md,
  };
}

/** How long {@link show} lets the kernel send what it queued (see there), in milliseconds. */
export const SHOW_SETTLE_MS = 50;

/** `Deno.jupyter.display` inside the Deno kernel; undefined elsewhere (reading it throws there). */
function _kernelDisplay(): ((v: unknown) => Promise<void>) | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: { display?: (v: unknown) => Promise<void> } })
      .jupyter;
    return typeof j?.display === "function" ? (v) => j.display!(v) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Shows each value in the notebook, in order, and returns once the kernel has sent it: the way
 * a cell displays its results (`await show(plotly(fig))`, `await show(params)`).
 *
 * Why not leave the value as the cell's result: Deno 2.9's kernel may send a cell's result
 * after it has reported the cell done, and then, when the front end has already queued the
 * next cell ("Run All"), under that next cell (tests/live_notebook_test.ts shows it in classic
 * Notebook). `show` awaits the display, then waits {@link SHOW_SETTLE_MS} so that the kernel
 * sends what it queued (console output included, which it stamps with the cell current when it
 * sends it) before the cell ends.
 *
 * Values with a rich display ({@link markdown}, `plotly`, tables) show as such; any other value
 * as its `Deno.inspect` text. Outside the Deno kernel (a script, a test) each value is printed
 * as text on stdout.
 *
 * @param values What to show.
 * @example
 * ```ts
 * import { markdown, show } from "./display.ts";
 * // In a notebook cell, each appears as an output of that cell; in a script, on stdout.
 * await show(markdown("**Table 1**"), { seeds: [0, 1, 2] });
 * ```
 */
export async function show(...values: unknown[]): Promise<void> {
  const display = _kernelDisplay();
  for (const v of values) {
    const rich = typeof v === "object" && v !== null && JUPYTER_DISPLAY in v;
    if (display) {
      await display(rich ? v : { [JUPYTER_DISPLAY]: () => ({ "text/plain": _inspect(v) }) });
      continue;
    }
    if (!rich) {
      console.log(_inspect(v));
      continue;
    }
    const bundle = await (v as { [JUPYTER_DISPLAY](): unknown })[JUPYTER_DISPLAY]() as Record<
      string,
      unknown
    >;
    const text = bundle["text/markdown"] ?? bundle["text/plain"];
    console.log(typeof text === "string" ? text : _inspect(bundle));
  }
  // The kernel queues the messages (and any console output before them) and stamps each with the
  // cell it belongs to only when it sends it: give its sender time to drain the queue before the
  // cell ends.
  if (display) await new Promise((r) => setTimeout(r, SHOW_SETTLE_MS));
}

function _inspect(v: unknown): string {
  return typeof v === "string" ? v : Deno.inspect(v, { colors: false, depth: 6 });
}
