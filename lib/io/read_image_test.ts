import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { readImage } from "./read_image.ts";

/** A 40×30 RGB image: left half pure red, right half pure blue. */
async function writeFixtures(dir: string): Promise<{ png: string; jpg: string; grey: string }> {
  const w = 40, h = 30;
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      if (x < w / 2) rgb[o] = 255;
      else rgb[o + 2] = 255;
    }
  }
  const png = join(dir, "halves.png"), jpg = join(dir, "halves.jpg"), grey = join(dir, "grey.png");
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(png);
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toFile(jpg);
  const g = new Uint8Array(w * h).fill(128);
  await sharp(g, { raw: { width: w, height: h, channels: 1 } }).toColourspace("b-w").png().toFile(
    grey,
  );
  return { png, jpg, grey };
}

Deno.test("readImage() decodes a PNG to HWC floats in [0, 1] at native size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { png } = await writeFixtures(dir);
    const img = await readImage(png, { channels: 3 });
    assert.equal(img.height, 30);
    assert.equal(img.width, 40);
    assert.equal(img.channels, 3);
    assert.equal(img.data.length, 30 * 40 * 3);
    assert.deepEqual([...img.data.subarray(0, 3)], [1, 0, 0]); // top-left red
    const o = (29 * 40 + 39) * 3;
    assert.deepEqual([...img.data.subarray(o, o + 3)], [0, 0, 1]); // bottom-right blue
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readImage() resizes to [h, w] with fill and cover, and reads greyscale as 1 channel", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { jpg, grey } = await writeFixtures(dir);
    const small = await readImage(jpg, { size: [6, 8], channels: 3 });
    assert.equal(small.data.length, 6 * 8 * 3);
    assert.ok(small.data.every((v) => v >= 0 && v <= 1));
    assert.ok(small.data[0] > 0.8 && small.data[2] < 0.2); // still red on the left
    // cover to a square crops the centre: columns 5..34 of 40, still half red, half blue.
    const sq = await readImage(jpg, { size: [10, 10], channels: 3, fit: "cover" });
    assert.equal(sq.width, 10);
    assert.ok(sq.data[0] > 0.8 && sq.data[(9 * 3) + 2] > 0.8);
    const g1 = await readImage(grey, { channels: 1 });
    assert.equal(g1.channels, 1);
    assert.equal(g1.data.length, 30 * 40);
    assert.ok(Math.abs(g1.data[0] - 128 / 255) < 1e-6);
    const g3 = await readImage(grey, { channels: 3, size: [3, 4] });
    assert.equal(g3.data.length, 3 * 4 * 3);
    const rgbAsGrey = await readImage(jpg, { channels: 1 });
    assert.equal(rgbAsGrey.data.length, 30 * 40);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readImage() names the path of a missing or corrupt file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { jpg } = await writeFixtures(dir);
    const missing = join(dir, "nope.jpg");
    await assert.rejects(readImage(missing, { channels: 3 }), (e: Error) => {
      assert.match(e.message, /Image file not found/);
      assert.ok(e.message.includes(missing));
      return true;
    });
    const bytes = await Deno.readFile(jpg);
    const truncated = join(dir, "truncated.jpg");
    await Deno.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(readImage(truncated, { channels: 3 }), (e: Error) => {
      assert.ok(e.message.startsWith(`Could not decode image ${truncated}`), e.message);
      return true;
    });
    const garbage = join(dir, "garbage.jpg");
    await Deno.writeTextFile(garbage, "this is not a JPEG");
    await assert.rejects(readImage(garbage, { channels: 3 }), new RegExp(garbage));
    await assert.rejects(
      readImage(jpg, { channels: 2 as 1 }),
      /Expected channels to be 1 or 3 but found 2/,
    );
    await assert.rejects(
      readImage(jpg, { channels: 3, size: [0, 4] }),
      /Expected size to be \[height, width\] of positive integers but found \[0,4\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
