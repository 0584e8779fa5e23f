/**
 * The Chromium the figure tests drive, or why they are skipped.
 *
 * @module
 */
import { ChromiumNotFoundError, findChromium } from "../lib/figures/find_chromium.ts";

/**
 * Finds Chromium for a test file; without one, returns the reason as a test-name suffix and
 * prints it once. Any other error is thrown.
 *
 * @param file The test file's name, for the printed line.
 * @returns The executable (or null) and `skip`, ` (skipped: …)` or "".
 */
export async function chromiumForTests(
  file: string,
): Promise<{ chromium: string | null; skip: string }> {
  try {
    return { chromium: await findChromium(), skip: "" };
  } catch (e) {
    if (!(e instanceof ChromiumNotFoundError)) throw e;
    const skip = ` (skipped: ${e.message})`;
    console.warn(`${file}${skip}`);
    return { chromium: null, skip };
  }
}
