/**
 * `make kernel`: installs the Deno Jupyter kernel for interactive use, as the
 * kernelspec this project runs its notebooks with (the deno binary running
 * this script, `NO_COLOR=1`), into the user's Jupyter data folder
 * (`$JUPYTER_DATA_DIR`, else `$XDG_DATA_HOME/jupyter`, else `~/.local/share/jupyter`).
 *
 * ```
 * deno run -A tools/kernel.ts
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { writeDenoKernelspec } from "../lib/notebook/kernelspec.ts";

const home = Deno.env.get("HOME");
const dir = Deno.env.get("JUPYTER_DATA_DIR") ??
  join(Deno.env.get("XDG_DATA_HOME") ?? join(home ?? "/root", ".local", "share"), "jupyter");
const root = await writeDenoKernelspec(dir);
console.log(`kernel: wrote ${join(root, "kernels", "deno", "kernel.json")} (${Deno.execPath()})`);
console.log(
  "kernel: open notebooks/ in JupyterLab (jupyter lab notebooks/) or VS Code (Jupyter extension)",
);
console.log('        and pick the kernel "Deno (GradProm)".');
