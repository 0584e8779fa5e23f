import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
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

// ----------------------------------------------- real ITK-written files (insighttoolkit5-examples)
//
// Debian's insighttoolkit5-examples ships MetaImage files written by ITK itself (`.mhd` + `.raw`,
// `.mhd` + zlib `.zraw`, `.mha` with LOCAL data, compressed LOCAL data, 2 and 4 channels, a
// `.mha` naming an external `.raw`) and, for several, a PNG of the same pixels. The reference is
// never our reader: PNG twins are decoded by PIL, and every file is parsed independently by
// numpy (header split on "=", samples from `np.frombuffer`, `CompressedDataSize` bytes through
// `zlib.decompress`) in Debian's /usr/bin/python3.

const ITK_PACKAGE = "insighttoolkit5-examples";
const ITK_DATA = "/usr/share/doc/insighttoolkit5-examples/examples/Data";

/** Each ITK-written file and, where the package has one, the PNG holding the same pixels. */
const ITK_FILES: Record<string, string | null> = {
  "BrainProtonDensitySliceBorder20.mhd": "BrainProtonDensitySliceBorder20.png",
  "BrainProtonDensitySliceBorder20DirectionPlus30.mhd": "BrainProtonDensitySliceBorder20.png",
  "BrainProtonDensitySliceBorder20DirectionMinus30.mhd": "BrainProtonDensitySliceBorder20.png",
  "BrainProtonDensitySliceShifted13x17y.mhd": "BrainProtonDensitySliceShifted13x17y.png",
  "BrainProtonDensitySliceShifted13x17yDirectionPlus30.mhd":
    "BrainProtonDensitySliceShifted13x17y.png",
  "BrainProtonDensitySliceShifted13x17yDirectionMinus30.mhd":
    "BrainProtonDensitySliceShifted13x17y.png",
  "BrainT1SliceBorder20DirectionPlus30.mhd": "BrainT1SliceBorder20.png",
  "BrainT1SliceBorder20DirectionMinus30.mhd": "BrainT1SliceBorder20.png",
  "ResampleImageFilterInput2x3.mha": "BrainProtonDensitySlice2x3.png",
  "ResampleImageFilterInput2x3b.mha": null,
  "BrainProtonDensity3Slices.mha": null,
  "RatLungSlice1.mha": null,
  "RatLungSlice2.mha": null,
  "BayesianClassifierInitializerMemberships.mhd": null,
  "CorpusCallosumMeanShape.mha": null,
  "CorpusCallosumMode0.mha": null,
  "CorpusCallosumMode1.mha": null,
  "CorpusCallosumMode2.mha": null,
  "itkBrainSliceComplex.mha": null,
  "itkBrainSliceComplexMagnitude.mha": null,
  "itkBrainSliceComplexPhase.mha": null,
};

/** numpy's reading of each file (and PIL's of its PNG twin); argv: data folder, output folder. */
const NUMPY_READER = String.raw`
import json, os, sys, zlib
import numpy as np
from PIL import Image
data, out = sys.argv[1], sys.argv[2]
names = json.loads(sys.argv[3])
types = {"MET_CHAR": "i1", "MET_UCHAR": "u1", "MET_SHORT": "i2", "MET_USHORT": "u2",
         "MET_INT": "i4", "MET_UINT": "u4", "MET_FLOAT": "f4", "MET_DOUBLE": "f8"}
result = {}
for k, (name, png) in enumerate(names.items()):
    path = os.path.join(data, name)
    blob = open(path, "rb").read()
    header, pos = {}, 0
    while "ElementDataFile" not in header:
        end = blob.index(b"\n", pos)
        line = blob[pos:end].decode("latin1").strip()
        pos = end + 1
        if line:
            key, value = line.split("=", 1)
            header[key.strip()] = value.strip()
    dims = [int(v) for v in header["DimSize"].split()]
    assert len(dims) == int(header["NDims"])
    channels = int(header.get("ElementNumberOfChannels", "1"))
    msb = header.get("BinaryDataByteOrderMSB", header.get("ElementByteOrderMSB", "False"))
    dtype = np.dtype(types[header["ElementType"]]).newbyteorder(">" if msb == "True" else "<")
    source = header["ElementDataFile"]
    raw = blob[pos:] if source == "LOCAL" else open(os.path.join(data, source), "rb").read()
    if header.get("CompressedData", "False") == "True":
        size = int(header.get("CompressedDataSize", len(raw)))
        raw = zlib.decompress(raw[:size])
    count = int(np.prod(dims)) * channels
    assert len(raw) >= count * dtype.itemsize, (name, len(raw))
    # numpy axis order: z, y, x, channel (C order = MetaIO's x fastest, channels innermost)
    values = np.frombuffer(raw, dtype, count).reshape(dims[::-1] + ([channels] if channels > 1 else []))
    values.astype("<f4").tofile(os.path.join(out, f"{k}.f32"))
    entry = {"file": f"{k}.f32", "dims": dims, "channels": channels,
             "elementType": header["ElementType"],
             "spacing": [float(v) for v in header.get("ElementSpacing", " ".join(["1"] * len(dims))).split()],
             "min": float(values.min()), "max": float(values.max())}
    if png:
        img = Image.open(os.path.join(data, png)).convert("L")
        np.asarray(img).astype("<f4").tofile(os.path.join(out, f"{k}.png.f32"))
        entry["png"] = {"file": f"{k}.png.f32", "width": img.width, "height": img.height}
    result[name] = entry
print(json.dumps(result))
`;

/** Why the ITK files cannot be checked here, or undefined when they can. */
async function whyNoItkCheck(): Promise<string | undefined> {
  const probe = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", "import numpy, PIL"],
    stderr: "null",
  }).output().catch(() => undefined);
  if (!probe?.success) {
    return "/usr/bin/python3 cannot import numpy, PIL; apt-get install python3-numpy python3-pil";
  }
  if (!(await _itkFolder())) return `no ITK example data; apt-get install ${ITK_PACKAGE}`;
  return undefined;
}

/**
 * The folder holding the example files; with `into`, the files the test needs are copied
 * there, unpacked if the package has them gzipped (`dh_compress` may, under /usr/share/doc).
 */
async function _itkFolder(into?: string): Promise<string | undefined> {
  const has = (p: string) => Deno.stat(p).then(() => true, () => false);
  const first = Object.keys(ITK_FILES)[0];
  let dir = ITK_DATA;
  if (!(await has(join(dir, first))) && !(await has(join(dir, `${first}.gz`)))) {
    // Not at the usual place: ask dpkg where the package put it.
    const out = await new Deno.Command("dpkg", { args: ["-L", ITK_PACKAGE], stderr: "null" })
      .output().catch(() => undefined);
    const hit = new TextDecoder().decode(out?.stdout ?? new Uint8Array()).split("\n")
      .find((p) => p.endsWith(`/${first}`) || p.endsWith(`/${first}.gz`));
    if (!hit) return undefined;
    dir = hit.slice(0, hit.lastIndexOf("/"));
  }
  if (!into) return dir;
  const copy = async (name: string) => {
    const plain = join(dir, name);
    const bytes = (await has(plain))
      ? await Deno.readFile(plain)
      : gunzipSync(await Deno.readFile(`${plain}.gz`));
    await Deno.writeFile(join(into, name), bytes);
    return bytes;
  };
  const copied = new Set<string>();
  for (const [header, png] of Object.entries(ITK_FILES)) {
    const text = new TextDecoder("latin1").decode(await copy(header));
    const data = /^ElementDataFile\s*=\s*(\S+)/m.exec(text)![1];
    for (const name of [data, png]) {
      if (name && name !== "LOCAL" && !copied.has(name)) (await copy(name), copied.add(name));
    }
  }
  return into;
}

const ITK_SKIP = await whyNoItkCheck();

function assertSameSamples(actual: Float32Array, expected: Float32Array, what: string) {
  assert.equal(actual.length, expected.length, `${what}: sample count`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      assert.fail(`${what}: sample ${i} is ${actual[i]} but the reference has ${expected[i]}`);
    }
  }
}

Deno.test({
  name: "readMetaImage() reads ITK-written files as numpy and PIL (PNG twins) do" +
    (ITK_SKIP ? ` (skipped: ${ITK_SKIP})` : ""),
  ignore: ITK_SKIP !== undefined,
  fn: async (t) => {
    await withTempDir(async (tmp) => {
      const dataDir = (await _itkFolder(tmp))!;
      const out = await Deno.makeTempDir({ dir: tmp });
      const run = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", NUMPY_READER, dataDir, out, JSON.stringify(ITK_FILES)],
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      const ref = JSON.parse(new TextDecoder().decode(run.stdout));
      const f32 = async (name: string) =>
        new Float32Array((await Deno.readFile(join(out, name))).buffer);
      for (const [name, png] of Object.entries(ITK_FILES)) {
        await t.step(name + (png ? ` = ${png}` : ""), async () => {
          const want = ref[name];
          const img = readMetaImage(join(dataDir, name));
          assert.deepEqual(img.dims, want.dims);
          assert.equal(img.channels, want.channels);
          assert.equal(img.elementType, want.elementType);
          assert.deepEqual(img.spacing, want.spacing);
          assertSameSamples(img.data, await f32(want.file), `${name} against numpy`);
          if (png) {
            // PIL's size is (width, height): DimSize is x first.
            assert.deepEqual(img.dims, [want.png.width, want.png.height]);
            assertSameSamples(img.data, await f32(want.png.file), `${name} against ${png}`);
          }
          let min = Infinity, max = -Infinity;
          for (const v of img.data) (min = Math.min(min, v), max = Math.max(max, v));
          assert.deepEqual([min, max], [Math.fround(want.min), Math.fround(want.max)]);
        });
      }
      // Facts that hold whatever any reader says: ITK's example volume has three 181 x 217
      // slices, and the 2-channel complex image holds (real, imaginary) pairs whose magnitude is
      // the separate magnitude image.
      const vol = readMetaImage(join(dataDir, "BrainProtonDensity3Slices.mha"));
      assert.deepEqual(vol.dims, [181, 217, 3]);
      const complex = readMetaImage(join(dataDir, "itkBrainSliceComplex.mha"));
      const magnitude = readMetaImage(join(dataDir, "itkBrainSliceComplexMagnitude.mha"));
      let worst = 0;
      for (let i = 0; i < magnitude.data.length; i++) {
        const re = complex.data[2 * i], im = complex.data[2 * i + 1];
        worst = Math.max(
          worst,
          Math.abs(Math.hypot(re, im) - magnitude.data[i]) / (1 + magnitude.data[i]),
        );
      }
      assert.ok(worst < 1e-4, `|complex| differs from the magnitude image by ${worst} (relative)`);
    });
  },
});
