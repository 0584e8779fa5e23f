import assert from "node:assert/strict";
import { join } from "node:path";
import { readMetaImage } from "./metaimage.ts";

const DIR = new URL("../../tests/fixtures/formats/metaimage/", import.meta.url);
const EXPECTED = JSON.parse(
  Deno.readTextFileSync(new URL("../expected.json", DIR)),
).metaimage as Record<string, ExpectedImage>;

interface ExpectedImage {
  dims: number[];
  spacing: number[];
  channels: number;
  elementType: string;
  /** Space-separated values, x fastest (channels innermost); Number() parses each exactly. */
  data: string;
}

const decode = (want: ExpectedImage) => want.data.split(" ").map(Number);

const text = (name: string) => Deno.readTextFileSync(new URL(name, DIR));
const bytesOf = (name: string) => Deno.readFileSync(new URL(name, DIR));

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
async function withTempDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readMetaImage() reads every .mhd / .mha fixture exactly", () => {
  assert.equal(Object.keys(EXPECTED).length, 6);
  for (const [file, want] of Object.entries(EXPECTED)) {
    const img = readMetaImage(new URL(file, DIR));
    assert.deepEqual(img.dims, want.dims, file);
    assert.deepEqual(img.spacing, want.spacing, file);
    assert.equal(img.channels, want.channels, file);
    assert.equal(img.elementType, want.elementType, file);
    assert.deepEqual([...img.data], decode(want), file);
    assert.equal(img.header.ElementType, want.elementType, file);
  }
});

Deno.test("readMetaImage() reads a .mha from bytes and keeps x fastest", () => {
  const img = readMetaImage(bytesOf("float_3d.mha"));
  assert.deepEqual(img.dims, [4, 3, 2]);
  const want = decode(EXPECTED["float_3d.mha"]); // numpy [z][y][x] in C order
  assert.equal(img.data[(1 * 3 + 2) * 4 + 3], want[23]);
  const rgb = readMetaImage(new URL("rgb_2d_uchar.mha", DIR).pathname);
  assert.equal(rgb.data.length, 4 * 3 * 3);
});

Deno.test("readMetaImage() names a missing or truncated data file", async () => {
  await withTempDir(async (dir) => {
    const mhd = join(dir, "camus_2d_uchar.mhd");
    await Deno.writeTextFile(mhd, text("camus_2d_uchar.mhd"));
    const raw = join(dir, "camus_2d_uchar.raw");
    assert.throws(
      () => readMetaImage(mhd),
      (e: Error) =>
        e.message === `MetaImage data file not found: ${raw} (the ElementDataFile of ${mhd})`,
    );
    await Deno.writeFile(raw, bytesOf("camus_2d_uchar.raw").subarray(0, 20));
    assert.throws(
      () => readMetaImage(mhd),
      (e: Error) =>
        e.message === `${raw}: truncated data: MET_UCHAR [7, 5] needs 35 bytes but found 20`,
    );
    const zraw = join(dir, "double_2d_zraw.zraw");
    await Deno.writeTextFile(join(dir, "d.mhd"), text("double_2d_zraw.mhd"));
    await Deno.writeFile(zraw, bytesOf("double_2d_zraw.zraw").subarray(0, 40));
    assert.throws(() => readMetaImage(join(dir, "d.mhd")), /zraw: could not decompress/);
  });
  const mha = bytesOf("float_3d.mha");
  assert.throws(
    () => readMetaImage(mha.subarray(0, mha.length - 3)),
    /<bytes>: truncated data: MET_FLOAT \[4, 3, 2\] needs 96 bytes but found 93 after the header \(byte \d+\)/,
  );
  assert.throws(
    () => readMetaImage(bytesOf("camus_2d_uchar.mhd")),
    /ElementDataFile is "camus_2d_uchar.raw": pass the header's path, not its bytes/,
  );
  assert.throws(() => readMetaImage("/nonexistent/a.mha"), /MetaImage header not found/);
});

Deno.test("readMetaImage() rejects an unknown ElementType, a non-MetaImage file and file lists", () => {
  const enc = new TextEncoder();
  const header = text("float_3d.mha").split("ElementDataFile")[0];
  const unknown = enc.encode(
    header.replace("MET_FLOAT", "MET_COMPLEX") + "ElementDataFile = LOCAL\n",
  );
  assert.throws(
    () => readMetaImage(unknown),
    /<bytes>: unknown ElementType "MET_COMPLEX" \(expected one of MET_CHAR, /,
  );
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
  assert.throws(
    () => readMetaImage(png),
    /not a MetaImage header: expected a "Key = Value" line but found .* at byte 0/,
  );
  assert.throws(
    () => readMetaImage(enc.encode("NDims = 2\nDimSize = 2 2\n")),
    /no ElementDataFile line/,
  );
  assert.throws(() => readMetaImage(enc.encode("ElementDataFile = LOCAL\n")), /no NDims/);
  const list = enc.encode(header + "ElementDataFile = LIST\na.raw\n");
  assert.throws(
    () => readMetaImage(list),
    /ElementDataFile "LIST" \(a file list\) is not supported/,
  );
  const dims = enc.encode(
    header.replace("DimSize = 4 3 2", "DimSize = 4 3") + "ElementDataFile = LOCAL\n",
  );
  assert.throws(() => readMetaImage(dims), /expected 3 numbers in DimSize but found "4 3"/);
});

Deno.test("readMetaImage() skips HeaderSize bytes, or takes the end of the file for -1", async () => {
  await withTempDir(async (dir) => {
    const raw = bytesOf("camus_2d_uchar.raw");
    const padded = new Uint8Array(raw.length + 5);
    padded.set([9, 9, 9, 9, 9]);
    padded.set(raw, 5);
    await Deno.writeFile(join(dir, "camus_2d_uchar.raw"), padded);
    const want = decode(EXPECTED["camus_2d_uchar.mhd"]);
    for (const size of ["5", "-1"]) {
      const mhd = join(dir, `h${size}.mhd`);
      await Deno.writeTextFile(
        mhd,
        text("camus_2d_uchar.mhd").replace("ElementType", `HeaderSize = ${size}\nElementType`),
      );
      assert.deepEqual([...readMetaImage(mhd).data], want, size);
    }
  });
});
