import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { setupBackend } from "../backend/setup_backend.ts";
import { type GridImage, gridImages, imageGridFigure, imageGridHtml } from "./image_grid.ts";

await setupBackend({ quiet: true });

const decode = async (uri: string) => {
  const bytes = Uint8Array.from(atob(uri.split(",")[1]), (c) => c.charCodeAt(0));
  return await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
};

Deno.test("gridImages() converts [0, 1] to 8-bit, clips, and keeps captions", () => {
  const before = tf.memory().numTensors;
  const x = tf.tensor4d([[[[0, 0.5, 1]], [[-1, 2, 0.2]]]]); // 1 image, 2×1, RGB
  const [im] = gridImages(x, { captions: ["c"] });
  assert.deepEqual([im.width, im.height, im.channels, im.caption], [1, 2, 3, "c"]);
  assert.deepEqual(Array.from(im.pixels), [0, 128, 255, 0, 255, 51]);
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("gridImages() draws a mask's outline, greyscale becoming RGB", () => {
  const maps = tf.zeros([1, 4, 4]);
  // A 3×3 square: its 8 border pixels are the outline, its centre is not.
  const mask = tf.tensor3d([[[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]]);
  const [im] = gridImages(maps, { outline: mask, outlineColor: [255, 0, 0] });
  assert.equal(im.channels, 3);
  const red = (x: number, y: number) => im.pixels[(y * 4 + x) * 3] === 255;
  assert.ok(red(0, 0) && red(2, 2) && red(1, 0));
  assert.ok(!red(1, 1) && !red(3, 3));
  tf.dispose([maps, mask]);
});

Deno.test("gridImages() names what is wrong", () => {
  const x = tf.zeros([2, 4, 4, 2]);
  assert.throws(() => gridImages(x), /Expected 1 or 3 channels but found shape \[2,4,4,2\]/);
  const y = tf.zeros([2, 4, 4, 3]);
  assert.throws(() => gridImages(y, { captions: ["a"] }), /Expected 2 captions but found 1/);
  const m = tf.zeros([2, 4, 5]);
  assert.throws(() => gridImages(y, { outline: m }), /Expected outline masks \[2, 4, 4\(, 1\)\]/);
  tf.dispose([x, y, m]);
});

Deno.test("imageGridFigure() places one image trace per cell with titles and captions", async () => {
  const x = tf.tidy(() => tf.reshape(tf.linspace(0, 1, 2 * 3 * 5 * 3), [2, 3, 5, 3]));
  const ims = gridImages(x, { captions: ["one", "two"] });
  x.dispose();
  const rows: (GridImage | null)[][] = [[ims[0], null, ims[1]], [ims[1]]];
  const fig = imageGridFigure(rows, {
    columnTitles: ["a", "b", "c<br>d"],
    rowTitles: ["r0", "r1"],
    title: "T",
    cellSize: 50,
  });
  assert.equal(fig.data.length, 3);
  assert.deepEqual(fig.data.map((t) => [t.xaxis, t.yaxis]), [["x", "y"], ["x2", "y2"], [
    "x3",
    "y3",
  ]]);
  // The PNG inside decodes to the image's own pixels.
  const d = await decode(fig.data[1].source as string);
  assert.deepEqual([d.info.width, d.info.height], [5, 3]);
  assert.deepEqual(Array.from(d.data), Array.from(ims[1].pixels));
  // deno-lint-ignore no-explicit-any
  const L = fig.layout as Record<string, any>;
  // Cells in row 0: column 0 and column 2 (column 1 empty); row 1 below row 0.
  assert.ok(L.xaxis2.domain[0] > L.xaxis.domain[1]);
  assert.deepEqual(L.xaxis3.domain, L.xaxis.domain);
  assert.ok(L.yaxis3.domain[1] < L.yaxis.domain[0] + 1e-9);
  assert.deepEqual(L.yaxis.range, [2.5, -0.5]); // image rows top down
  const texts = L.annotations.map((a: { text: string }) => a.text);
  for (const t of ["one", "two", "r0", "r1", "a", "b", "c<br>d"]) assert.ok(texts.includes(t), t);
  assert.equal(L.width, 3 * 56 + 110 + 10);
});

Deno.test("imageGridFigure() and imageGridHtml() check the title lists", () => {
  const im: GridImage = { width: 1, height: 1, channels: 1, pixels: new Uint8Array([0]) };
  assert.throws(() => imageGridFigure([]), /at least one image/);
  assert.throws(
    () => imageGridFigure([[im, im]], { columnTitles: ["a"] }),
    /Expected 2 column titles but found 1/,
  );
  assert.throws(() => imageGridHtml([[im]], { rowTitles: [] }), /Expected 1 row titles/);
});

Deno.test("imageGridHtml() is a table of scaled, escaped images", () => {
  const im: GridImage = {
    width: 2,
    height: 1,
    channels: 1,
    pixels: new Uint8Array([0, 255]),
    caption: "<b>",
  };
  const html = imageGridHtml([[im, null]], { columnTitles: ["x<br>y", "z"], cellSize: 40 });
  assert.match(html, /<img src="data:image\/png;base64,[^"]+" width="40" height="20"/);
  assert.ok(html.includes("&lt;b>"));
  assert.ok(html.includes("x<br>y"));
  assert.equal((html.match(/<td/g) ?? []).length, 2);
});
