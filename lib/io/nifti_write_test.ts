import assert from "node:assert/strict";
import { encodeNifti, writeNifti } from "./nifti_write.ts";
import { readNifti } from "./nifti.ts";
import { PYTHON_FOR_TESTS, pythonTestOptions } from "../_testing_python.ts";

Deno.test("encodeNifti() round-trips through readNifti for each datatype", () => {
  for (const datatype of ["uint8", "int16", "uint16", "float32"] as const) {
    for (const gzip of [false, true]) {
      const data = [0, 1, 2, 3, 4, 250];
      const img = readNifti(encodeNifti({ dims: [3, 2], data, datatype, gzip, pixDims: [0.5, 2] }));
      assert.deepEqual(img.dims, [3, 2]);
      assert.deepEqual(img.pixDims, [0.5, 2]);
      assert.equal(img.datatype, datatype);
      assert.deepEqual([...img.data], data);
    }
  }
  assert.throws(() => encodeNifti({ dims: [2, 2], data: [1, 2, 3] }), /Expected 4 values/);
  assert.throws(() => encodeNifti({ dims: [1], data: [300] }), /found 300/);
});

Deno.test({
  ...(await pythonTestOptions("writeNifti() output is read by nibabel (x fastest)", ["nibabel"])),
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".nii.gz" });
    try {
      await writeNifti(path, { dims: [3, 2], data: [0, 1, 2, 3, 4, 5], pixDims: [0.5, 2] });
      const py =
        "import nibabel,sys;i=nibabel.load(sys.argv[1]);d=i.get_fdata();print(d.shape,d[2,1],d[1,0],i.header.get_zooms())";
      const out = await new Deno.Command(PYTHON_FOR_TESTS, { args: ["-c", py, path] }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "(3, 2) 5.0 1.0 (0.5, 2.0)");
    } finally {
      await Deno.remove(path);
    }
  },
});
