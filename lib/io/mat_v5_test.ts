import assert from "node:assert/strict";
import { type MatArray, readMat, toRowMajor2d } from "./mat_v5.ts";

const DIR = new URL("../../tests/fixtures/formats/mat/", import.meta.url);
const EXPECTED = JSON.parse(
  Deno.readTextFileSync(new URL("../expected.json", DIR)),
).mat as Record<string, Record<string, ExpectedVar>>;

interface ExpectedVar {
  className: string;
  dims: number[];
  /** Space-separated values, column-major; Number() or BigInt() parses each exactly. */
  data: string;
}

function decode(want: ExpectedVar): (number | bigint)[] {
  const tokens = want.data === "" ? [] : want.data.split(" ");
  const big = want.className === "int64" || want.className === "uint64";
  return tokens.map((t) => big ? BigInt(t) : Number(t));
}

function assertMatches(file: string, got: MatArray, want: ExpectedVar) {
  assert.equal(got.className, want.className, `${file} ${got.name} class`);
  assert.deepEqual(got.dims, want.dims, `${file} ${got.name} dims`);
  const values = decode(want);
  assert.equal(got.data.length, values.length, `${file} ${got.name} length`);
  for (let i = 0; i < values.length; i++) {
    const w = values[i];
    assert.ok(Object.is(got.data[i], w), `${file} ${got.name}[${i}]: ${got.data[i]} vs ${w}`);
  }
}

const bytesOf = (name: string) => Deno.readFileSync(new URL(name, DIR));

Deno.test("readMat() reads every scipy / hand-written fixture exactly", () => {
  for (const [file, vars] of Object.entries(EXPECTED)) {
    const got = readMat(new URL(file, DIR), { skipUnsupported: true });
    const names = Object.keys(vars).filter((n) => !n.startsWith("_"));
    assert.deepEqual([...got.keys()].sort(), names.sort(), file);
    for (const name of names) assertMatches(file, got.get(name)!, vars[name]);
  }
});

Deno.test("readMat() gives the Lizard variables their classes and shapes", () => {
  for (const file of ["lizard_compressed.mat", "lizard_plain.mat"]) {
    const m = readMat(new URL(file, DIR).pathname);
    const inst = m.get("inst_map")!;
    assert.equal(inst.className, "uint16");
    assert.deepEqual(inst.dims, [37, 23]);
    assert.ok(inst.data instanceof Uint16Array);
    const n = m.get("id")!.dims[0];
    assert.deepEqual(m.get("class")!.dims, [n, 1]);
    assert.ok(m.get("class_u8")!.data instanceof Uint8Array);
    assert.deepEqual(m.get("bbox")!.dims, [n, 4]);
    assert.deepEqual(m.get("centroid")!.dims, [n, 2]);
    assert.ok(m.get("centroid")!.data instanceof Float64Array);
    for (let k = 0; k < n; k++) assert.ok(m.get("class")!.get(k, 0) >= 1);
  }
  const a = readMat(bytesOf("lizard_compressed.mat"));
  const b = readMat(bytesOf("lizard_plain.mat"));
  for (const [name, v] of a) assert.deepEqual(v.data, b.get(name)!.data, name);
});

Deno.test("readMat() converts integer-stored doubles and 64-bit classes", () => {
  const m = readMat(bytesOf("handmade_be.mat"));
  assert.ok(m.get("cls")!.data instanceof Float64Array); // stored as miUINT8
  assert.deepEqual([...m.get("bbox_d")!.data], [-1, 300, 2, -400]); // stored as miINT16
  const c = readMat(bytesOf("classes_compressed.mat"));
  assert.ok(c.get("v_int64")!.data instanceof BigInt64Array);
  assert.ok(c.get("v_uint64")!.data instanceof BigUint64Array);
  assert.equal(c.get("v_logical")!.className, "logical");
  assert.equal(c.get("scalar")!.get(0, 0), 3.25);
  assert.equal(c.get("small_scalar")!.get(0), -5);
  assert.deepEqual(c.get("empty")!.dims, [0, 0]);
  assert.equal(c.get("volume")!.get(1, 2, 3), (1 * 12 + 2 * 4 + 3) * 0.5); // numpy [1, 2, 3]
});

Deno.test("MatArray.get() and toRowMajor2d() agree and check bounds", () => {
  const inst = readMat(bytesOf("lizard_plain.mat")).get("inst_map")!;
  const rows = toRowMajor2d(inst);
  assert.ok(rows instanceof Uint16Array);
  for (let i = 0; i < 37; i++) {
    for (let j = 0; j < 23; j++) {
      assert.equal(rows[i * 23 + j], inst.get(i, j));
      assert.equal(inst.get(i, j), inst.data[i + j * 37]);
    }
  }
  assert.throws(() => inst.get(37, 0), /Expected index 0 of 'inst_map' in \[0, 36\] but found 37/);
  assert.throws(() => inst.get(1, 2, 3), /Expected 1 or 2 indices/);
  const vol = readMat(bytesOf("classes_plain.mat")).get("volume")!;
  assert.throws(
    () => toRowMajor2d(vol),
    /Expected a 2-D array for 'volume' but found dims \[2, 3, 4\]/,
  );
});

Deno.test("readMat() names unsupported variables and can skip them", () => {
  const file = new URL("unsupported.mat", DIR);
  assert.throws(() => readMat(file), /unsupported\.mat: variable 'note' is a char array/);
  assert.throws(() => readMat(file, { variables: ["meta"] }), /'meta' is a struct/);
  assert.throws(() => readMat(file, { variables: ["cells"] }), /'cells' is a cell array/);
  assert.deepEqual([...readMat(file, { variables: ["ok"] }).keys()], ["ok"]);
  assert.deepEqual([...readMat(file, { skipUnsupported: true }).keys()], ["ok"]);
  assert.throws(() => readMat(file, { variables: ["ok", "nope"] }), /'nope' not found/);
});

Deno.test("readMat() reports truncation with the file and byte offset", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const full = bytesOf("lizard_plain.mat");
    const path = `${dir}/cut.mat`;
    await Deno.writeFile(path, full.subarray(0, 1000));
    assert.throws(
      () => readMat(path),
      (e: Error) =>
        e.message.startsWith(`${path}: truncated file`) && /at byte \d+/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Any cut either throws a clear error or (at an element boundary) returns correct variables.
  for (const file of ["lizard_plain.mat", "lizard_compressed.mat", "handmade_be.mat"]) {
    const full = bytesOf(file);
    const whole = readMat(full);
    for (let n = 0; n < full.length; n++) {
      let got: Map<string, MatArray>;
      try {
        got = readMat(full.subarray(0, n));
      } catch (e) {
        assert.match((e as Error).message, /truncated|decompress|header/, `${file} cut at ${n}`);
        continue;
      }
      for (const [name, v] of got) assert.deepEqual(v.data, whole.get(name)!.data, `${file}@${n}`);
    }
  }
});

Deno.test("readMat() rejects a wrong magic, a bad endian indicator and an unknown data type", () => {
  const good = bytesOf("lizard_plain.mat");
  const wrong = good.slice();
  wrong.set(new TextEncoder().encode("HELLO WORLD"), 0);
  assert.throws(() => readMat(wrong), /not a MATLAB Level 5 MAT-file.*found "HELLO WORLD/);
  const endian = good.slice();
  endian.set([0x58, 0x58], 126);
  assert.throws(() => readMat(endian), /endian indicator "IM" or "MI" at byte 126 but found "XX"/);
  // inst_map is the first variable: tag (8) + flags (16) + dims (16) + name "inst_map" (16).
  const unknown = good.slice();
  const view = new DataView(unknown.buffer);
  assert.equal(view.getUint32(184, true), 4); // miUINT16
  view.setUint32(184, 8, true); // 8 is reserved in the MAT-file format
  assert.throws(() => readMat(unknown), /unknown data type 8 in variable 'inst_map' at byte 184/);
  assert.throws(() => readMat("/nonexistent/x.mat"), /MAT-file not found: \/nonexistent\/x\.mat/);
});

Deno.test("readMat() says a v7.3 file is HDF5 and how to re-save it", () => {
  const bytes = new Uint8Array(1024);
  const text = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: x HDF5 schema 1.00 .";
  bytes.set(new TextEncoder().encode(text.padEnd(116, " ")), 0);
  bytes.set([0x00, 0x02, 0x49, 0x4d], 124);
  bytes.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);
  assert.throws(() => readMat(bytes), /MATLAB 7\.3 MAT-file \(HDF5\).*'-v7'.*scipy/);
});
