/**
 * Test helpers for the metrics tests (internal; not part of the library surface): the
 * scikit-image fixtures and a loop over the tfjs backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";

/** One fixture case of `tests/fixtures/metrics/ssim_psnr.json`, decoded. */
export interface _MetricCase {
  name: string;
  /** [H, W, C]. */
  shape: [number, number, number];
  pred: Float32Array;
  target: Float32Array;
  ssim: number;
  ssimChannels: number[];
  psnr: number;
  mse: number;
}

const FIXTURE = new URL("../../tests/fixtures/metrics/ssim_psnr.json", import.meta.url);

/** Reads and decodes the skimage fixture cases. */
export function _loadMetricCases(): _MetricCase[] {
  const doc = JSON.parse(Deno.readTextFileSync(FIXTURE));
  // deno-lint-ignore no-explicit-any
  return doc.cases.map((c: any) => ({
    ...c,
    pred: _decodeFloat32(c.pred),
    target: _decodeFloat32(c.target),
    psnr: c.psnr === "Infinity" ? Infinity : c.psnr,
  }));
}

/** Float32 little-endian, base64-encoded, as written by the fixture script. */
export function _decodeFloat32(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  return Float32Array.from(
    { length: bytes.length / 4 },
    (_, i) => view.getFloat32(4 * i, true),
  );
}

/** The backends every metric must agree on. */
export const _BACKENDS = ["cpu", "wasm"] as const;

/** Switches tfjs to `name` and fails loudly if it did not start (no silent fallback). */
export async function _useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`Expected tfjs backend ${name} but found ${tf.getBackend()}`);
  }
}
