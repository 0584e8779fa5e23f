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
