import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { _meanStd, mapStats, mapStatsFigure } from "./attention_stats.ts";

await setupBackend({ quiet: true });

Deno.test("mapStats() on hand-computed maps: uniform, concentrated, all-zero", () => {
  const maps = tf.tensor3d([
    [[1, 1], [1, 1]], // uniform: inside share = area share, half the mass on half the image
    [[0, 0], [0, 5]], // all on one pixel, outside the mask
    [[0, 0], [0, 0]], // nothing
  ]);
  const masks = tf.tensor4d([[[[1], [0]], [[0], [0]]], [[[1], [0]], [[0], [0]]], [[[1], [1]], [
    [0],
    [0],
  ]]]);
  const [u, c, z] = mapStats(maps, masks);
  assert.deepEqual(u, { insideShare: 0.25, areaShare: 0.25, halfMassArea: 0.5 });
  assert.deepEqual(c, { insideShare: 0, areaShare: 0.25, halfMassArea: 0.25 });
  assert.ok(Number.isNaN(z.insideShare) && Number.isNaN(z.halfMassArea));
  assert.equal(z.areaShare, 0.5);
  tf.dispose([maps, masks]);
});

Deno.test("mapStats() names mismatched shapes", () => {
  const maps = tf.zeros([2, 4, 4]), masks = tf.zeros([2, 4, 5, 1]);
  assert.throws(() => mapStats(maps, masks), /found \[2,4,4\] and \[2,4,5,1\]/);
  tf.dispose([maps, masks]);
});

Deno.test("_meanStd() skips non-finite values", () => {
  assert.deepEqual(_meanStd([1, 3, NaN]), { mean: 2, std: 1 });
  assert.ok(Number.isNaN(_meanStd([NaN]).mean));
});

Deno.test("mapStatsFigure() draws both statistics per map kind and the area line", () => {
  const s = (inside: number, half: number) => ({
    insideShare: inside,
    areaShare: 0.2,
    halfMassArea: half,
  });
  const fig = mapStatsFigure({ a: [s(0.2, 0.5), s(0.4, 0.3)], b: [s(0.9, 0.1)] });
  assert.deepEqual(fig.data[0].x, ["a", "b"]);
  assert.deepEqual((fig.data[0].y as number[]).map((v) => +v.toFixed(6)), [0.3, 0.9]);
  assert.deepEqual((fig.data[1].y as number[]).map((v) => +v.toFixed(6)), [0.4, 0.1]);
  assert.deepEqual((fig.data[2].y as number[]).map((v) => +v.toFixed(6)), [0.2, 0.2]);
  assert.match(String(fig.data[2].name), /0\.20/);
});
