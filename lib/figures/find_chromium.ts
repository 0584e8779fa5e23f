/**
 * Locating the Chromium that exports figures, and the error that says what to
 * install when there is none.
 *
 * @module
 */

/** Debian packages the figure export needs: the browser and the one font family it draws with. */
export const FIGURE_DEBS: readonly string[] = ["chromium", "fonts-dejavu-core"];

/** Where Chromium is looked for, in order, after `$CHROMIUM_PATH`. */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome-stable",
  "/usr/bin/google-chrome",
];

/** Thrown when no Chromium executable is found; the message says how to install one. */
export class ChromiumNotFoundError extends Error {
  /** @param searched The paths that were tried. */
  constructor(readonly searched: string[]) {
    super(
      `Figure export needs Chromium, but none was found (tried ${searched.join(", ")}). ` +
        `As root run: apt-get install -y --no-install-recommends ${FIGURE_DEBS.join(" ")} ` +
        `(or point CHROMIUM_PATH at a Chromium or Chrome executable).`,
    );
    this.name = "ChromiumNotFoundError";
  }
}

/**
 * The path of a Chromium executable: `$CHROMIUM_PATH` if set, else the first
 * of {@link CHROMIUM_CANDIDATES} that is an executable file.
 *
 * @param options `throwIfMissing` (default true): throw {@link ChromiumNotFoundError}
 *   instead of returning null.
 * @returns The path, or null when none is found and `throwIfMissing` is false.
 * @throws {ChromiumNotFoundError} When none is found (unless `throwIfMissing` is false),
 *   or when `$CHROMIUM_PATH` is set but is not an executable file.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findChromium } from "./find_chromium.ts";
 * const path = await findChromium({ throwIfMissing: false });
 * assert.ok(path === null || path.length > 0);
 * ```
 */
export async function findChromium(
  options: { throwIfMissing?: boolean } = {},
): Promise<string | null> {
  const fromEnv = Deno.env.get("CHROMIUM_PATH");
  // An explicit choice that does not work is an error, never a silent fallback.
  const candidates = fromEnv ? [fromEnv] : [...CHROMIUM_CANDIDATES];
  for (const path of candidates) {
    if (await _isExecutable(path)) return path;
  }
  if (options.throwIfMissing === false && !fromEnv) return null;
  throw new ChromiumNotFoundError(candidates);
}

async function _isExecutable(path: string): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}
