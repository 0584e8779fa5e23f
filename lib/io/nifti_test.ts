import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { readNifti } from "./nifti.ts";

const DIR = new URL("../../tests/fixtures/formats/nifti/", import.meta.url);
const EXPECTED = JSON.parse(
  Deno.readTextFileSync(new URL("../expected.json", DIR)),
).nifti as Record<string, ExpectedImage | { error: string }>;

interface ExpectedImage {
  dims: number[];
  pixDims: number[];
  datatype: string;
  /** Space-separated values, x fastest; Number() parses each exactly. */
  data: string;
}

const decode = (want: ExpectedImage) => want.data.split(" ").map(Number);
const bytesOf = (name: string) => Deno.readFileSync(new URL(name, DIR));

Deno.test("readNifti() reads every nibabel fixture exactly", () => {
  let n = 0;
  for (const [file, want] of Object.entries(EXPECTED)) {
    if ("error" in want) continue;
    const img = readNifti(new URL(file, DIR));
    assert.deepEqual(img.dims, want.dims, file);
    assert.deepEqual(img.pixDims, want.pixDims, file);
    assert.equal(img.datatype, want.datatype, file);
    assert.equal(img.version, file.startsWith("nifti2") ? 2 : 1, file);
    const values = decode(want);
    assert.equal(img.data.length, values.length, file);
    for (let i = 0; i < values.length; i++) {
      assert.ok(Object.is(img.data[i], values[i]), `${file}[${i}]: ${img.data[i]} vs ${values[i]}`);
    }
    n++;
  }
  assert.equal(n, 12);
});

Deno.test("readNifti() applies scl_slope / scl_inter and reads .nii.gz like .nii", () => {
  const plain = readNifti(bytesOf("ct_3d_int16_slope.nii"));
  const gz = readNifti(new URL("ct_3d_int16_slope.nii.gz", DIR).pathname);
  assert.equal(plain.sclSlope, 0.5);
  assert.equal(plain.sclInter, -10);
  assert.deepEqual(gz, plain);
  const img = readNifti(bytesOf("camus_2d_uint8.nii"));
  assert.equal(img.sclSlope, 1);
  assert.equal(img.sclInter, 0);
});

Deno.test("readNifti() keeps x fastest: row y, column x is data[y * nx + x]", () => {
  const want = decode(EXPECTED["camus_2d_uint8.nii"] as ExpectedImage);
  const img = readNifti(bytesOf("camus_2d_uint8.nii.gz"));
  const [nx, ny] = img.dims;
  assert.deepEqual([nx, ny], [13, 9]);
  // expected data is nibabel's array [x, y] flattened in Fortran order (x fastest)
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) assert.equal(img.data[y * nx + x], want[x + y * nx]);
  }
  const be = readNifti(bytesOf("mr_3d_float32_be.nii"));
  const le = readNifti(bytesOf("mr_3d_float32.nii.gz"));
  assert.deepEqual(be.data, le.data);
});

Deno.test("readNifti() rejects truncated, non-NIfTI and unsupported files clearly", async () => {
  const full = bytesOf("ct_3d_int16_slope.nii");
  assert.throws(
    () => readNifti(full.subarray(0, 200)),
    /<bytes>: truncated file: a NIfTI header needs at least 348 bytes but found 200/,
  );
  assert.throws(
    () => readNifti(full.subarray(0, full.length - 1)),
    /truncated file: the int16 data of dims \[5, 4, 3\] starts at byte 352 and needs 120 bytes \(to byte 472\) but the file has 471/,
  );
  const gz = bytesOf("ct_3d_int16_slope.nii.gz");
  assert.throws(() => readNifti(gz.subarray(0, gz.length - 10)), /could not decompress the gzip/);
  assert.throws(
    () => readNifti(gzipSync(full.subarray(0, 400))),
    /but the decompressed file has 400/,
  );
  const wrong = full.slice();
  wrong.set([0x58, 0x58, 0x58], 344);
  assert.throws(() => readNifti(wrong), /not a NIfTI file: .* found sizeof_hdr 348 .* magic "XXX"/);
  const pair = full.slice();
  pair.set([0x6e, 0x69, 0x31], 344); // "ni1"
  assert.throws(() => readNifti(pair), /\.hdr\/\.img pair/);
  const unknown = full.slice();
  new DataView(unknown.buffer).setInt16(70, 999, true);
  assert.throws(() => readNifti(unknown), /unsupported NIfTI datatype code 999 \(unknown\)/);
  assert.throws(
    () => readNifti(new URL("rgb24.nii", DIR)),
    /rgb24\.nii: unsupported NIfTI datatype code 128 \(RGB24\)/,
  );
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cut.nii`;
    await Deno.writeFile(path, full.subarray(0, 400));
    assert.throws(() => readNifti(path), new RegExp(`^Error: ${path}: truncated file`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.throws(() => readNifti("/nonexistent/x.nii.gz"), /NIfTI file not found: \/nonexistent/);
});
