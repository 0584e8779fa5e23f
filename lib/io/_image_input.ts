/**
 * Internal helpers shared by `read_image.ts` and `read_mask.ts`: reading the file
 * bytes with an error that names the path, and checking resize options.
 *
 * The bytes are read with `Deno.readFile` (not by libvips) so that Deno's
 * permissions apply and a missing file gives our own message.
 *
 * @module
 */

/** How an image is fitted to a requested size: `fill` stretches, `cover` crops the centre. */
export type Fit = "fill" | "cover";

/** Reads a whole file, turning "not found" and similar into errors that name the path. */
export async function _readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${what} file not found: ${path}`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new Error(`Expected ${what.toLowerCase()} file but found a directory: ${path}`, {
        cause: err,
      });
    }
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`Could not read ${what.toLowerCase()} file ${path}: ${msg}`, { cause: err });
  }
}

/** Wraps a decoder failure into an error naming the path. */
export function _decodeError(path: string, what: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`Could not decode ${what.toLowerCase()} ${path}: ${msg.trim()}`, {
    cause: err,
  });
}

/** Validates `[height, width]` and `fit`; throws a RangeError/TypeError naming what was found. */
export function _checkResize(size: readonly number[] | undefined, fit: string | undefined): void {
  if (size !== undefined) {
    if (
      !Array.isArray(size) || size.length !== 2 ||
      !size.every((v) => Number.isInteger(v) && v > 0)
    ) {
      throw new RangeError(
        `Expected size to be [height, width] of positive integers but found ${
          JSON.stringify(size)
        }`,
      );
    }
  }
  if (fit !== undefined && fit !== "fill" && fit !== "cover") {
    throw new TypeError(`Expected fit to be "fill" or "cover" but found ${JSON.stringify(fit)}`);
  }
}
