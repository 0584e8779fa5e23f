import assert from "node:assert/strict";
import { readMat } from "./mat_v5.ts";
import { type MatVariable, writeMat } from "./mat_v5_write.ts";
import { PYTHON_FOR_TESTS, pythonTestOptions } from "../_testing_python.ts";

const VARS: Record<string, MatVariable> = {
  inst_map: { className: "uint16", dims: [3, 2], data: [0, 1, 2, 0, 2, 65535] },
  id: { className: "double", dims: [2, 1], data: [1, 2] },
  class: { className: "uint8", dims: [2, 1], data: [3, 6] },
  centroid: { className: "double", dims: [2, 2], data: [0.5, -1.25, 1e300, Math.PI] },
  s: { className: "single", dims: [1, 1], data: [0.5] },
  i8: { className: "int8", dims: [1, 2], data: [-128, 127] },
  i32: { className: "int32", dims: [1, 2], data: [-2147483648, 7] },
  u32: { className: "uint32", dims: [1, 1], data: [4294967295] },
  i64: { className: "int64", dims: [1, 2], data: [-(2n ** 63n), 5n] },
  u64: { className: "uint64", dims: [1, 1], data: [2n ** 64n - 1n] },
  flag: { className: "logical", dims: [1, 3], data: [1, 0, 1] },
  cube: { className: "int16", dims: [2, 1, 2], data: [1, -2, 3, -4] },
  empty: { className: "double", dims: [0, 0], data: [] },
};

Deno.test("writeMat() round-trips every numeric class through readMat, compressed or not", () => {
  for (const compress of [true, false]) {
    const got = readMat(writeMat(VARS, { compress }));
    assert.deepEqual([...got.keys()], Object.keys(VARS));
    for (const [name, want] of Object.entries(VARS)) {
      const v = got.get(name)!;
      assert.equal(v.className, want.className, name);
      assert.deepEqual(v.dims, want.dims, name);
      assert.deepEqual([...v.data], Array.from(want.data), name);
    }
  }
});

Deno.test("writeMat() output is byte-stable and 8-byte aligned when uncompressed", () => {
  const a = writeMat(VARS), b = writeMat(VARS);
  assert.deepEqual(a, b);
  assert.equal(writeMat(VARS, { compress: false }).length % 8, 0);
  assert.equal(new TextDecoder().decode(a.subarray(0, 6)), "MATLAB");
  assert.equal(String.fromCharCode(a[126], a[127]), "IM");
});

Deno.test("writeMat() refuses values the class cannot hold, bad dims and bad names", () => {
  const one = (v: MatVariable, name = "x") => () => writeMat({ [name]: v });
  assert.throws(
    one({ className: "uint16", dims: [1, 1], data: [70000] }),
    /70000 at index 0 of 'x' cannot be stored exactly as uint16/,
  );
  assert.throws(one({ className: "int32", dims: [1, 1], data: [1.5] }), /1.5 .* int32/);
  assert.throws(one({ className: "logical", dims: [1, 1], data: [2] }), /logical/);
  assert.throws(
    one({ className: "double", dims: [2, 2], data: [1, 2, 3] }),
    /Expected 4 values for 'x' \(dims \[2, 2\]\) but found 3/,
  );
  assert.throws(one({ className: "double", dims: [3], data: [1, 2, 3] }), /at least 2/);
  assert.throws(one({ className: "double", dims: [1, 1], data: [1] }, "1bad"), /"1bad"/);
  assert.throws(
    one({ className: "char" as never, dims: [1, 1], data: [1] }),
    /className of 'x' .* found "char"/,
  );
});

/** scipy's reading of a file: dtype, shape and column-major values of each variable. */
const PY = `
import sys, json, scipy.io, numpy as np
m = scipy.io.loadmat(sys.argv[1])
out = {}
for k, v in m.items():
    if k.startswith("__"): continue
    out[k] = {"dtype": str(v.dtype), "shape": list(v.shape),
              "data": [str(x) for x in np.asarray(v).flatten(order="F").tolist()]}
print(json.dumps(out))
`;

const SCIPY_DTYPE: Record<string, string> = {
  double: "float64",
  single: "float32",
  int8: "int8",
  uint8: "uint8",
  int16: "int16",
  uint16: "uint16",
  int32: "int32",
  uint32: "uint32",
  int64: "int64",
  uint64: "uint64",
  logical: "uint8", // scipy reads MATLAB logicals (uint8 + logical flag) as uint8, as it writes them
};

Deno.test({
  ...(await pythonTestOptions("writeMat() output is read identically by scipy.io.loadmat", [
    "scipy.io",
    "numpy",
  ])),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      for (const compress of [true, false]) {
        const path = `${dir}/v${compress ? 7 : 6}.mat`;
        await Deno.writeFile(path, writeMat(VARS, { compress }));
        const r = await new Deno.Command(PYTHON_FOR_TESTS, { args: ["-c", PY, path] }).output();
        assert.ok(r.success, new TextDecoder().decode(r.stderr));
        const got = JSON.parse(new TextDecoder().decode(r.stdout));
        assert.deepEqual(Object.keys(got).sort(), Object.keys(VARS).sort());
        for (const [name, want] of Object.entries(VARS)) {
          const g = got[name];
          assert.equal(g.dtype, SCIPY_DTYPE[want.className], `${name} dtype`);
          assert.deepEqual(g.shape, [...want.dims], `${name} shape`);
          const big = want.className === "int64" || want.className === "uint64";
          const values = Array.from(want.data).map((x) => big ? BigInt(x) : Number(x));
          const parsed = g.data.map((s: string) => big ? BigInt(s) : Number(s));
          assert.deepEqual(parsed, values, `${name} values`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
