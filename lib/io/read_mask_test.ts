import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { readMask } from "./read_mask.ts";
import { readImage } from "./read_image.ts";

async function writeGrey(path: string, px: Uint8Array, w: number, h: number): Promise<void> {
  await sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace("b-w").png().toFile(
    path,
  );
}

Deno.test("readMask() thresholds a 0/255 mask to 0/1 and keeps the layout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = 8, h = 6, px = new Uint8Array(w * h);
    px[1 * w + 2] = 255;
    px[5 * w + 7] = 200; // > 127 → 1
    px[0] = 100; // ≤ 127 → 0
    const path = join(dir, "m.png");
    await writeGrey(path, px, w, h);
    const m = await readMask(path);
    assert.equal(m.length, w * h);
    const ones = [...m.keys()].filter((i) => m[i] === 1);
    assert.deepEqual(ones, [1 * w + 2, 5 * w + 7]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readMask() resizes with nearest neighbour: no new label values, aligned with readImage", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = 120, h = 90, px = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) px[y * w + x] = ((x >> 3) + (y >> 3)) % 3;
    }
    const path = join(dir, "labels.png");
    await writeGrey(path, px, w, h);
    for (const size of [[30, 40], [17, 23], [200, 260]] as [number, number][]) {
      const m = await readMask(path, { size, binary: false });
      assert.equal(m.length, size[0] * size[1]);
      assert.deepEqual([...new Set(m)].sort(), [0, 1, 2]);
    }
    // A left-half mask stays a left-half mask, like the image read with the same size/fit.
    const half = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) half[y * w + x] = 255;
    const hp = join(dir, "half.png");
    await writeGrey(hp, half, w, h);
    for (const fit of ["fill", "cover"] as const) {
      const m = await readMask(hp, { size: [12, 12], fit });
      const img = await readImage(hp, { size: [12, 12], channels: 1, fit });
      for (let i = 0; i < m.length; i++) {
        if (img.data[i] > 0.9) assert.equal(m[i], 1);
        if (img.data[i] < 0.1) assert.equal(m[i], 0);
      }
      assert.equal(m[0], 1);
      assert.equal(m[11], 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readMask() names the path of a missing or corrupt mask", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "ISIC_0000000_segmentation.png");
    await assert.rejects(readMask(missing), new RegExp(`Mask file not found: ${missing}`));
    const bad = join(dir, "bad.png");
    await Deno.writeFile(bad, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13]));
    await assert.rejects(readMask(bad), new RegExp(`Could not decode mask ${bad}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
