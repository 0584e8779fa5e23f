/**
 * `deno task bench`: times the library's real train step (lib/train/train_step.ts) on the
 * TF.js backends of this machine against the same models and steps in PyTorch on the same cores
 * (tools/bench_torch.py), and writes BENCHMARKS.md.
 *
 * ```
 * deno run -A tools/bench.ts [--json] [--quick] [--backends onednn,wasm,cpu] [--configs a,b]
 *   [--warmup N] [--steps N] [--rounds N] [--batch 8] [--size 64] [--no-torch] [--no-install]
 *   [--out BENCHMARKS.md | --no-write]
 * ```
 *
 * Each (backend, config) runs in its own child process (`--worker`), so that its peak RSS and
 * wasm memory are its own and one process holds one TF.js backend. `--json` prints one object
 * per line: `{"config", "backend", "median_ms", "pytorch_ms", "ratio", …}`, GradProm rows also
 * `"joint_ms"` and `"over_joint"`.
 *
 * Paired rounds: this machine's step times drift by ±25% within minutes (shared cores), more
 * than the differences the comparison is about, so the first backend is timed in `--rounds`
 * rounds (default 3; 1 with `--quick`), each running every config on our side and then
 * PyTorch's, one config after the other. A round's ratio compares two processes minutes
 * apart, and the table gives the median of the rounds' ratios with their range. The other
 * backends (wasm, cpu: 8–13× PyTorch, far from any call the drift could change) run in round 1.
 *
 * Configs (batch 8, 64×64 RGB, Adam lr 1e-4, λ = 0.1):
 * - `sr32x4-ip`, `sr64x8-ip`: SR-ResNet {channels, blocks, outerKernel: 9, batchNorm: true},
 *   IP only (MSE).
 * - `sr32x4+resnet18w0.25-joint|gradprom`: with `resNetPreset("resnet18", {classes: 7,
 *   widthMultiplier: 0.25})` (ImageNet stem, widths 16/32/64/128).
 * - `sr32x4+unetd3b16-joint|gradprom`: with `unet({depth: 3, baseWidth: 16, classes: 4})`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../lib/backend/setup_backend.ts";
import { resNet, resNetPreset } from "../lib/models/resnet.ts";
import { srResNet } from "../lib/models/sr_resnet.ts";
import { unet } from "../lib/models/unet.ts";
import { gradProm } from "../lib/strategies/grad_prom.ts";
import { joint } from "../lib/strategies/joint.ts";
import { FusedAdam } from "../lib/train/fused_optimizer.ts";
import { type Recognizer, trainStep } from "../lib/train/train_step.ts";
import { Rng } from "../lib/util/rng.ts";

/** All configs, in table order. */
export const BENCH_CONFIGS = [
  "sr32x4-ip",
  "sr64x8-ip",
  "sr32x4+resnet18w0.25-joint",
  "sr32x4+resnet18w0.25-gradprom",
  "sr32x4+unetd3b16-joint",
  "sr32x4+unetd3b16-gradprom",
] as const;

/** Configs run on the pure-JS cpu backend (about 10× slower than wasm). */
const _CPU_CONFIGS = ["sr32x4-ip"];
/** Configs of `--quick`. */
const _QUICK_CONFIGS = [
  "sr32x4-ip",
  "sr32x4+resnet18w0.25-joint",
  "sr32x4+resnet18w0.25-gradprom",
];
const _CLASSES = 7;
const _SEG_CLASSES = 4;
const _LAMBDA = 0.1;
const _PYTHON = "/usr/bin/python3";
const _ROOT = new URL("../", import.meta.url).pathname;

interface _Args {
  json: boolean;
  quick: boolean;
  backends: string[];
  configs?: string[];
  warmup?: number;
  steps?: number;
  rounds?: number;
  batch: number;
  size: number;
  torch: boolean;
  install: boolean;
  out?: string;
  profile: boolean;
  worker: boolean;
  backend: string;
  config: string;
}

/** What a worker reports for one (backend, config). */
interface _WorkerResult {
  config: string;
  backend: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  q1_ms: number;
  q3_ms: number;
  times_ms: number[];
  params_ip: number;
  params_vr: number;
  rss_peak_mb: number;
  tf_num_tensors: number;
  tf_num_bytes_mb: number;
  /** Peak bytes of TF.js tensors during one profiled step (not on cpu). */
  tf_peak_step_mb?: number;
  /** Kernel time of one profiled step, by kernel name (not on cpu). */
  kernels?: { name: string; ms: number; calls: number }[];
  /** Wall time of the profiled step. */
  profile_step_ms?: number;
  /** Convolutions of the profiled step (forward and both backward kernels): GFLOP, and ms. */
  conv_gflop?: number;
  conv_ms?: number;
  backend_info: string;
}

interface _TorchResult {
  config: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  params_ip: number;
  params_vr: number;
}

function _parseArgs(argv: string[]): _Args {
  const a: _Args = {
    json: false,
    quick: false,
    // cpu (pure JS) only on request: its one config takes many minutes with 9×9 convolutions.
    backends: ["onednn", "wasm"],
    batch: 8,
    size: 64,
    torch: true,
    install: true,
    out: `${_ROOT}BENCHMARKS.md`,
    profile: true,
    worker: false,
    backend: "wasm",
    config: "",
  };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`Expected a non-negative integer after ${flag} but found "${v}"`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const next = () => argv[++i];
    switch (f) {
      case "--json":
        a.json = true;
        break;
      case "--quick":
        a.quick = true;
        break;
      case "--backends":
        a.backends = next().split(",").filter(Boolean);
        break;
      case "--configs":
        a.configs = next().split(",").filter(Boolean);
        break;
      case "--warmup":
        a.warmup = num(f, next());
        break;
      case "--steps":
        a.steps = Math.max(1, num(f, next()));
        break;
      case "--rounds":
        a.rounds = Math.max(1, num(f, next()));
        break;
      case "--batch":
        a.batch = num(f, next());
        break;
      case "--size":
        a.size = num(f, next());
        break;
      case "--no-torch":
        a.torch = false;
        break;
      case "--no-install":
        a.install = false;
        break;
      case "--out":
        a.out = next();
        break;
      case "--no-write":
        a.out = undefined;
        break;
      case "--no-profile":
        a.profile = false;
        break;
      case "--worker":
        a.worker = true;
        break;
      case "--backend":
        a.backend = next();
        break;
      case "--config":
        a.config = next();
        break;
      default:
        throw new RangeError(`Expected a bench.ts flag but found "${f}"`);
    }
  }
  for (const b of a.backends) {
    if (b !== "onednn" && b !== "wasm" && b !== "cpu") {
      throw new RangeError(`Expected backends among onednn, wasm, cpu but found "${b}"`);
    }
  }
  for (const c of a.configs ?? []) {
    if (!(BENCH_CONFIGS as readonly string[]).includes(c)) {
      throw new RangeError(`Expected configs among ${BENCH_CONFIGS.join(", ")} but found "${c}"`);
    }
  }
  return a;
}

/** Median, quartiles (linear interpolation), min and max. */
function _stats(xs: number[]) {
  const s = [...xs].sort((p, q) => p - q);
  const at = (f: number) => {
    const i = f * (s.length - 1), lo = Math.floor(i), hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75), min: s[0], max: s[s.length - 1] };
}

function _steps(a: _Args, backend: string) {
  const warmup = a.warmup ?? (a.quick || backend === "cpu" ? 1 : 2);
  const steps = a.steps ?? (a.quick ? 2 : backend === "cpu" ? 2 : 7);
  return { warmup, steps };
}

/**
 * Multiply–add count ×2 of a convolution kernel call, from the shapes `tf.profile` records
 * (NHWC; filter [kh, kw, cin, cout]); undefined for other kernels. The two backward kernels
 * do the forward's arithmetic: 2·n·ho·wo·cout·kh·kw·cin.
 */
export function _convFlop(
  name: string,
  inputs: number[][],
  outputs: number[][],
): number | undefined {
  let y: number[], w: number[];
  if (name === "Conv2D" || name === "FusedConv2D") [y, w] = [outputs[0], inputs[1]];
  else if (name === "Conv2DBackpropInput") [y, w] = [inputs[0], inputs[1]];
  else if (name === "Conv2DBackpropFilter") [y, w] = [inputs[1], outputs[0]];
  else return undefined;
  if (y?.length !== 4 || w?.length !== 4) return undefined;
  return 2 * y[0] * y[1] * y[2] * y[3] * w[0] * w[1] * w[2];
}

// ---------------------------------------------------------------- worker (one config)

async function _worker(a: _Args): Promise<void> {
  const info = await setupBackend({
    backend: a.backend as "onednn" | "wasm" | "cpu",
    quiet: true,
  });
  const m = /^sr(\d+)x(\d+)(?:\+(\w[\w.]*))?-(ip|joint|gradprom)$/.exec(a.config);
  if (!m) throw new RangeError(`Expected a config like sr32x4-ip but found "${a.config}"`);
  const [, c, b, vrName, step] = m;
  const ip = srResNet({
    channels: Number(c),
    blocks: Number(b),
    outerKernel: 9,
    batchNorm: true,
  }, 1);
  let vr: Recognizer | undefined;
  const seg = vrName?.startsWith("unet") ?? false;
  if (vrName?.startsWith("resnet18w")) {
    const widthMultiplier = Number(vrName.slice("resnet18w".length));
    vr = resNet(resNetPreset("resnet18", { classes: _CLASSES, widthMultiplier }), 2);
  } else if (seg) {
    const [d, w] = vrName!.slice("unetd".length).split("b").map(Number);
    vr = unet({ depth: d, baseWidth: w, classes: _SEG_CLASSES }, 2);
  }
  const rng = new Rng(3);
  const n = a.batch, s = a.size;
  const rand = (count: number) => Float32Array.from({ length: count }, () => rng.uniform());
  const input = tf.tensor4d(rand(n * s * s * 3), [n, s, s, 3]);
  const target = tf.tensor4d(rand(n * s * s * 3), [n, s, s, 3]);
  const labels = seg
    ? tf.tensor4d(Int32Array.from({ length: n * s * s }, () => rng.int(_SEG_CLASSES)), [n, s, s, 1])
    : tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(_CLASSES)), "int32");
  const ipOptimizer = new FusedAdam(1e-4);
  const vrOptimizer = new FusedAdam(1e-4);
  const setup = {
    ip,
    vr,
    vrMode: step === "ip" ? "none" as const : "trained" as const,
    strategy: step === "gradprom" ? gradProm() : joint,
    // Joint's training steps that do not log the cosine (most of a run): one backward pass.
    measureCosine: step !== "joint",
    lambda: _LAMBDA,
    ipOptimizer,
    vrOptimizer,
  };
  const batch = { input, target, labels };
  let rss = Deno.memoryUsage().rss;
  const { warmup, steps } = _steps(a, a.backend);
  for (let i = 0; i < warmup; i++) {
    trainStep(setup, batch);
    rss = Math.max(rss, Deno.memoryUsage().rss);
  }
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainStep(setup, batch);
    times.push(performance.now() - t0);
    rss = Math.max(rss, Deno.memoryUsage().rss);
  }
  const mem = tf.memory();
  const st = _stats(times);
  const r: _WorkerResult = {
    config: a.config,
    backend: info.name,
    median_ms: st.median,
    min_ms: st.min,
    max_ms: st.max,
    q1_ms: st.q1,
    q3_ms: st.q3,
    times_ms: times,
    params_ip: ip.module.parameterCount(),
    params_vr: vr?.module.parameterCount() ?? 0,
    rss_peak_mb: rss / 2 ** 20,
    tf_num_tensors: mem.numTensors,
    tf_num_bytes_mb: mem.numBytes / 2 ** 20,
    backend_info: info.wasm
      ? `wasm (SIMD ${info.wasm.simd}, ${info.wasm.threads} thread(s), gradient kernels ${info.wasm.gradientKernels})`
      : info.onednn
      ? `onednn (oneDNN ${info.onednn.version} through Deno FFI, native: ${
        info.onednn.nativeKernels.join(", ")
      }; plain JS: ${
        info.onednn.jsKernels.join(", ")
      }; the rest, and the cases those do not cover, on the cpu kernels)`
      : info.name,
  };
  if (a.profile && info.name !== "cpu") {
    let stepMs = 0;
    const p = await tf.profile(() => {
      const t0 = performance.now();
      trainStep(setup, batch);
      stepMs = performance.now() - t0;
    });
    r.profile_step_ms = stepMs;
    rss = Math.max(rss, Deno.memoryUsage().rss);
    r.rss_peak_mb = rss / 2 ** 20;
    r.tf_peak_step_mb = p.peakBytes / 2 ** 20;
    const by = new Map<string, { ms: number; calls: number }>();
    for (const k of p.kernels) {
      const e = by.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += Number(k.kernelTimeMs) || 0;
      e.calls++;
      by.set(k.name, e);
    }
    r.kernels = [...by].map(([name, e]) => ({ name, ...e })).sort((p, q) => q.ms - p.ms);
    let flop = 0, convMs = 0;
    for (const k of p.kernels) {
      const f = _convFlop(k.name, k.inputShapes as number[][], k.outputShapes as number[][]);
      if (f === undefined) continue;
      flop += f;
      convMs += Number(k.kernelTimeMs) || 0;
    }
    r.conv_gflop = flop / 1e9;
    r.conv_ms = convMs;
  }
  tf.dispose([input, target, labels]);
  ipOptimizer.dispose();
  vrOptimizer.dispose();
  ip.module.dispose();
  vr?.module.dispose();
  console.log(JSON.stringify(r));
}

// ---------------------------------------------------------------- driver

async function _run(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ ok: boolean; out: string }> {
  const o = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const out = new TextDecoder().decode(o.stdout);
  if (!o.success) {
    const err = new TextDecoder().decode(o.stderr).trim().split("\n").slice(-5).join("\n");
    return { ok: false, out: `${out}\n${err}` };
  }
  return { ok: true, out };
}

async function _hasTorch(): Promise<boolean> {
  try {
    return (await _run(_PYTHON, ["-c", "import torch"])).ok;
  } catch {
    return false;
  }
}

/** Makes PyTorch available, or says why not. */
async function _ensureTorch(a: _Args, log: (s: string) => void): Promise<string | undefined> {
  if (!a.torch) return "skipped (--no-torch)";
  if (await _hasTorch()) return undefined;
  const root = Deno.uid?.() === 0;
  if (!a.install) return `skipped: ${_PYTHON} has no torch and --no-install was given`;
  if (!root) return `skipped: ${_PYTHON} has no torch and installing python3-torch needs root`;
  log("installing python3-torch with apt-get (may take a few minutes) …");
  const r = await _run("apt-get", ["install", "-y", "--no-install-recommends", "python3-torch"]);
  if (!r.ok || !(await _hasTorch())) {
    return `skipped: apt-get install python3-torch failed: ${r.out.trim().split("\n").at(-1)}`;
  }
  return undefined;
}

function _fmt(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

async function _text(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await _run(cmd, args);
    return r.ok ? r.out.trim() : "unknown";
  } catch {
    return "unknown";
  }
}

async function _machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const kb = Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? NaN);
  return {
    cpu: model,
    cores: navigator.hardwareConcurrency,
    ram_gib: kb / 2 ** 20,
  };
}

/** OMP_WAIT_POLICY for both sides: the caller's, else passive (what the onednn backend sets). */
function _ompWaitPolicy(): string {
  return Deno.env.get("OMP_WAIT_POLICY") ?? "passive";
}

async function _loadAverage(): Promise<string> {
  const t = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return t.split(" ").slice(0, 3).join(", ") || "unknown";
}

/** Kernel profile of one GradProm step per backend, largest kernels first. */
function _whereTheTimeGoes(rows: _WorkerResult[]): string {
  const parts: string[] = [];
  const order = ["wasm", "onednn"];
  const profiled = rows.filter((r) => r.config.endsWith("-gradprom") && r.kernels)
    .sort((p, q) => order.indexOf(p.backend) - order.indexOf(q.backend));
  const seen = new Set<string>();
  for (const gp of profiled) {
    if (seen.has(gp.backend)) continue;
    seen.add(gp.backend);
    const kernels = gp.kernels!;
    const total = kernels.reduce((s, k) => s + k.ms, 0);
    const calls = kernels.reduce((s, k) => s + k.calls, 0);
    const top = kernels.slice(0, 10)
      .map((k) => `${k.name} ${_fmt(k.ms)} ms (${_fmt(100 * k.ms / total)}%, ${k.calls} calls)`);
    const conv = kernels.filter((k) => /^Conv2D|^FusedConv2D|^Conv2DBackprop/.test(k.name))
      .reduce((s, k) => s + k.ms, 0);
    const rate = gp.conv_gflop !== undefined && gp.conv_ms
      ? ` They do ${_fmt(gp.conv_gflop, 1)} GFLOP, ${_fmt(gp.conv_gflop / gp.conv_ms * 1e3)} ` +
        `GFLOP/s on average.`
      : "";
    const step = gp.profile_step_ms;
    const outside = step !== undefined && step > total
      ? ` The profiled step took ${_fmt(step)} ms of wall time, so ${_fmt(step - total)} ms ` +
        `(${_fmt(100 * (step - total) / step)}%) went outside kernels (tape, JS glue, ` +
        `garbage collection, profiling itself).`
      : "";
    const label = gp.backend === "wasm"
      ? "**Before (wasm, the stock TF.js path plus our conv-gradient kernels)**"
      : gp.backend === "onednn"
      ? "**After (onednn: oneDNN kernels through FFI, the rest on the cpu kernels)**"
      : `**${gp.backend}**`;
    parts.push(
      `${label}: one \`${gp.config}\` step under \`tf.profile\`, kernel times summed by ` +
        `kernel name (${_fmt(total)} ms of kernels, ${calls} kernel calls; profiling adds ` +
        `some overhead per call): ${top.join(", ")}. Convolutions (forward and both backward ` +
        `kernels) take ${_fmt(100 * conv / total)}% of the kernel time.${rate}${outside}`,
    );
  }
  if (parts.length === 0) return "No GradProm step was profiled in this run.";
  const bounds: string[] = [];
  for (const gp of rows.filter((r) => r.config.endsWith("-gradprom") && r.conv_gflop)) {
    const j = rows.find((r) =>
      r.backend === gp.backend && r.config === gp.config.replace(/-gradprom$/, "-joint")
    );
    if (!j?.conv_gflop || !j.conv_ms || !gp.conv_ms || bounds.some((b) => b.includes(gp.config))) {
      continue;
    }
    const g = gp.conv_gflop!;
    const extra = (g - j.conv_gflop) / (j.conv_gflop / j.conv_ms);
    bounds.push(
      `\`${gp.config}\` (${gp.backend}): ${_fmt(g, 1)} GFLOP of convolutions ` +
        `against Joint's ${_fmt(j.conv_gflop, 1)} (${_fmt(g / j.conv_gflop, 2)}×); ` +
        `at the rate Joint's convolutions ran, the extra ones alone take ${_fmt(extra)} ms, ` +
        `so GradProm / Joint ≥ ${_fmt((j.median_ms + extra) / j.median_ms, 2)} with this ` +
        `Joint step (${_fmt(j.median_ms)} ms) unless the convolutions themselves get faster`,
    );
  }
  if (bounds.length) {
    parts.push(
      "**GradProm over Joint, from the arithmetic.** GradProm needs G_IP and G_VR apart, so " +
        "its step runs a second backward pass through IP that Joint's one backward of " +
        "L_IP + λ·L_VR does not (PyTorch's too). Counting the convolutions' FLOPs in the " +
        `profiled steps: ${bounds.join("; ")}. The FLOP ratio is where GradProm / Joint ` +
        "goes as everything but the convolutions gets faster: each speed-up of the rest " +
        "moves the ratio up towards it, so a target below it (the 1.35× above) and a " +
        "faster Joint step pull in opposite directions.",
    );
  }
  parts.push(
    "The library's step records one forward pass of IP and VR and runs one backward pass " +
      "per loss over it (lib/train/tape.ts: TF.js's own tape kept for a second backward " +
      "pass, PyTorch's `retain_graph`), so its GradProm step does the passes PyTorch's " +
      "does. Its Joint step (`measureCosine: false`, as on the steps of a run that do not " +
      "log the cosine) backpropagates L_IP + λ·L_VR once, as PyTorch's Joint does.",
  );
  parts.push(
    "**What is fused, and what would close the rest** (the target is the default backend at " +
      "or below PyTorch's step on every config, and GradProm within 1.35× of Joint; compare " +
      "the table above). Fused so far: one forward pass for both backward passes (above); " +
      "batch norm in training mode is one oneDNN forward-training and one backward primitive " +
      "behind a custom gradient (lib/backend/onednn/batch_norm_train.ts; one layer's forward " +
      "and backward went from 59 kernel calls to 6); the optimizers' update is one pass per " +
      "variable instead of ~10 kernel calls (Adam) or 2 (SGD), bit-identical to TF.js's " +
      "(lib/train/fused_optimizer.ts); a convolution's bias is added inside it " +
      "(`FusedConv2D`, with a gradient per input, so that no backward pass convolves back " +
      "into the input image as `tf.fused.conv2d`'s did: 9 ms per IP backward here); the strategies' ⟨G_IP, G_VR⟩, |G_IP|², |G_VR|² over every variable " +
      "are one kernel call, and so are their combinations and λ·∇θ L_VR " +
      "(lib/strategies/_fused_kernels.ts; a quick-profile GradProm step went from 883 to 659 " +
      "kernel calls); the tensors TF.js saves for the backward pass are new references to " +
      "the same data instead of an Identity kernel call and a tape node each " +
      "(lib/backend/saved_tensors.ts; 659 → 336 calls); batch norm's running statistics are " +
      "one kernel per layer instead of seven; tanh and its gradient are native; batch norm " +
      "runs oneDNN's channels-last kernel over the rows as one spatial axis (about twice as " +
      "fast, the same bits); a convolution into a few channels (IP's last layer, which " +
      "oneDNN computes as if into 16) takes its filter gradient with the two images swapped " +
      "and, with large filters, its forward as a 1×kw convolution into kh·3 channels plus a " +
      "shifted sum (lib/backend/onednn/_narrow_conv.ts; 32→3 9×9 at 8×64×64: 8.0 → 3.1 ms " +
      "forward, 6.6 → 1.8 ms filter gradient); the segmentation loss (cross-entropy plus " +
      "soft Dice) is one kernel each way instead of about 80 calls (lib/train/_loss_kernels.ts; " +
      "18.9 ms of plain ops for a forward and backward pass over 8×64×64×4 logits); max " +
      "pooling and its gradient find each window's maximum without a branch (the best index " +
      "moves by (x[k] > x[best])·(k − best); after a ReLU the branchy loop mispredicted half " +
      "its comparisons: 2.5 → 1.1 ms forward at 8×64×64×16), bit for bit the cpu kernel's; " +
      "and the small element-wise kernels, reductions over middle axes " +
      "or into a few classes, softmax, exp, depthwise convolution (SSIM) and " +
      "gather run plain-JS loops instead of the cpu kernels' per-element index arithmetic, " +
      "bit for bit (lib/backend/onednn/_kernels.ts). A Joint step backpropagates L_IP + " +
      "λ·L_VR once (λ applied to the gradient entering VR), except on the steps that log " +
      "cos(G_IP, G_VR) (about 50 a run, `cosineEvery`). What is left is mostly oneDNN's own " +
      "time: in a quick-profile GradProm step (32×32, 16 channels, one thread, about 21 ms) " +
      "the convolutions take about 11.6 ms (about 145 GFLOP/s on one AVX-512 core for the " +
      "16-channel ones, 60–65 GFLOP/s for the 3-channel head and tail before the tail's " +
      "filter gradient swapped its images), batch norm 2.7 ms " +
      "and PReLU 1.3 ms; the engine's bookkeeping for the ~340 kernel calls (tape, tidy " +
      "scopes) most of the rest.",
  );
  return parts.join("\n\n");
}

/** Times one (backend, config) in a fresh worker process. */
async function _timeOurs(
  a: _Args,
  backend: string,
  config: string,
  profile: boolean,
): Promise<_WorkerResult> {
  const args = [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--worker",
    "--backend",
    backend,
    "--config",
    config,
    "--batch",
    `${a.batch}`,
    "--size",
    `${a.size}`,
    ...(a.quick ? ["--quick"] : []),
    ...(a.warmup !== undefined ? ["--warmup", `${a.warmup}`] : []),
    ...(a.steps !== undefined ? ["--steps", `${a.steps}`] : []),
    ...(profile ? [] : ["--no-profile"]),
  ];
  const r = await _run(Deno.execPath(), args);
  if (!r.ok) throw new Error(`Expected the ${backend} ${config} worker to succeed: ${r.out}`);
  return JSON.parse(r.out.trim().split("\n").at(-1)!) as _WorkerResult;
}

/** Times one config in PyTorch (tools/bench_torch.py), in a fresh process. */
async function _timeTorch(
  a: _Args,
  config: string,
): Promise<{ result: _TorchResult; version: string }> {
  const { warmup, steps } = _steps(a, "wasm");
  const r = await _run(_PYTHON, [
    `${_ROOT}tools/bench_torch.py`,
    "--configs",
    config,
    "--warmup",
    `${Math.max(warmup, 2)}`,
    "--steps",
    `${Math.max(steps, 5)}`,
    "--batch",
    `${a.batch}`,
    "--size",
    `${a.size}`,
    "--classes",
    `${_CLASSES}`,
    "--seg-classes",
    `${_SEG_CLASSES}`,
    "--lam",
    `${_LAMBDA}`,
    "--threads",
    "2",
  ], { OMP_WAIT_POLICY: _ompWaitPolicy() });
  if (!r.ok) throw new Error(`Expected tools/bench_torch.py to succeed: ${r.out}`);
  let version = "unknown", result: _TorchResult | undefined;
  for (const line of r.out.trim().split("\n")) {
    const o = JSON.parse(line);
    if (o.config) result = o;
    else version = `${o.torch} (${o.threads} threads)`;
  }
  if (!result) throw new Error(`Expected a PyTorch result for ${config} but found: ${r.out}`);
  return { result, version };
}

async function _otherTraining(): Promise<string> {
  const r = await _text("pgrep", ["-af", "tools/experiment.ts"]);
  return r === "unknown" ? "" : r;
}

async function main(): Promise<void> {
  const a = _parseArgs(Deno.args);
  if (a.worker) return await _worker(a);
  const log = (s: string) => console.error(`bench: ${s}`);
  const started = new Date();
  const busyBefore = await _otherTraining();
  const loadBefore = await _loadAverage();
  const configs = a.configs ?? (a.quick ? _QUICK_CONFIGS : [...BENCH_CONFIGS]);
  const rounds = a.rounds ?? (a.quick ? 1 : 3);
  const torchWhy = await _ensureTorch(a, log);
  if (torchWhy !== undefined) log(`PyTorch column ${torchWhy}`);
  let torchVersion = "not run";
  // One result per round: ours by (backend, config), PyTorch's by config.
  const runs = new Map<string, _WorkerResult[]>();
  const torchRuns = new Map<string, _TorchResult[]>();
  const key = (backend: string, config: string) => `${backend} ${config}`;
  for (let round = 1; round <= rounds; round++) {
    const tag = rounds > 1 ? ` (round ${round}/${rounds})` : "";
    for (const config of configs) {
      for (const [i, backend] of a.backends.entries()) {
        if (round > 1 && i > 0) continue;
        if (backend === "cpu" && !a.configs && !_CPU_CONFIGS.includes(config)) continue;
        log(`${backend} ${config}${tag} …`);
        const row = await _timeOurs(a, backend, config, round === 1 && a.profile);
        log(`${backend} ${config}${tag}: median ${_fmt(row.median_ms)} ms`);
        runs.set(key(backend, config), [...runs.get(key(backend, config)) ?? [], row]);
      }
      if (torchWhy !== undefined) continue;
      log(`pytorch ${config}${tag} …`);
      const t = await _timeTorch(a, config);
      torchVersion = t.version;
      log(`pytorch ${config}${tag}: median ${_fmt(t.result.median_ms)} ms`);
      torchRuns.set(config, [...torchRuns.get(config) ?? [], t.result]);
    }
  }
  // Parameter counts: the architectures are the same, so the counts must be equal.
  for (const [k, rs] of runs) {
    const t = torchRuns.get(rs[0].config)?.[0];
    if (!t) continue;
    if (t.params_ip !== rs[0].params_ip || t.params_vr !== rs[0].params_vr) {
      throw new Error(
        `Expected equal parameter counts for ${k} but found ours ` +
          `${rs[0].params_ip} + ${rs[0].params_vr}, PyTorch's ${t.params_ip} + ${t.params_vr}`,
      );
    }
  }

  const median = (xs: number[]) => _stats(xs).median;
  /** Round i's ours/PyTorch, for the rounds both sides ran. */
  const paired = (ours: number[], theirs: number[]) =>
    ours.slice(0, theirs.length).map((x, i) => x / theirs[i]);
  const rows: _WorkerResult[] = [];
  const out: Record<string, unknown>[] = [];
  for (const backend of a.backends) {
    for (const config of configs) {
      const rs = runs.get(key(backend, config));
      if (!rs) continue;
      const first = rs[0];
      const st = _stats(rs.flatMap((r) => r.times_ms));
      const roundsMs = rs.map((r) => r.median_ms);
      const row: _WorkerResult = {
        ...first,
        median_ms: median(roundsMs),
        min_ms: st.min,
        max_ms: st.max,
        q1_ms: st.q1,
        q3_ms: st.q3,
        times_ms: rs.flatMap((r) => r.times_ms),
        rss_peak_mb: Math.max(...rs.map((r) => r.rss_peak_mb)),
      };
      rows.push(row);
      const ts = torchRuns.get(config) ?? [];
      const torchMs = ts.map((t) => t.median_ms);
      const ratios = paired(roundsMs, torchMs);
      const o: Record<string, unknown> = {
        config,
        backend: row.backend,
        median_ms: row.median_ms,
        min_ms: row.min_ms,
        max_ms: row.max_ms,
        q1_ms: row.q1_ms,
        q3_ms: row.q3_ms,
        steps: first.times_ms.length,
        rounds: rs.length,
        rounds_ms: roundsMs,
        pytorch_ms: torchMs.length ? median(torchMs.slice(0, rs.length)) : null,
        pytorch_rounds_ms: torchMs.slice(0, rs.length),
        ratio: ratios.length ? median(ratios) : null,
        ratio_min: ratios.length ? Math.min(...ratios) : null,
        ratio_max: ratios.length ? Math.max(...ratios) : null,
        // Each side's fastest round: PyTorch's step time moves by up to 1.7× between fresh
        // processes a minute apart (each steady within itself), so this is the comparison that
        // PyTorch's slow processes cannot flatter.
        ratio_best: ratios.length
          ? Math.min(...roundsMs) / Math.min(...torchMs.slice(0, rs.length))
          : null,
        params_ip: row.params_ip,
        params_vr: row.params_vr,
        pytorch_params: ts.length ? ts[0].params_ip + ts[0].params_vr : null,
        rss_peak_mb: row.rss_peak_mb,
        tf_num_tensors: row.tf_num_tensors,
        tf_num_bytes_mb: row.tf_num_bytes_mb,
        tf_peak_step_mb: row.tf_peak_step_mb ?? null,
        conv_gflop: row.conv_gflop ?? null,
        conv_ms: row.conv_ms ?? null,
      };
      if (config.endsWith("-gradprom")) {
        const jc = config.replace(/-gradprom$/, "-joint");
        const js = runs.get(key(backend, jc)) ?? [];
        const ours = paired(roundsMs, js.map((r) => r.median_ms));
        const tj = torchRuns.get(jc) ?? [];
        const theirs = paired(torchMs, tj.map((t) => t.median_ms)).slice(0, rs.length);
        o.joint_ms = js.length ? median(js.map((r) => r.median_ms)) : null;
        o.over_joint = ours.length ? median(ours) : null;
        o.over_joint_rounds = ours;
        o.pytorch_joint_ms = tj.length
          ? median(tj.slice(0, rs.length).map((t) => t.median_ms))
          : null;
        o.pytorch_over_joint = theirs.length ? median(theirs) : null;
        o.pytorch_over_joint_rounds = theirs;
      }
      out.push(o);
    }
  }
  if (a.json) { for (const o of out) console.log(JSON.stringify(o)); }

  const table = [
    "| config | backend | median ms | IQR | min–max | rounds × steps | PyTorch ms | ours / PyTorch | best / best | GradProm / Joint (ours, PyTorch) | params (IP + VR) | peak RSS MB | tf.memory MB (tensors) | step peak MB |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...out.map((o) => {
      const n = (k: string, d = 0) => _fmt(o[k] as number | null, d);
      const spread = (lo: string, hi: string, d: number) =>
        (o.rounds as number) > 1 && o[lo] !== null ? ` (${n(lo, d)}–${n(hi, d)})` : "";
      const ratio = o.ratio === null
        ? "–"
        : `${n("ratio", 2)}×${spread("ratio_min", "ratio_max", 2)}`;
      const best = o.ratio_best === null ? "–" : `${n("ratio_best", 2)}×`;
      const range = (k: string) => {
        const xs = o[k] as number[];
        return xs.length > 1 ? ` (${_fmt(Math.min(...xs), 2)}–${_fmt(Math.max(...xs), 2)})` : "";
      };
      const oj = "over_joint" in o
        ? `${n("over_joint", 2)}${range("over_joint_rounds")}, ` +
          `${n("pytorch_over_joint", 2)}${range("pytorch_over_joint_rounds")}`
        : "";
      return `| ${o.config} | ${o.backend} | ${n("median_ms")} | ${n("q1_ms")}–${n("q3_ms")} | ` +
        `${n("min_ms")}–${n("max_ms")} | ${o.rounds} × ${o.steps} | ${n("pytorch_ms", 1)} | ` +
        `${ratio} | ${best} | ` +
        `${oj} | ${_fmt(o.params_ip as number)} + ${_fmt(o.params_vr as number)} | ` +
        `${n("rss_peak_mb")} | ${n("tf_num_bytes_mb", 1)} (${o.tf_num_tensors}) | ` +
        `${n("tf_peak_step_mb")} |`;
    }),
  ].join("\n");
  if (!a.json) console.log(table);

  if (a.out === undefined) return;
  const busyAfter = await _otherTraining();
  const loadAfter = await _loadAverage();
  const machine = await _machine();
  const denoV = Deno.version.deno;
  const tfV = tf.version_core;
  const backends = [...new Set(rows.map((r) => `${r.backend_info}`))].join("; ");
  const where = _whereTheTimeGoes(rows);
  const idle = !busyBefore && !busyAfter
    ? "The machine was otherwise idle (no `tools/experiment.ts` process before or after the run)."
    : "The machine was NOT otherwise idle: other training processes (`tools/experiment.ts`) " +
      "were running during the run, so the numbers are pessimistic and noisier.\n\n```\n" +
      `${(busyBefore || busyAfter).slice(0, 1500)}\n\`\`\``;
  const argv = Deno.args.filter((x) => x !== "--json");
  const md = `# Benchmarks: train step, TF.js under Deno vs PyTorch on the same cores

Generated by \`deno task bench${argv.length ? " " + argv.join(" ") : ""}\` ` +
    `(\`deno run -A tools/bench.ts\`) on ${started.toISOString()}.

## Machine and versions

- CPU: ${machine.cpu}; ${machine.cores} logical cores visible; RAM ${_fmt(machine.ram_gib, 1)} GiB
- Deno ${denoV}, TF.js ${tfV}; backends: ${backends}
- PyTorch: ${torchVersion}${torchWhy ? ` — ${torchWhy}` : ""} (Debian \`python3-torch\`, ` +
    `\`${_PYTHON}\`, \`torch.set_num_threads(2)\`, channels-last)
- ${idle} Load average (1, 5, 15 min) before the run ${loadBefore}, after ${loadAfter}.
- OpenMP (oneDNN here, and PyTorch): \`OMP_WAIT_POLICY=${_ompWaitPolicy()}\` on both sides.

## What is timed

One call of the library's \`trainStep\` (lib/train/train_step.ts) on a fixed batch of ` +
    `${a.batch} RGB images ${a.size}×${a.size} (random input, target and labels), Adam (lr 1e-4) ` +
    `for both networks, λ = ${_LAMBDA}. IP: SR-ResNet \`{channels, blocks, outerKernel: 9, ` +
    `batchNorm: true}\` (scale 1). VR: \`resNetPreset("resnet18", {classes: ${_CLASSES}, ` +
    `widthMultiplier: 0.25})\` (ImageNet stem 7×7/2 + max pool, widths 16/32/64/128) or ` +
    `\`unet({depth: 3, baseWidth: 16, classes: ${_SEG_CLASSES}})\` (cross-entropy + Dice). ` +
    `\`-ip\`: IP alone with MSE; \`-joint\`: \`joint\` strategy; \`-gradprom\`: \`gradProm()\` ` +
    `(global cosine, gate). Each (backend, config) runs in a fresh process: warm-up steps, then ` +
    `timed steps (wall clock around \`trainStep\`, which reads both losses back, so the work is ` +
    `done). Paired rounds: the step times on this machine drift by ±25% within minutes (shared ` +
    `cores), so ${a.backends[0]} and PyTorch are timed in ${rounds} round(s), each running every ` +
    `config on our side and then PyTorch's, config after config; "median ms" is the median of ` +
    `the rounds' medians (IQR and min–max over all their steps), "ours / PyTorch" the median of ` +
    `the rounds' ratios with their range, "best / best" our fastest round's median over ` +
    `PyTorch's fastest round's (PyTorch's step time moves by up to 1.7× between fresh ` +
    `processes a minute apart, each steady within itself, so the median ratio can flatter ` +
    `us; the best rounds cannot), and GradProm / Joint likewise per round. ` +
    `${
      a.backends.slice(1).join(" and ") || "Other backends"
    } ran in round 1 only. PyTorch runs the same architectures (tools/bench_torch.py; parameter counts checked ` +
    `equal) with the same steps: Joint is one backward of L_IP + λ·L_VR; GradProm is ` +
    `\`torch.autograd.grad\` of L_IP (graph retained) and of L_VR over θ ∪ φ, the cosine of the ` +
    `flattened θ gradients, the gate, then both optimizer steps. The library's rows run the ` +
    `same passes: GradProm one recorded forward and one backward per loss (G_IP and G_VR ` +
    `apart, as the gate needs them), Joint one backward of L_IP + λ·L_VR (\`measureCosine: ` +
    `false\`, as on a run's steps that do not log the cosine). The cpu backend (pure JS, ~10× ` +
    `slower than wasm) runs only with \`--backends cpu\`, and only the small IP config. Peak RSS is \`Deno.memoryUsage().rss\` ` +
    `sampled after every step of that process; tf.memory is after the timed steps; step peak is ` +
    `\`tf.profile(...).peakBytes\` of one extra step (onednn, wasm). Backends: \`onednn\` is ` +
    `the cpu backend with oneDNN kernels through Deno FFI (lib/backend/onednn/), \`wasm\` the ` +
    `TF.js wasm backend (XNNPACK, one thread) with our conv-gradient kernels, \`cpu\` pure JS.

## Results

${table}

## Where the time goes

${where}
`;
  await Deno.writeTextFile(a.out, md);
  // Formatted as `deno task check` expects (tables aligned, prose wrapped); best effort.
  await _run(Deno.execPath(), ["fmt", "--quiet", a.out]).catch(() => undefined);
  log(`wrote ${a.out}`);
}

if (import.meta.main) await main();
