import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { PYTHON_FOR_TESTS, pythonTestOptions } from "../_testing_python.ts";
import { CAMUS_DATASET } from "./camus.ts";
import { generateSyntheticCamus } from "./synthetic_camus.ts";

async function hashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else {out[relative(root, p)] = createHash("sha256").update(await Deno.readFile(p)).digest(
          "hex",
        );}
    }
  };
  await walk(root);
  return out;
}

Deno.test("generateSyntheticCamus() is byte-stable and refuses foreign folders", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const opts = { patients: 3, width: 24, height: 32 };
    const a = await generateSyntheticCamus({ ...opts, dir: join(tmp, "a") });
    const b = await generateSyntheticCamus({ ...opts, dir: join(tmp, "b") });
    const ha = await hashes(a.root), hb = await hashes(b.root);
    assert.deepEqual(ha, hb);
    assert.ok(CAMUS_DATASET.synthetic.marker in ha);
    assert.ok("nifti/database_nifti/patient0001/patient0001_2CH_half_sequence.nii.gz" in ha);
    assert.ok("mhd/testing/patient0003/patient0003_4CH_ES.mhd" in ha);
    assert.ok(!("mhd/testing/patient0003/patient0003_4CH_ES_gt.mhd" in ha));
    const foreign = join(tmp, "real");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "mine.txt"), "x");
    await assert.rejects(generateSyntheticCamus({ ...opts, dir: foreign }), /Refusing to replace/);
    await assert.rejects(generateSyntheticCamus({ patients: 1 }), /patients/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  ...(await pythonTestOptions(
    "generateSyntheticCamus() files read by nibabel: data[y * W + x] is nibabel's [x, y]",
    ["nibabel"],
  )),
  fn: async () => {
    const { nifti } = await generateSyntheticCamus();
    const path = join(nifti, "database_nifti", "patient0001", "patient0001_2CH_ED_gt.nii.gz");
    const { readNifti } = await import("../io/nifti.ts");
    const img = readNifti(path);
    const [w, h] = img.dims;
    const py =
      `import nibabel,sys;d=nibabel.load(sys.argv[1]).get_fdata();print(d.shape[0],d.shape[1],int(d[${
        w >> 1
      },${h - 1 >> 1}]),int(d[0,0]))`;
    const out = await new Deno.Command(PYTHON_FOR_TESTS, { args: ["-c", py, path] }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const [sw, sh, centre, corner] = new TextDecoder().decode(out.stdout).trim().split(" ").map(
      Number,
    );
    assert.deepEqual([sw, sh], [w, h]);
    assert.equal(centre, img.data[(h - 1 >> 1) * w + (w >> 1)]);
    assert.equal(corner, img.data[0]);
  },
});
