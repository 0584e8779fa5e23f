/**
 * Test helper: gates a test that cross-checks against Debian's Python
 * (`/usr/bin/python3` with nibabel, scipy, scikit-image, …) so that it is
 * reported as *ignored, with the reason in its name* when a module is missing,
 * never passed silently. {@linkcode PYTHON_TEST_PACKAGES} names the Debian
 * package of each module (install them as root with `apt-get install`).
 *
 * ```ts ignore
 * Deno.test({
 *   ...(await pythonTestOptions("writeNifti() output is read by nibabel", ["nibabel"])),
 *   fn: async () => {
 *     const out = await new Deno.Command(PYTHON_FOR_TESTS, { args: ["-c", "import nibabel"] })
 *       .output();
 *     assert.ok(out.success);
 *   },
 * });
 * ```
 *
 * `TEST_PYTHON=/path/to/python3` overrides the interpreter (e.g. a missing one to
 * see the skips).
 *
 * @module
 */

/** The interpreter the cross-checks run: Debian's, where `apt-get` installs the modules. */
export const PYTHON_FOR_TESTS: string = Deno.env.get("TEST_PYTHON") ?? "/usr/bin/python3";

/** The Debian package that provides each Python module the tests import. */
export const PYTHON_TEST_PACKAGES: Readonly<Record<string, string>> = {
  nibabel: "python3-nibabel",
  numpy: "python3-numpy",
  scipy: "python3-scipy",
  skimage: "python3-skimage",
  PIL: "python3-pil",
};

/**
 * Why `python` cannot run a test that imports `modules`, or `undefined` when it can.
 *
 * @param modules Python modules to import (`"scipy.io"`, `"skimage.metrics"`, …).
 * @param python The interpreter (default {@linkcode PYTHON_FOR_TESTS}).
 * @returns E.g. `"/usr/bin/python3 cannot import nibabel; as root: apt-get install
 *   python3-nibabel"`, or `undefined` if every module imports.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pythonSkipReason } from "./_testing_python.ts";
 * const reason = await pythonSkipReason(["json"], "/nonexistent/python3");
 * assert.match(reason!, /^\/nonexistent\/python3 did not run .*apt-get install python3$/);
 * ```
 */
export async function pythonSkipReason(
  modules: readonly string[],
  python: string = PYTHON_FOR_TESTS,
): Promise<string | undefined> {
  const packages = (names: readonly string[]) => [
    ...new Set(names.flatMap((m) => PYTHON_TEST_PACKAGES[m.split(".")[0]] ?? [])),
  ];
  const script = [
    "import importlib, sys",
    "for name in sys.argv[1:]:",
    "    try:",
    "        importlib.import_module(name)",
    "    except Exception:",
    "        print(name)",
  ].join("\n");
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: ["-c", script, ...modules],
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONDONTWRITEBYTECODE: "1" },
    }).output();
  } catch (e) {
    const debs = ["python3", ...packages(modules)].join(" ");
    return `${python} did not run (${(e as Error).name}); as root: apt-get install ${debs}`;
  }
  const missing = out.success
    ? new TextDecoder().decode(out.stdout).split("\n").filter((m) => m !== "")
    : [...modules];
  if (missing.length === 0) return undefined;
  const debs = packages(missing);
  const hint = debs.length ? `; as root: apt-get install ${debs.join(" ")}` : "";
  return `${python} cannot import ${missing.join(", ")}${hint}`;
}

/**
 * The `name` and `ignore` of a `Deno.test` that needs Python `modules`: when one is
 * missing, the test is ignored and its name ends in `(skipped: <reason>)`, which
 * `deno test` prints.
 *
 * @param name The test's name.
 * @param modules Python modules the test imports.
 * @param python The interpreter (default {@linkcode PYTHON_FOR_TESTS}).
 * @returns `{ name, ignore }` to spread into `Deno.test({ ..., fn })`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pythonTestOptions } from "./_testing_python.ts";
 * const gate = await pythonTestOptions("reads back", ["nibabel"], "/nonexistent/python3");
 * assert.equal(gate.ignore, true);
 * assert.match(gate.name, /^reads back \(skipped: .*apt-get install python3 python3-nibabel\)$/);
 * ```
 */
export async function pythonTestOptions(
  name: string,
  modules: readonly string[],
  python: string = PYTHON_FOR_TESTS,
): Promise<{ name: string; ignore: boolean }> {
  const reason = await pythonSkipReason(modules, python);
  return reason === undefined
    ? { name, ignore: false }
    : { name: `${name} (skipped: ${reason})`, ignore: true };
}
