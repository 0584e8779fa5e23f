import assert from "node:assert/strict";
import sharp from "sharp";
import { _crc32, _encodePng, _pngDataUri } from "./_png.ts";

Deno.test("_crc32() matches the standard check value", () => {
  assert.equal(_crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("_encodePng() round-trips RGB and greyscale pixels through a real decoder", async () => {
  const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
  const decoded = await sharp(_encodePng(5, 3, 3, rgb)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([decoded.info.width, decoded.info.height, decoded.info.channels], [5, 3, 3]);
  assert.deepEqual(Array.from(decoded.data), Array.from(rgb));
  const grey = Uint8Array.from([0, 64, 128, 255]);
  const g = await sharp(_encodePng(2, 2, 1, grey)).toColourspace("b-w").raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([g.info.width, g.info.height, g.info.channels], [2, 2, 1]);
  assert.deepEqual(Array.from(g.data), [0, 64, 128, 255]);
});

Deno.test("_encodePng() is deterministic and _pngDataUri() is base64 of the bytes", () => {
  const px = new Uint8Array(4 * 4 * 3).fill(200);
  const a = _encodePng(4, 4, 3, px), b = _encodePng(4, 4, 3, px);
  assert.deepEqual(a, b);
  const uri = _pngDataUri(a);
  assert.ok(uri.startsWith("data:image/png;base64,iVBORw0KGgo"));
  assert.deepEqual(Uint8Array.from(atob(uri.split(",")[1]), (c) => c.charCodeAt(0)), a);
});

Deno.test("_encodePng() names what is wrong", () => {
  assert.throws(
    () => _encodePng(0, 2, 3, new Uint8Array(0)),
    /width to be a positive integer but found 0/,
  );
  assert.throws(() => _encodePng(2, 2, 4 as 3, new Uint8Array(16)), /1 or 3 channels but found 4/);
  assert.throws(
    () => _encodePng(2, 2, 3, new Uint8Array(5)),
    /Expected 12 bytes for 2×2×3 but found 5/,
  );
});
