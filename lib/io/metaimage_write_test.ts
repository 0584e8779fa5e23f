import assert from "node:assert/strict";
import { writeMetaImage } from "./metaimage_write.ts";
import { readMetaImage } from "./metaimage.ts";

Deno.test("writeMetaImage() round-trips through readMetaImage", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const elementType of ["MET_UCHAR", "MET_SHORT", "MET_USHORT", "MET_FLOAT"] as const) {
      const path = `${dir}/${elementType}.mhd`;
      await writeMetaImage(path, {
        dims: [2, 2, 2],
        data: [0, 1, 2, 3, 4, 5, 6, 7],
        elementType,
        spacing: [0.5, 1, 2],
      });
      const img = readMetaImage(path);
      assert.deepEqual(img.dims, [2, 2, 2]);
      assert.deepEqual(img.spacing, [0.5, 1, 2]);
      assert.equal(img.elementType, elementType);
      assert.deepEqual([...img.data], [0, 1, 2, 3, 4, 5, 6, 7]);
    }
    await assert.rejects(
      writeMetaImage(`${dir}/x.raw`, { dims: [1], data: [0] }),
      /ending in \.mhd/,
    );
    await assert.rejects(writeMetaImage(`${dir}/y.mhd`, { dims: [1], data: [-1] }), /found -1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** numpy's reading of each header + raw (argv: JSON list of .mhd paths), not our reader's. */
const NUMPY_READER = String.raw`
import json, os, sys
import numpy as np
types = {"MET_UCHAR": "<u1", "MET_SHORT": "<i2", "MET_USHORT": "<u2", "MET_FLOAT": "<f4"}
result = {}
for path in json.loads(sys.argv[1]):
    lines = open(path, encoding="ascii").read().splitlines()
    header = dict((s.strip() for s in line.split("=", 1)) for line in lines if line.strip())
    assert lines[-1].startswith("ElementDataFile"), "ElementDataFile must be the last key"
    assert header["BinaryDataByteOrderMSB"] == "False" and header["CompressedData"] == "False"
    dims = [int(v) for v in header["DimSize"].split()]
    assert len(dims) == int(header["NDims"])
    raw = os.path.join(os.path.dirname(path), header["ElementDataFile"])
    dtype = np.dtype(types[header["ElementType"]])
    assert os.path.getsize(raw) == int(np.prod(dims)) * dtype.itemsize, "raw file size"
    values = np.fromfile(raw, dtype).reshape(dims[::-1])  # z, y, x: MetaIO stores x fastest
    result[os.path.basename(path)] = {
        "keys": list(header), "dims": dims, "type": header["ElementType"],
        "spacing": [float(v) for v in header["ElementSpacing"].split()],
        "nested": values.astype(float).tolist()}
print(json.dumps(result))
`;

const NUMPY_MISSING = !(await new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import numpy"],
  stderr: "null",
}).output().then((o) => o.success, () => false));

/** `data` (x fastest) as numpy's nested [z][y][x] list. */
function nested(data: number[], dims: number[]): unknown {
  if (dims.length === 1) return data;
  const inner = dims.slice(0, -1), step = inner.reduce((a, b) => a * b, 1);
  return Array.from(
    { length: dims[dims.length - 1] },
    (_, k) => nested(data.slice(k * step, (k + 1) * step), inner),
  );
}

Deno.test({
  name: "writeMetaImage() output is read by numpy as written (x fastest, little-endian)" +
    (NUMPY_MISSING
      ? " (skipped: /usr/bin/python3 cannot import numpy; apt-get install python3-numpy)"
      : ""),
  ignore: NUMPY_MISSING,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const cases = [
        {
          name: "uchar_2d",
          elementType: "MET_UCHAR",
          dims: [3, 2],
          data: [0, 1, 2, 253, 254.4, 255],
        },
        {
          name: "short_3d",
          elementType: "MET_SHORT",
          dims: [2, 3, 2],
          data: [-32768, -7.6, -1, 0, 1, 2, 300, 4096, 12345, -12345, 32766, 32767],
        },
        {
          name: "ushort_2d",
          elementType: "MET_USHORT",
          dims: [2, 3],
          data: [0, 1, 256, 257, 65534, 65535],
        },
        {
          name: "float_3d",
          elementType: "MET_FLOAT",
          dims: [2, 2, 2],
          data: [0.1, -2.5, 1e-8, 3e38, -0, 7, 0.333, -1e6],
        },
        {
          name: "uchar_4d",
          elementType: "MET_UCHAR",
          dims: [2, 1, 2, 2],
          data: [1, 2, 3, 4, 5, 6, 7, 8],
        },
      ] as const;
      const spacing = (d: number) => Array.from({ length: d }, (_, i) => 0.25 * (i + 1));
      for (const c of cases) {
        await writeMetaImage(`${dir}/${c.name}.mhd`, {
          dims: c.dims,
          data: c.data,
          elementType: c.elementType,
          spacing: spacing(c.dims.length),
        });
      }
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", NUMPY_READER, JSON.stringify(cases.map((c) => `${dir}/${c.name}.mhd`))],
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const got = JSON.parse(new TextDecoder().decode(out.stdout));
      for (const c of cases) {
        const g = got[`${c.name}.mhd`];
        assert.deepEqual(g.dims, c.dims, c.name);
        assert.equal(g.type, c.elementType, c.name);
        assert.deepEqual(g.spacing, spacing(c.dims.length), c.name);
        assert.equal(g.keys[0], "ObjectType", c.name);
        const stored = c.data.map((v) =>
          c.elementType === "MET_FLOAT" ? Math.fround(v) : Math.round(v)
        );
        assert.deepEqual(g.nested, nested(stored, [...c.dims]), c.name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
