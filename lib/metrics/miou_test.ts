import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { _decodeFloat32 } from "./_testing.ts";
import { confusionMatrix, dice, meanIoU, perClassDice, perClassIoU } from "./miou.ts";

await setupBackend({ quiet: true });

interface _SegCase {
  name: string;
  classes: number;
  shape: number[];
  /** uint8 class indices, base64. */
  target: string;
  pred?: string;
  logits?: string;
  confusion: number[][];
  iou: (number | null)[];
  jaccard_zero: number[];
  jaccard_one: number[];
  dice_zero: number[];
  dice_one: number[];
  miou: number | null;
  miou_no_bg: number | null;
  dice: number | null;
  dice_no_bg: number | null;
  miou_zero: number;
}

/** uint8 class indices, base64, as written by the fixture script. */
const decodeLabels = (b64: string) => Array.from(atob(b64), (ch) => ch.charCodeAt(0));

const CASES: _SegCase[] = JSON.parse(
  Deno.readTextFileSync(new URL("../../tests/fixtures/seg/miou.json", import.meta.url)),
).cases;

const close = (actual: number, expected: number | null, what: string) => {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN but found ${actual}`);
  } else assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);
};
const allClose = (actual: number[], expected: (number | null)[], what: string) => {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => close(a, expected[i], `${what}[${i}]`));
};

/** The prediction of a case as a tensor: logits `[...shape, K]` or labels of `shape`. */
const predTensor = (c: _SegCase) =>
  c.logits
    ? tf.tensor(_decodeFloat32(c.logits), [...c.shape, c.classes], "float32")
    : tf.tensor(decodeLabels(c.pred!), c.shape, "int32");

Deno.test("meanIoU()/perClassIoU()/dice() match scikit-learn on every fixture case", () => {
  const before = tf.memory().numTensors;
  assert.ok(CASES.length >= 5);
  for (const c of CASES) {
    const pred = predTensor(c);
    const target = tf.tensor(decodeLabels(c.target), c.shape, "int32");
    const K = { classes: c.classes };
    assert.deepEqual(confusionMatrix(pred, target, c.classes), c.confusion, c.name);
    allClose(perClassIoU(pred, target, K), c.iou, `${c.name} iou`);
    allClose(perClassIoU(pred, target, { ...K, absent: "zero" }), c.jaccard_zero, c.name);
    allClose(perClassIoU(pred, target, { ...K, absent: "one" }), c.jaccard_one, c.name);
    allClose(perClassDice(pred, target, { ...K, absent: "zero" }), c.dice_zero, c.name);
    allClose(perClassDice(pred, target, { ...K, absent: "one" }), c.dice_one, c.name);
    close(meanIoU(pred, target, K), c.miou, `${c.name} miou`);
    close(meanIoU(pred, target, { ...K, ignoreBackground: true }), c.miou_no_bg, c.name);
    close(meanIoU(pred, target, { ...K, absent: "zero" }), c.miou_zero, `${c.name} zero`);
    close(dice(pred, target, K), c.dice, `${c.name} dice`);
    close(dice(pred, target, { ...K, ignoreBackground: true }), c.dice_no_bg, c.name);
    // Flat arrays give the same numbers as tensors (labels only; logits need their axis).
    if (c.pred) {
      const [p, t] = [decodeLabels(c.pred), decodeLabels(c.target)];
      close(meanIoU(p, t, K), c.miou, `${c.name} arrays`);
    }
    tf.dispose([pred, target]);
  }
  assert.equal(tf.memory().numTensors, before, "tensor leak");
});

Deno.test("meanIoU() hand-computed: background counts, absent classes excluded", () => {
  // pred  0 0 1 1 | truth 0 1 1 1: class 0 TP 1 FP 1 → 1/2; class 1 TP 2 FN 1 → 2/3.
  const pred = [0, 0, 1, 1], truth = [0, 1, 1, 1];
  assert.equal(meanIoU(pred, truth, { classes: 2 }), (1 / 2 + 2 / 3) / 2);
  assert.equal(meanIoU(pred, truth, { classes: 2, ignoreBackground: true }), 2 / 3);
  // A third class nobody uses: NaN per class, left out of the mean; or 1 / 0 on request.
  assert.deepEqual(perClassIoU(pred, truth, { classes: 3 }), [1 / 2, 2 / 3, NaN]);
  assert.equal(meanIoU(pred, truth, { classes: 3 }), (1 / 2 + 2 / 3) / 2);
  assert.equal(meanIoU(pred, truth, { classes: 3, absent: "one" }), (1 / 2 + 2 / 3 + 1) / 3);
  assert.equal(meanIoU(pred, truth, { classes: 3, absent: "zero" }), (1 / 2 + 2 / 3) / 3);
  // Dice: class 0 2·1/(2+1) = 2/3, class 1 2·2/(4+1) = 4/5.
  assert.deepEqual(perClassDice(pred, truth, { classes: 2 }), [2 / 3, 4 / 5]);
  assert.equal(dice(pred, truth, { classes: 2 }), (2 / 3 + 4 / 5) / 2);
  // Only background, ignored: no class counted.
  assert.ok(Number.isNaN(meanIoU([0, 0], [0, 0], { classes: 2, ignoreBackground: true })));
});

Deno.test("meanIoU() reads logits, [N,H,W,1] labels, one-hot labels and typed arrays", () => {
  const before = tf.memory().numTensors;
  // Logits [1, 2, 2, 3] → argmax [[2, 0], [1, 1]].
  const logits = tf.tensor4d([[[[0, 1, 5], [3, 1, 0]], [[0, 2, 1], [1, 4, 0]]]]);
  const labels = tf.tensor3d([[[2, 0], [1, 0]]], undefined, "int32");
  const expected = [1 / 2, 1 / 2, 1]; // class 0: TP 1 FN 1; class 1: TP 1 FP 1; class 2: TP 1
  assert.deepEqual(perClassIoU(logits, labels, { classes: 3 }), expected);
  const labels4 = tf.reshape(labels, [1, 2, 2, 1]);
  assert.deepEqual(perClassIoU(logits, labels4, { classes: 3 }), expected);
  assert.deepEqual(perClassIoU(logits, [2, 0, 1, 0], { classes: 3 }), expected);
  assert.deepEqual(perClassIoU(logits, new Int32Array([2, 0, 1, 0]), { classes: 3 }), expected);
  const oneHot = tf.tidy(() => tf.oneHot(tf.tensor1d([2, 0, 1, 0], "int32"), 3));
  assert.deepEqual(perClassIoU([2, 0, 1, 1], oneHot, { classes: 3 }), expected);
  tf.dispose([logits, labels, labels4, oneHot]);
  assert.equal(tf.memory().numTensors, before, "tensor leak");
});

Deno.test("meanIoU() rejects mismatched sizes, bad indices and bad options", () => {
  assert.throws(
    () => meanIoU([0, 1, 1], [0, 1], { classes: 2 }),
    /Expected predictions and labels of matching size but found \[3\] \(array\) and \[2\] \(array\)/,
  );
  assert.throws(
    () => meanIoU([0, 2], [0, 1], { classes: 2 }),
    /Expected every prediction to be an integer class index in \[0, 2\) but found 2/,
  );
  assert.throws(
    () => meanIoU([0, 1], [0, 0.5], { classes: 2 }),
    /Expected every label to be an integer class index in \[0, 2\) but found 0.5/,
  );
  assert.throws(() => meanIoU([], [], { classes: 2 }), /Expected at least one pixel/);
  assert.throws(
    () => meanIoU([0], [0], { classes: 0 }),
    /integer number of classes ≥ 1 but found 0/,
  );
  assert.throws(
    () => meanIoU([0], [0], { classes: 2, absent: "nan" as "one" }),
    /Expected absent to be "exclude", "one" or "zero" but found "nan"/,
  );
});
