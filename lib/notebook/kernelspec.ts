/**
 * A project-local Jupyter kernelspec for the Deno kernel, so that executing notebooks does not
 * depend on `deno jupyter --install` having been run on the machine.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

/** The kernel name the spec is written under (`<dir>/kernels/deno`). */
export const DENO_KERNEL_NAME = "deno";

/**
 * Writes `<dir>/kernels/deno/kernel.json` for the Deno kernel
 * (`<denoPath> jupyter --kernel --conn {connection_file}`, `NO_COLOR=1` so text outputs carry
 * no ANSI colour codes, display name "Deno (GradProm)", language typescript).
 *
 * Put the returned folder first on `JUPYTER_PATH` and Jupyter finds this kernel before any
 * installed one of the same name. The file is written atomically, so concurrent writers are safe.
 *
 * @param dir Folder to hold the kernelspec tree (created if missing); made absolute.
 * @param denoPath Absolute path of the deno binary; defaults to the running one.
 * @returns The absolute folder to prepend to `JUPYTER_PATH` (that is, `dir` resolved).
 * @throws {TypeError} If `denoPath` is not absolute.
 * @example
 * ```ts
 * import { writeDenoKernelspec } from "./kernelspec.ts";
 * const dir = await Deno.makeTempDir();
 * const jupyterPath = await writeDenoKernelspec(dir);
 * const spec = JSON.parse(await Deno.readTextFile(`${jupyterPath}/kernels/deno/kernel.json`));
 * if (spec.argv[0] !== Deno.execPath()) throw new Error("wrong deno");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeDenoKernelspec(
  dir: string,
  denoPath: string = Deno.execPath(),
): Promise<string> {
  if (!denoPath.startsWith("/")) {
    throw new TypeError(`Expected an absolute deno path but found "${denoPath}"`);
  }
  const root = resolve(dir);
  const file = join(root, "kernels", DENO_KERNEL_NAME, "kernel.json");
  const spec = {
    argv: [denoPath, "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno (GradProm)",
    language: "typescript",
    env: { NO_COLOR: "1" },
    metadata: { debugger: false },
  };
  await writeFileAtomic(file, JSON.stringify(spec, null, 2) + "\n");
  return root;
}
