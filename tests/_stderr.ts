/** Shared helper of the tests: what a call writes through `console.error`. */

/** Runs `f` with `console.error` collected (one string per call) instead of printed. */
export async function stderrOf<T>(f: () => Promise<T>): Promise<[T, string[]]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    return [await f(), lines];
  } finally {
    console.error = original;
  }
}
