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
