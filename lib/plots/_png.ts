/**
 * A minimal PNG encoder (internal): 8-bit greyscale or RGB, no interlacing, filter 0.
 *
 * Written by hand rather than through `sharp` because figure builders are synchronous and must
 * give the same bytes on every machine (a figure's JSON embeds the PNG): zlib's deflate at a fixed
 * level is deterministic, a libvips build's encoder settings are not ours to pin.
 *
 * @module
 */
import { deflateSync } from "node:zlib";

const _SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

let _crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as PNG chunks use) of `bytes`. */
export function _crc32(bytes: Uint8Array): number {
  if (!_crcTable) {
    _crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      _crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = _crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function _chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, _crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes 8-bit pixels, row-major and interleaved, as a PNG file.
 *
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @param channels 1 (greyscale) or 3 (RGB).
 * @param pixels `width·height·channels` bytes.
 * @returns The PNG file's bytes.
 * @throws {RangeError} For a size that is not a positive integer, other channel counts, or a
 *   pixel buffer of the wrong length.
 */
export function _encodePng(
  width: number,
  height: number,
  channels: 1 | 3,
  pixels: Uint8Array | Uint8ClampedArray,
): Uint8Array {
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Expected ${name} to be a positive integer but found ${v}`);
    }
  }
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`Expected 1 or 3 channels but found ${channels}`);
  }
  const row = width * channels;
  if (pixels.length !== row * height) {
    throw new RangeError(
      `Expected ${
        row * height
      } bytes for ${width}×${height}×${channels} but found ${pixels.length}`,
    );
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, channels === 3 ? 2 : 0, 0, 0, 0], 8); // depth 8, colour type, deflate, filter, no interlace
  const raw = new Uint8Array((row + 1) * height); // each row: filter byte 0, then the row
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  }
  const idat = new Uint8Array(deflateSync(raw, { level: 9 }));
  const parts = [
    new Uint8Array(_SIGNATURE),
    _chunk("IHDR", ihdr),
    _chunk("IDAT", idat),
    _chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

/** A PNG as a `data:` URI (what Plotly's `image` trace takes as `source`). */
export function _pngDataUri(png: Uint8Array): string {
  let s = "";
  for (let i = 0; i < png.length; i += 0x8000) {
    s += String.fromCharCode(...png.subarray(i, i + 0x8000));
  }
  return `data:image/png;base64,${btoa(s)}`;
}
