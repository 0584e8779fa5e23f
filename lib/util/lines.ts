/**
 * The lines of a byte stream (UTF-8), without their line breaks; a last line without a break
 * is yielded too.
 *
 * @module
 */

/**
 * Yields the lines of `stream` as they arrive.
 *
 * @param stream UTF-8 bytes (a process's stdout or stderr, stdin).
 * @returns The lines, without `\n`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lines } from "./lines.ts";
 * const stream = ReadableStream.from([new TextEncoder().encode("a\nb"), new TextEncoder().encode("c\n")]);
 * assert.deepEqual(await Array.fromAsync(lines(stream)), ["a", "bc"]);
 * ```
 */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}
