/**
 * The compute backend a run uses, as the run keys and results record it (internal to
 * `lib/experiments/`).
 *
 * @module
 */
import { type BackendInfo, type BackendName, setupBackend } from "../backend/setup_backend.ts";

/** The backend of this process and its thread count. */
export interface RunBackend {
  name: BackendName;
  /** Threads its kernels run on (see {@link backendThreads}). */
  threads: number;
}

/**
 * The backend runs use in this process ({@link setupBackend}: started on first use, printed
 * once), with its thread count. Run keys include its name, so that another backend computes
 * its own results; the thread count is recorded beside a result, not keyed.
 *
 * @returns Its name and thread count.
 */
export async function runBackend(): Promise<RunBackend> {
  const info = await setupBackend();
  return { name: info.name, threads: backendThreads(info) };
}

/**
 * The threads a backend's kernels run on: wasm's own count, 1 for `cpu` (plain JS), and for
 * the native backends (`onednn`, `tensorflow`) OpenMP's team size, `OMP_NUM_THREADS` when set
 * (the grid runner sets it per worker), else the number of cores.
 *
 * @param info From `setupBackend`.
 * @returns The thread count (≥ 1).
 */
export function backendThreads(info: Pick<BackendInfo, "name" | "wasm">): number {
  if (info.name === "cpu") return 1;
  if (info.name === "wasm") return info.wasm?.threads ?? 1;
  const omp = parseInt(Deno.env.get("OMP_NUM_THREADS") ?? "", 10);
  return Number.isInteger(omp) && omp > 0 ? omp : Math.max(1, navigator.hardwareConcurrency || 1);
}
