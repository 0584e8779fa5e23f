import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { type BackendName, setupBackend } from "./setup_backend.ts";
import { DNNL_LIBRARY_PATHS } from "./onednn/_dnnl.ts";

/** Whether libdnnl.so.2 is installed here (then onednn is the automatic choice). */
function hasDnnl(): boolean {
  return DNNL_LIBRARY_PATHS.some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}
const DNNL = hasDnnl();
const AUTO: BackendName = DNNL ? "onednn" : "wasm";

const ROOT = new URL("../../", import.meta.url);
const MODULE = new URL("./setup_backend.ts", import.meta.url).href;

/** Runs `code` (TypeScript) in a fresh Deno process at the repository root. */
async function child(code: string, env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

const CALL_TWICE = `
import { setupBackend } from "${MODULE}";
const a = await setupBackend();
const b = await setupBackend();
console.log(a === b ? a.name : "different infos");
`;

Deno.test(`setupBackend() picks the first backend that starts (${AUTO} here), once, and refuses another later`, async () => {
  Deno.env.delete("GRADPROM_BACKEND");
  const info = await setupBackend({ quiet: true });
  // tfjs-node cannot be installed on these machines: its attempt must fail cleanly.
  assert.equal(info.name, AUTO);
  assert.equal(tf.getBackend(), AUTO);
  assert.equal(info.reason, "first backend that started");
  assert.equal(info.failed[0].name, "tensorflow");
  assert.equal(
    info.failed[0].error,
    "@tensorflow/tfjs-node-gpu not installed; @tensorflow/tfjs-node not installed",
  );
  assert.equal(await setupBackend(), info);
  assert.equal(await setupBackend({ backend: AUTO, quiet: true }), info);
  await assert.rejects(setupBackend({ backend: "cpu" }), /already set up in this process/);
  await assert.rejects(
    setupBackend({ backend: "gpu" as BackendName }),
    /Expected options.backend to be one of tensorflow, onednn, wasm, cpu but found "gpu"/,
  );
  Deno.env.set("GRADPROM_BACKEND", "cpu");
  try {
    await assert.rejects(setupBackend({ backend: AUTO }), /to agree but they differ/);
  } finally {
    Deno.env.delete("GRADPROM_BACKEND");
  }
});

Deno.test({
  name: "setupBackend() runs onednn (oneDNN 2.x, native conv gradients) where libdnnl.so.2 is" +
    (DNNL ? " installed" : ` installed (ignored: not found at ${DNNL_LIBRARY_PATHS.join(", ")})`),
  ignore: !DNNL,
  async fn() {
    Deno.env.delete("GRADPROM_BACKEND");
    const info = await setupBackend({ quiet: true });
    assert.equal(info.name, "onednn");
    assert.deepEqual(info.failed.map((f) => f.name), ["tensorflow"]);
    assert.match(info.onednn?.version ?? "", /^2\./);
    assert.ok(info.onednn?.nativeKernels.includes("Conv2DBackpropFilter"));
  },
});

Deno.test("setupBackend() honours GRADPROM_BACKEND and prints its choice once", async () => {
  const r = await child(CALL_TWICE, { GRADPROM_BACKEND: "cpu" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "cpu");
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("gradprom: "));
  assert.deepEqual(lines, ["gradprom: TF.js backend cpu (forced by GRADPROM_BACKEND)"]);
});

Deno.test("setupBackend() rejects an invalid GRADPROM_BACKEND", async () => {
  const r = await child(CALL_TWICE, { GRADPROM_BACKEND: "gpu" });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /Expected GRADPROM_BACKEND to be one of tensorflow, onednn, wasm, cpu but found "gpu"/,
  );
});

Deno.test("setupBackend() does not fall back when the forced backend fails", async () => {
  const r = await child(CALL_TWICE, { GRADPROM_BACKEND: "tensorflow" });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /TF.js backend tensorflow \(GRADPROM_BACKEND\) failed to start: .*tfjs-node not installed/,
  );
  assert.doesNotMatch(r.stderr, /gradprom: TF.js backend (onednn|wasm|cpu)/);
});

Deno.test("setupBackend() can force wasm where onednn would be chosen", async () => {
  const r = await child(CALL_TWICE, { GRADPROM_BACKEND: "wasm" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "wasm");
});

const REPORT_WASM = `
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "${MODULE}";
const info = await setupBackend({ quiet: true });
console.log(JSON.stringify({
  name: info.name,
  reason: info.reason,
  failed: info.failed.map((f) => f.name),
  onednnError: info.failed.find((f) => f.name === "onednn")?.error,
  gradientKernels: info.wasm?.gradientKernels,
  conv2dBackpropFilter: tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined,
}));
`;

Deno.test("setupBackend() falls back to wasm with its conv-gradient kernels when onednn cannot start (no FFI permission)", async () => {
  // A `deno run` without --allow-ffi cannot load libdnnl (installed or not): onednn fails
  // whatever the machine, so this is the automatic choice where libdnnl is missing.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, REPORT_WASM);
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--allow-read",
        "--allow-env",
        "--allow-net",
        "--allow-write",
        file,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    const info = JSON.parse(new TextDecoder().decode(r.stdout));
    assert.equal(info.name, "wasm");
    assert.equal(info.reason, "first backend that started");
    assert.deepEqual(info.failed, ["tensorflow", "onednn"]);
    assert.match(info.onednnError, /Requires ffi access/);
    assert.equal(info.gradientKernels, true);
    assert.equal(info.conv2dBackpropFilter, true);
  } finally {
    await Deno.remove(file);
  }
});
