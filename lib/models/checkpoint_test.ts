import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { join } from "node:path";
import { setupBackend } from "../backend/setup_backend.ts";
import { decodeWeightsInto, encodeWeights, loadWeights, saveWeights } from "./checkpoint.ts";
import { resNet } from "./resnet.ts";

await setupBackend({ quiet: true });

const tiny = (seed: number) => resNet({ blocks: [1], widths: [4], classes: 2 }, seed);

/** A weights file's bytes with its header replaced (the length field kept consistent). */
function withHeader(bytes: Uint8Array, header: string): Uint8Array {
  const hlen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const h = new TextEncoder().encode(header.padEnd(hlen, " "));
  const out = bytes.slice();
  out.set(h.subarray(0, hlen), 4);
  return out;
}

Deno.test("loadWeights() names the file, what is wrong with it and how to start over", async () => {
  const dir = await Deno.makeTempDir();
  const src = tiny(1);
  const dst = tiny(2);
  const path = join(dir, "vr.bin");
  await saveWeights(src.module, path);
  const good = await Deno.readFile(path);
  const hlen = new DataView(good.buffer).getUint32(0, true);
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /the file is empty \(0 bytes; expected at least 4\)/],
    ["3 bytes", good.slice(0, 3), /the file is 3 bytes \(expected at least 4\)/],
    [
      "cut in the header",
      good.slice(0, 40),
      new RegExp(`its header length says ${hlen} bytes but only 36 follow`),
    ],
    [
      "cut in the values",
      good.slice(0, good.length - 10),
      new RegExp(`the file is ${good.length - 10} bytes, expected ${good.length} from its header`),
    ],
    [
      "a byte too many",
      new Uint8Array([...good, 0]),
      new RegExp(`the file is ${good.length + 1} bytes, expected ${good.length} from its header`),
    ],
    ["garbage header", withHeader(good, "{not json"), /its header \(\d+ bytes\) is not JSON/],
    ["header of another shape", withHeader(good, '{"format": "gradprom-weights-v1"}'), /header/],
    [
      "garbage length",
      new Uint8Array([0xff, 0xff, 0xff, 0x7f, ...good.subarray(4)]),
      /its header length says 2147483647 bytes but only \d+ follow/,
    ],
  ];
  const before = tf.memory().numTensors;
  for (const [what, bytes, reason] of cases) {
    await Deno.writeFile(path, bytes);
    await assert.rejects(loadWeights(dst.module, path), (e: Error) => {
      assert.ok(e.message.startsWith(`${path}: not a valid weights file`), `${what}: ${e.message}`);
      assert.match(e.message, reason, what);
      assert.match(e.message, /--force/, what);
      return true;
    });
  }
  assert.equal(tf.memory().numTensors, before, "nothing leaks");
  // The model was left alone, and a whole file still loads.
  await Deno.writeFile(path, good);
  await loadWeights(dst.module, path);
  assert.deepEqual(encodeWeights(dst.module).slice(4 + hlen), good.slice(4 + hlen));
  src.module.dispose();
  dst.module.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("decodeWeightsInto() names its source in every error", () => {
  const m = tiny(0);
  assert.throws(
    () => decodeWeightsInto(m.module, new Uint8Array(2), "cache/runs/k.ip.bin"),
    /^Error: cache\/runs\/k\.ip\.bin: not a valid weights file \(gradprom-weights-v1\): the file is 2 bytes/,
  );
  m.module.dispose();
});
