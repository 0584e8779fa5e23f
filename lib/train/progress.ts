/**
 * A progress line for training loops: step, losses, cosine, gate, speed, ETA.
 *
 * On a terminal it rewrites one line; otherwise (CI, notebooks, logs) it
 * prints a line every `intervalSeconds` and at the end. Events of the loop
 * (a checkpoint saved, a run resumed) are printed at once with `note`.
 *
 * @module
 */

/** Values shown on the line. */
export interface ProgressValues {
  [name: string]: number | string | undefined;
}

/** Formats seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/** A progress reporter over a known number of steps. */
export class Progress {
  readonly #start = performance.now();
  #lastPrint = -Infinity;
  readonly #tty: boolean;
  readonly #encoder = new TextEncoder();

  /**
   * @param label Shown first on the line, e.g. `gradprom σ=0.1 seed 0`.
   * @param total Number of steps.
   * @param options `enabled: false` silences it; `intervalSeconds` for non-terminals; `unit` (default "steps").
   */
  constructor(
    readonly label: string,
    readonly total: number,
    readonly options: { enabled?: boolean; intervalSeconds?: number; unit?: string } = {},
  ) {
    this.#tty = Deno.stderr.isTerminal();
  }

  /** Reports that `done` steps are complete. */
  update(done: number, values: ProgressValues = {}): void {
    if (this.options.enabled === false) return;
    const now = performance.now();
    const final = done >= this.total;
    const interval = (this.#tty ? 0.2 : this.options.intervalSeconds ?? 15) * 1000;
    if (!final && now - this.#lastPrint < interval) return;
    this.#lastPrint = now;
    const elapsed = (now - this.#start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = (this.total - done) / rate;
    const parts = Object.entries(values)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${k} ${typeof v === "number" ? fmt(v) : v}`);
    const unit = this.options.unit ?? "steps";
    const speed = rate >= 0.1
      ? `${rate.toFixed(2)} ${unit}/s`
      : `${(1 / rate).toFixed(1)} s per ${unit.replace(/s$/, "")}`;
    const line = `[${this.label}] ${done}/${this.total} ${parts.join(" ")} | ${speed} ` +
      (final ? `took ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`);
    const text = this.#tty ? `\r\x1b[2K${line}${final ? "\n" : ""}` : `${line}\n`;
    Deno.stderr.writeSync(this.#encoder.encode(text));
  }

  /**
   * Prints an event of the loop on a line of its own, at once (not held back
   * like `update`): `[label] message`. On a terminal it replaces the progress
   * line, which the next `update` draws again.
   *
   * @param message What happened, e.g. `checkpoint saved at step 15 of 150: …`.
   * @example
   * ```ts
   * import { Progress } from "./progress.ts";
   * const progress = new Progress("demo", 10);
   * progress.note("resumed at step 5 of 10"); // [demo] resumed at step 5 of 10
   * ```
   */
  note(message: string): void {
    if (this.options.enabled === false) return;
    const line = `[${this.label}] ${message}\n`;
    Deno.stderr.writeSync(this.#encoder.encode(this.#tty ? `\r\x1b[2K${line}` : line));
    // On a terminal the next update redraws the progress line without waiting for its interval.
    if (this.#tty) this.#lastPrint = -Infinity;
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(4) : v.toExponential(2);
}
