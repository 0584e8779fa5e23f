/**
 * A writer for MetaImage (`.mhd` header + `.raw` data), the counterpart of
 * {@linkcode readMetaImage}; used by the synthetic CAMUS generator (legacy 2019 release).
 *
 * The header follows what ITK / the CAMUS challenge files carry: `ObjectType = Image`,
 * `NDims`, `BinaryData = True`, `BinaryDataByteOrderMSB = False`, `CompressedData = False`,
 * `TransformMatrix` (identity), `Offset` (zeros), `CenterOfRotation` (zeros),
 * `ElementSpacing`, `DimSize` (x first), `AnatomicalOrientation` (`RAI` truncated to NDims),
 * `ElementType`, and last `ElementDataFile` (the `.raw` file's name, beside the header). Samples
 * are little-endian, x fastest.
 *
 * @module
 */

import { basename } from "node:path";

/** Element types {@linkcode writeMetaImage} writes. */
export type MetaImageWriteType = "MET_UCHAR" | "MET_SHORT" | "MET_USHORT" | "MET_FLOAT";

/** An image to write with {@linkcode writeMetaImage}. */
export interface MetaImageWriteImage {
  /** `DimSize`, x first (1 to 4 axes). */
  dims: readonly number[];
  /** Samples, x fastest; length is the product of `dims`. Rounded for integer types. */
  data: ArrayLike<number>;
  /** Element type (default `MET_UCHAR`). */
  elementType?: MetaImageWriteType;
  /** `ElementSpacing` (default 1 each). */
  spacing?: readonly number[];
}

const _TYPES: Record<MetaImageWriteType, { bytes: number; min: number; max: number }> = {
  MET_UCHAR: { bytes: 1, min: 0, max: 255 },
  MET_SHORT: { bytes: 2, min: -32768, max: 32767 },
  MET_USHORT: { bytes: 2, min: 0, max: 65535 },
  MET_FLOAT: { bytes: 4, min: -Infinity, max: Infinity },
};

/**
 * Writes `<name>.mhd` and its data file `<name>.raw` beside it.
 *
 * @param path Header path; must end in `.mhd`.
 * @param image Dims, samples, element type, spacing.
 * @returns Resolves when both files are written. Throws a RangeError naming what was found
 * for a bad path, dims, data length or an out-of-range integer sample.
 * @example
 * ```ts
 * import { writeMetaImage } from "./metaimage_write.ts";
 * import { readMetaImage } from "./metaimage.ts";
 * const dir = await Deno.makeTempDir();
 * await writeMetaImage(`${dir}/a.mhd`, { dims: [3, 2], data: [0, 1, 2, 3, 4, 5] });
 * console.log(readMetaImage(`${dir}/a.mhd`).data[5]); // 5
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeMetaImage(path: string, image: MetaImageWriteImage): Promise<void> {
  if (!path.endsWith(".mhd")) {
    throw new RangeError(`Expected a header path ending in .mhd but found ${path}`);
  }
  const { dims, data, elementType = "MET_UCHAR" } = image;
  const spacing = image.spacing ?? dims.map(() => 1);
  if (
    !Array.isArray(dims) || dims.length < 1 || dims.length > 4 ||
    !dims.every((d) => Number.isInteger(d) && d >= 1)
  ) {
    throw new RangeError(`Expected 1 to 4 positive integer dims but found ${JSON.stringify(dims)}`);
  }
  const type = _TYPES[elementType];
  if (!type) {
    throw new TypeError(
      `Expected elementType ${Object.keys(_TYPES).join(", ")} but found ${
        JSON.stringify(elementType)
      }`,
    );
  }
  if (spacing.length !== dims.length || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new RangeError(
      `Expected ${dims.length} positive spacings but found ${JSON.stringify(spacing)}`,
    );
  }
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) {
    throw new RangeError(
      `Expected ${n} values for dims [${dims.join(", ")}] but found ${data.length}`,
    );
  }
  const raw = new Uint8Array(n * type.bytes);
  const v = new DataView(raw.buffer);
  for (let i = 0; i < n; i++) {
    const x = Number(data[i]);
    if (elementType === "MET_FLOAT") {
      v.setFloat32(4 * i, x, true);
      continue;
    }
    const r = Math.round(x);
    if (!(r >= type.min && r <= type.max)) {
      throw new RangeError(
        `Expected ${elementType} values in [${type.min}, ${type.max}] but found ${x} at index ${i}`,
      );
    }
    if (elementType === "MET_UCHAR") raw[i] = r;
    else if (elementType === "MET_SHORT") v.setInt16(2 * i, r, true);
    else v.setUint16(2 * i, r, true);
  }
  const d = dims.length;
  const identity = Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
  const rawPath = path.slice(0, -4) + ".raw";
  const header = [
    "ObjectType = Image",
    `NDims = ${d}`,
    "BinaryData = True",
    "BinaryDataByteOrderMSB = False",
    "CompressedData = False",
    `TransformMatrix = ${identity.join(" ")}`,
    `Offset = ${Array(d).fill(0).join(" ")}`,
    `CenterOfRotation = ${Array(d).fill(0).join(" ")}`,
    `ElementSpacing = ${spacing.join(" ")}`,
    `DimSize = ${dims.join(" ")}`,
    `AnatomicalOrientation = ${"RAIT".slice(0, d)}`,
    `ElementType = ${elementType}`,
    `ElementDataFile = ${basename(rawPath)}`,
    "",
  ].join("\n");
  await Deno.writeFile(rawPath, raw);
  await Deno.writeTextFile(path, header);
}
