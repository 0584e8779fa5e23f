import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { Rng } from "../util/rng.ts";
import { gradientSimilarity } from "./gradient_similarity.ts";
import { gradProm } from "./grad_prom.ts";
import { assertClose, mapOf, randomMap, read } from "./_testing.ts";

await setupBackend({ quiet: true });

Deno.test("gradientSimilarity() unweighted adds aux iff cos > 0", () => {
  const s = gradientSimilarity({ mode: "unweighted" });
  const open = s(mapOf({ w: [1, 0] }), mapOf({ w: [1, 3] }));
  assert.deepEqual(read(open.grads).w, [2, 3]);
  assert.equal(open.auxWeight, 1);
  const shut = s(mapOf({ w: [1, 0] }), mapOf({ w: [-1, 3] }));
  assert.deepEqual(read(shut.grads).w, [1, 0]);
  assert.equal(shut.auxWeight, 0);
});

Deno.test("gradientSimilarity() is strict at cos = 0 where gradProm() is not", () => {
  const main = mapOf({ w: [1, 0] }), aux = mapOf({ w: [0, 2] });
  const du = gradientSimilarity({ mode: "unweighted" })(main, aux);
  const gp = gradProm()(main, aux);
  assert.equal(du.cosine, 0);
  assert.deepEqual(read(du.grads).w, [1, 0]);
  assert.deepEqual(read(gp.grads).w, [1, 2]);
  // A zero main gradient: cosine 0, so also refused here.
  const z = gradientSimilarity({ mode: "unweighted" })(mapOf({ w: [0, 0] }), aux);
  assert.deepEqual(read(z.grads).w, [0, 0]);
});

Deno.test("gradientSimilarity() weighted equals gradProm() weighted", () => {
  const rng = new Rng(2);
  for (const granularity of ["global", "layer"] as const) {
    for (let t = 0; t < 5; t++) {
      const main = randomMap(rng), aux = randomMap(rng);
      const a = gradientSimilarity({ mode: "weighted", granularity })(main, aux);
      const b = gradProm({ mode: "weighted", granularity })(main, aux);
      assert.deepEqual(read(a.grads), read(b.grads));
      assert.equal(a.auxWeight, b.auxWeight);
      tf.dispose([main, aux, a.grads, b.grads]);
    }
  }
});

Deno.test("gradientSimilarity() layer granularity gates each variable", () => {
  const s = gradientSimilarity({ mode: "unweighted", granularity: "layer" });
  const r = s(mapOf({ a: [1], b: [1], c: [1] }), mapOf({ a: [-1], b: [3], c: [0] }));
  assert.deepEqual(read(r.grads), { a: [1], b: [4], c: [1] });
  assertClose([r.auxWeight], [1 / 3]);
});

Deno.test("gradientSimilarity() rejects unknown modes and granularities", () => {
  assert.throws(
    () => gradientSimilarity({ mode: "gate" as "weighted" }),
    /mode "weighted" or "unweighted" but found "gate"/,
  );
  assert.throws(
    () => gradientSimilarity({ granularity: "net" as "global" }),
    /granularity "global" or "layer" but found "net"/,
  );
});
