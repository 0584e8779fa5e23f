/**
 * Benchmark of the wasm convolution kernels (see the table at the top of wasm_kernels.ts).
 *
 * Run: `deno run -A lib/backend/_bench_conv.ts [repeats]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import "./register_gradients.ts";
import { _stockConv2dBackpropInput, registerWasmGradientKernels } from "./wasm_kernels.ts";

const repeats = Number(Deno.args[0] ?? 7);
registerWasmGradientKernels();
await tf.setBackend("wasm");
if (tf.getBackend() !== "wasm") throw new Error(`Expected wasm but found ${tf.getBackend()}`);

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(label: string, f: () => tf.TensorInfo): number {
  const backend = tf.backend();
  const ms: number[] = [];
  for (let i = 0; i < repeats + 1; i++) {
    const t0 = performance.now();
    const out = f();
    ms.push(performance.now() - t0);
    backend.disposeData(out.dataId);
  }
  const m = median(ms.slice(1));
  console.log(`${label.padEnd(44)} ${m.toFixed(1).padStart(8)} ms`);
  return m;
}

function bench(n: number, hw: number, c: number, k: number, stride: number): void {
  const outHw = Math.ceil(hw / stride);
  const x = tf.randomNormal([n, hw, hw, c], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([k, k, c, c], 0, 0.1, "float32", 2) as tf.Tensor4D;
  const dy = tf.randomNormal([n, outHw, outHw, c], 0, 1, "float32", 3) as tf.Tensor4D;
  const e = tf.engine();
  const backend = tf.backend();
  const common = { strides: [stride, stride], pad: "same", dataFormat: "NHWC" };
  const tag = `${n}x${hw}x${hw}x${c} ${k}x${k} s${stride}`;
  time(
    `${tag} forward Conv2D`,
    () => e.runKernel("Conv2D", { x, filter: w }, { ...common, dilations: [1, 1] }) as tf.Tensor,
  );
  time(
    `${tag} backprop-input (composed)`,
    () =>
      e.runKernel("Conv2DBackpropInput", { dy, filter: w }, {
        ...common,
        inputShape: x.shape,
      }) as tf.Tensor,
  );
  const stock = _stockConv2dBackpropInput()!;
  time(`${tag} backprop-input (stock)`, () =>
    stock.kernelFunc({
      inputs: { dy, filter: w },
      backend,
      attrs: { ...common, inputShape: x.shape },
    }) as tf.TensorInfo);
  time(`${tag} backprop-filter (composed)`, () =>
    e.runKernel("Conv2DBackpropFilter", { x, dy }, {
      ...common,
      filterShape: w.shape,
    }) as tf.Tensor);
  const step = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, "same"))
  );
  time(`${tag} tf.grads of conv2d (fwd+dx+dW)`, () => {
    const [gx, gw] = step([x, w]);
    gx.dispose();
    return gw;
  });
  tf.dispose([x, w, dy]);
}

bench(8, 64, 64, 3, 1);
bench(8, 64, 64, 3, 2);
