import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { QUALITATIVE_METHODS } from "../plots/qualitative_figures.ts";
import { dynamicsFigure, metricBarFigure, sweepFigure } from "../plots/table_figures.ts";
import { mapOf, read } from "../strategies/_testing.ts";
import {
  caGrad,
  gradientSimilarity,
  gradProm,
  gradVac,
  ipOnly,
  joint,
  mgda,
  pcGrad,
  type Strategy,
} from "../strategies/mod.ts";
import { defineStrategy } from "../strategies/factory.ts";
import { combine } from "../strategies/grad_math.ts";
import { STRATEGIES, strategyFactory } from "../strategies/registry.ts";
import { DEFAULT_CONFIG, type ExperimentConfig, mergeConfig, METHODS } from "./config.ts";
import {
  checkStrategyOptions,
  METHOD_IDS,
  METHOD_SPECS,
  type MethodId,
  type MethodSpec,
  methodStrategy,
  REFERENCE_ROWS,
  registerMethod,
  rowStyle,
  type StrategyRef,
} from "./methods.ts";
import type { RunResult } from "./run_experiment.ts";
import { checkConfig, runKey } from "./run_experiment.ts";
import { METHOD_LABELS, type TableRow } from "./summarize.ts";

await setupBackend({ quiet: true });

const config = (method: MethodId, train: Partial<ExperimentConfig["train"]> = {}) =>
  mergeConfig(DEFAULT_CONFIG, { method, train });

/** The strategy each method ran before the table existed (run_experiment's STRATEGY). */
const BEFORE: Record<MethodId, (c: ExperimentConfig) => Strategy> = {
  "benchmark-i": () => ipOnly,
  "joint": () => joint,
  "frozen": () => joint,
  "gradprom": (c) => gradProm({ mode: "gate", granularity: c.train.granularity }),
  "gradprom-weighted": (c) => gradProm({ mode: "weighted", granularity: c.train.granularity }),
  "pcgrad": () => pcGrad(),
  "gradvac": () => gradVac(),
  "cagrad": () => caGrad(),
  "mgda": () => mgda(),
  "gradsim": () => gradientSimilarity({ mode: "unweighted" }),
};

/** Runs a strategy on a gradient pair and returns its update, cosine and weight (no tensors left). */
function apply(s: Strategy, main: Record<string, number[]>, aux: Record<string, number[]>) {
  const m = mapOf(main), a = mapOf(aux);
  const r = s(m, a);
  const out = { grads: read(r.grads), cosine: r.cosine, auxWeight: r.auxWeight };
  tf.dispose([m, a, r.grads]);
  return out;
}

// Two variables: one conflicting, one agreeing, so that per-layer rules differ from global ones.
const PAIRS: [Record<string, number[]>, Record<string, number[]>][] = [
  [{ a: [1, 0], b: [0.5, 0.5] }, { a: [-1, 1], b: [0.2, 0.1] }],
  [{ a: [1, 0], b: [0.5, 0.5] }, { a: [2, 1], b: [-0.2, -0.3] }],
  [{ a: [1, 2], b: [0, 1] }, { a: [-3, -1], b: [0.1, -2] }],
];

Deno.test("METHOD_SPECS gives every method a label, short label, colour, VR mode and strategy", () => {
  assert.deepEqual([...METHODS], Object.keys(METHOD_SPECS));
  assert.deepEqual(METHOD_IDS, METHODS);
  const colours = new Set<string>();
  for (const m of METHOD_IDS) {
    const spec: MethodSpec = METHOD_SPECS[m];
    assert.ok(spec.label.length > 0 && spec.shortLabel.length > 0, m);
    assert.match(spec.colour, /^#[0-9a-f]{6}$/, m);
    colours.add(spec.colour);
    assert.ok(["none", "trained", "frozen"].includes(spec.vrMode), m);
    const ref = spec.strategy;
    assert.ok(ref.factory ? ref.factory.description : Object.hasOwn(STRATEGIES, ref.name), m);
    const before = tf.memory().numTensors;
    assert.equal(typeof methodStrategy(config(m)), "function", m);
    assert.equal(tf.memory().numTensors, before, m);
  }
  for (const r of Object.values(REFERENCE_ROWS)) colours.add(r.colour);
  assert.equal(colours.size, METHOD_IDS.length + Object.keys(REFERENCE_ROWS).length);
});

Deno.test("methodStrategy() builds the strategy each method had before the table", () => {
  const before = tf.memory().numTensors;
  for (const granularity of ["global", "layer"] as const) {
    for (const m of METHOD_IDS) {
      const c = config(m, { granularity });
      const [ours, theirs] = [methodStrategy(c), BEFORE[m](c)];
      for (const [main, aux] of PAIRS) {
        assert.deepEqual(apply(ours, main, aux), apply(theirs, main, aux), `${m} ${granularity}`);
      }
    }
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("methodStrategy() passes train.strategyOptions to the strategy", () => {
  // main = [1, 0], aux = [-1, 1] conflict: asymmetric PCGrad projects aux only → [1, 1];
  // symmetric also projects main onto aux's normal plane → [0.5, 0.5] + [0, 1].
  const pair: [Record<string, number[]>, Record<string, number[]>] = [{ w: [1, 0] }, {
    w: [-1, 1],
  }];
  const asym = apply(methodStrategy(config("pcgrad")), ...pair);
  const sym = apply(
    methodStrategy(config("pcgrad", { strategyOptions: { symmetric: true } })),
    ...pair,
  );
  assert.deepEqual(asym.grads.w, [1, 1]);
  assert.deepEqual(sym.grads.w, [0.5, 1.5]);
  // MGDA without its ×2 rescale halves the min-norm point.
  const [main, aux] = [{ w: [2, 0] }, { w: [0, 2] }];
  assert.deepEqual(apply(methodStrategy(config("mgda")), main, aux).grads.w, [2, 2]);
  const plain = config("mgda", { strategyOptions: { rescale: false } });
  assert.deepEqual(apply(methodStrategy(plain), main, aux).grads.w, [1, 1]);
});

Deno.test("checkConfig() rejects unknown strategy options, naming the key and the allowed ones", () => {
  const bad = config("pcgrad", { strategyOptions: { symmetric: true, beta: 0.5 } });
  const message =
    `Unknown key 'train.strategyOptions.beta' for method "pcgrad" (strategy "pcgrad"); ` +
    `expected one of: symmetric`;
  assert.throws(() => checkConfig(bad), { name: "TypeError", message });
  assert.throws(() => methodStrategy(bad), { name: "TypeError", message });
  assert.throws(
    () => checkStrategyOptions(config("joint", { strategyOptions: { c: 0.4 } })),
    {
      message: /'train\.strategyOptions\.c' for method "joint" \(strategy "joint"\); expected none/,
    },
  );
  // GradProm's granularity is train.granularity, not a strategy option.
  assert.throws(
    () => checkStrategyOptions(config("gradprom", { strategyOptions: { granularity: "layer" } })),
    {
      message:
        /'train\.strategyOptions\.granularity'.*expected none \(set train\.granularity instead\)/,
    },
  );
  assert.throws(() => checkConfig({ ...config("joint"), method: "adam" as MethodId }), RangeError);
  checkStrategyOptions(config("gradvac", { strategyOptions: { beta: 0.1, target: 0.2 } }));
  checkStrategyOptions(config("cagrad", { strategyOptions: { c: 0.2 } }));
});

Deno.test("mergeConfig() takes train.strategyOptions whole; runKey() leaves empty ones out", async () => {
  const c = config("pcgrad", { strategyOptions: { symmetric: true } });
  assert.deepEqual(c.train.strategyOptions, { symmetric: true });
  assert.deepEqual(
    mergeConfig(c, { train: { strategyOptions: { other: 1 } } }).train.strategyOptions,
    { other: 1 },
  );
  assert.throws(
    () => mergeConfig(DEFAULT_CONFIG, { train: { strategyOptions: 3 } } as never),
    /Expected an object at 'train\.strategyOptions'/,
  );
  const plain = config("pcgrad");
  const { strategyOptions: _, ...train } = plain.train;
  // A config without the key (as before it existed) has the same key as one with `{}`.
  assert.equal(await runKey(plain), await runKey({ ...plain, train } as ExperimentConfig));
  assert.notEqual(await runKey(c), await runKey(plain));
});

Deno.test("tables and figures take their labels and colours from METHOD_SPECS", () => {
  for (
    const m of [...METHOD_IDS, ...Object.keys(REFERENCE_ROWS)] as (keyof typeof METHOD_LABELS)[]
  ) {
    assert.equal(METHOD_LABELS[m], rowStyle(m).label, m);
  }
  for (const [m, short] of Object.entries(QUALITATIVE_METHODS)) {
    assert.equal(short, METHOD_SPECS[m as MethodId].shortLabel, m);
  }
  const stat = { mean: 30, std: 0.1, n: 2 };
  const rows: TableRow[] = [...METHOD_IDS, "benchmark-ii" as const].map((method, i) => ({
    method,
    label: METHOD_LABELS[method],
    group: "σ = 0.1",
    sigma: 0.1,
    task: "diagnosis",
    seeds: [0, 1],
    psnr: { ...stat, mean: 30 + i },
    accuracy: stat,
    psnrInput: stat,
  }));
  const bars = metricBarFigure(rows, "accuracy").data;
  assert.deepEqual(
    bars.map((d) => [d.name, (d.marker as { color: string }).color]),
    rows.map((r) => [rowStyle(r.method).label, rowStyle(r.method).colour]),
  );
  // The degraded input is drawn once, from the row of the method without VR.
  const psnr = metricBarFigure(rows, "psnr").data.filter((d) => d.mode === "lines");
  assert.equal(psnr.length, 1);
  const sweep = sweepFigure(rows, "psnr", (r) => r.sigma, { xTitle: "σ", reference: "joint" });
  assert.deepEqual(
    sweep.data.map((d) => (d.line as { color: string }).color),
    rows.map((r) => rowStyle(r.method).colour),
  );
  const run = (method: MethodId) =>
    ({
      config: config(method),
      log: { cosine: [0.1, -0.2], auxWeight: [1, 0], lossIp: [1, 1], lossVr: [1, 1] },
    }) as unknown as RunResult;
  const dyn = dynamicsFigure(METHOD_IDS.map(run), 1).data;
  // One cosine trace per run, and the gate's weight for the methods with a gate.
  assert.deepEqual(
    dyn.map((d) => [(d.line as { color: string }).color, (d.name as string).split(" ")[0]]),
    METHOD_IDS.flatMap((m) => [
      [METHOD_SPECS[m].colour, "cos"],
      ...(METHOD_SPECS[m].gate ? [[METHOD_SPECS[m].colour, "aux"]] : []),
    ]),
  );
  assert.throws(() => rowStyle("adam" as MethodId), /Expected a method among .* but found "adam"/);
});

Deno.test("MethodSpec and StrategyRef are checked by the type checker", () => {
  // @ts-expect-error: a method without a colour is not a MethodSpec.
  const noColour: MethodSpec = {
    label: "X",
    shortLabel: "X",
    vrMode: "none",
    strategy: { name: "joint" },
    gate: false,
  };
  // @ts-expect-error: PCGrad has no `beta` option.
  const badOption: StrategyRef = { name: "pcgrad", options: { beta: 1 } };
  // @ts-expect-error: no strategy of that name.
  const badName: StrategyRef = { name: "adam" };
  const ok: StrategyRef = { name: "gradvac", options: { beta: 0.1 } };
  assert.ok(noColour && badOption && badName && ok);
});

Deno.test("a method may name its strategy by factory, without a STRATEGIES entry", () => {
  const calls: Record<string, unknown>[] = [];
  const halved = defineStrategy<{ half?: boolean }>(
    "test-halved",
    "main + ½·aux when half, else joint.",
    ["half"],
    (o) => {
      calls.push(o);
      return (main, aux) => ({
        grads: combine(main, aux, () => (o.half ? 0.5 : 1)),
        cosine: 0,
        auxWeight: o.half ? 0.5 : 1,
      });
    },
  );
  assert.throws(() => strategyFactory("test-halved"), RangeError);
  // The form a METHOD_SPECS entry takes (typed: a wrong option key would not compile).
  const spec = {
    label: "Halved",
    shortLabel: "½",
    colour: "#010203",
    vrMode: "trained",
    strategy: { factory: halved, options: { half: true } },
    gate: false,
  } as const satisfies MethodSpec;
  const id = registerMethod("test-factory-method", spec);
  const c = mergeConfig(DEFAULT_CONFIG, { method: id });
  const r = tf.tidy(() => {
    const out = methodStrategy(c)({ w: tf.tensor([2]) }, { w: tf.tensor([4]) });
    return [...out.grads.w.dataSync()];
  });
  assert.deepEqual(r, [4]);
  assert.deepEqual(calls, [{ half: true }]);
  const bad = mergeConfig(DEFAULT_CONFIG, { method: id, train: { strategyOptions: { size: 1 } } });
  assert.throws(() => checkStrategyOptions(bad), /strategyOptions\.size.*"test-halved".*half/);
});
