/**
 * Chooses the TF.js compute backend once per process.
 *
 * Order: `tensorflow` (tfjs-node-gpu, then tfjs-node: native TensorFlow), else `onednn` (the
 * cpu backend with its heavy kernels run by oneDNN through FFI, `onednn/`; needs Debian's
 * `libdnnl2` and the FFI permission), else `wasm` (with the conv-gradient kernels of
 * `wasm_kernels.ts`), else `cpu` (pure JS). The environment variable
 * `GRADPROM_BACKEND=tensorflow|onednn|wasm|cpu` forces one; a forced backend that fails to
 * start is an error, never a silent fallback.
 *
 * About `tensorflow` (cannot be tested on the machines this was written on, where tfjs-node
 * does not install): `@tensorflow/tfjs-node@4.22.0` registers a backend named "tensorflow"
 * into the tfjs-core it depends on (through `@tensorflow/tfjs@4.22.0`, which pins
 * `@tensorflow/tfjs-core@4.22.0` exactly). Deno's npm resolver installs one copy per package
 * version, so with the versions pinned equal that is the very module instance this library
 * imports, and the registration is visible to our `tf.setBackend`. Even two copies of
 * tfjs-core would share the registration: the engine (`globalThis._tfengine`), the kernel
 * registry and the gradient registry live on the global object, so a backend registered
 * through either copy is found through the other. What would break with different copies is
 * version skew (kernel attributes that changed between versions), hence the pin: keep the
 * tfjs-node version equal to the tfjs-core version in deno.json. tfjs-node is imported only
 * if its package is present in `node_modules` (it must be added to deno.json on a machine
 * where its install script can download libtensorflow); otherwise the import is not even
 * attempted, because a dynamic `npm:` import of a missing package would make Deno fetch it
 * (slow, and it changes or violates the lock file).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Registers the wasm backend (and its kernels) with TF.js; it starts only when activated.
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { registerGradients } from "./register_gradients.ts";
import { registerResizeGradKernels } from "./resize_grad_kernels.ts";
import { registerWasmGradientKernels } from "./wasm_kernels.ts";
import { registerOnednnBackend } from "./onednn/register_onednn_backend.ts";
import { registerBatchNormGradient } from "./onednn/batch_norm_gradient.ts";
import { lightenSavedTensors } from "./saved_tensors.ts";

/** The backends `setupBackend` can choose. */
export type BackendName = "tensorflow" | "onednn" | "wasm" | "cpu";

const _NAMES: readonly BackendName[] = ["tensorflow", "onednn", "wasm", "cpu"];

/** What `setupBackend` chose and why. */
export interface BackendInfo {
  /** The TF.js backend in use (`tf.getBackend()`). */
  name: BackendName;
  /** Why this backend: forced (by option or environment) or the first that worked. */
  reason: string;
  /** For `tensorflow`: the npm package that provided it. */
  package?: string;
  /** For `onednn`: oneDNN's version, the kernels with a oneDNN path and those replaced by plain JS. */
  onednn?: { version: string; nativeKernels: readonly string[]; jsKernels: readonly string[] };
  /** For `wasm`: whether the SIMD build runs, and on how many threads. */
  wasm?: { simd: boolean; threads: number; gradientKernels: boolean };
  /** Backends tried before this one, and why each failed. */
  failed: { name: BackendName; error: string }[];
}

/** Options of `setupBackend`. */
export interface SetupBackendOptions {
  /** Force a backend (else `GRADPROM_BACKEND`, else the first that works). */
  backend?: BackendName;
  /** Do not print the choice to stderr. */
  quiet?: boolean;
}

const _TFJS_NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

let _setup: Promise<BackendInfo> | undefined;

function _parseName(value: string, source: string): BackendName {
  if ((_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new RangeError(`Expected ${source} to be one of ${_NAMES.join(", ")} but found "${value}"`);
}

function _envBackend(): BackendName | undefined {
  let value: string | undefined;
  try {
    value = Deno.env.get("GRADPROM_BACKEND");
  } catch {
    return undefined; // no --allow-env: the variable cannot be set for us either
  }
  if (value === undefined || value === "") return undefined;
  return _parseName(value, "GRADPROM_BACKEND");
}

function _message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** True if `node_modules/<name>` exists next to this library's deno.json. */
function _installed(name: string): boolean {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return url.protocol === "file:" && Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

async function _activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`Expected TF.js backend ${name} to start but found ${tf.getBackend()} active`);
  }
}

async function _tryTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of _TFJS_NODE_PACKAGES) {
    if (!_installed(pkg)) {
      errors.push(`${pkg} not installed`);
      continue;
    }
    try {
      // A computed specifier: type-checking must not require the (usually absent) package.
      const specifier = `npm:${pkg}@${tf.version_core}`;
      await import(specifier);
      if (tf.findBackendFactory("tensorflow") === null) {
        throw new Error(`Expected ${pkg} to register the "tensorflow" backend but found none`);
      }
      await _activate("tensorflow");
      return pkg;
    } catch (e) {
      errors.push(`${pkg}: ${_message(e)}`);
      // Let the next package register its own "tensorflow" backend.
      if (tf.findBackendFactory("tensorflow") !== null) tf.removeBackend("tensorflow");
    }
  }
  throw new Error(errors.join("; "));
}

async function _tryWasm(): Promise<NonNullable<BackendInfo["wasm"]>> {
  registerWasmGradientKernels();
  await _activate("wasm");
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
  return { simd, threads: getThreadsCount(), gradientKernels: true };
}

async function _tryOnednn(): Promise<NonNullable<BackendInfo["onednn"]>> {
  const info = registerOnednnBackend();
  await _activate("onednn");
  return { version: info.version, nativeKernels: info.nativeKernels, jsKernels: info.jsKernels };
}

async function _start(requested: BackendName | undefined, source: string): Promise<BackendInfo> {
  const failed: BackendInfo["failed"] = [];
  for (const name of requested ? [requested] : _NAMES) {
    try {
      const info: BackendInfo = {
        name,
        reason: requested ? `forced by ${source}` : "first backend that started",
        failed,
      };
      if (name === "tensorflow") info.package = await _tryTensorflow();
      else if (name === "onednn") info.onednn = await _tryOnednn();
      else if (name === "wasm") info.wasm = await _tryWasm();
      else await _activate("cpu");
      return info;
    } catch (e) {
      if (requested) {
        throw new Error(`TF.js backend ${name} (${source}) failed to start: ${_message(e)}`);
      }
      failed.push({ name, error: _message(e) });
    }
  }
  throw new Error(
    `No TF.js backend started: ${failed.map((f) => `${f.name}: ${f.error}`).join("; ")}`,
  );
}

/** The one-line description printed by `setupBackend`. */
function _describe(info: BackendInfo): string {
  const notes: string[] = [];
  if (info.package) notes.push(info.package);
  if (info.onednn) {
    notes.push(`oneDNN ${info.onednn.version}, ${info.onednn.nativeKernels.length} native kernels`);
  }
  if (info.wasm) {
    notes.push(`${info.wasm.simd ? "SIMD" : "no SIMD"}, ${info.wasm.threads} thread(s)`);
    notes.push("conv-gradient kernels registered");
  }
  notes.push(info.reason);
  for (const f of info.failed) notes.push(`${f.name}: ${f.error}`);
  return `gradprom: TF.js backend ${info.name} (${notes.join("; ")})`;
}

/**
 * Chooses and activates the TF.js backend, once per process: later calls return the same
 * info (and throw if they ask for a different backend). Also registers the TF.js gradients
 * (`register_gradients.ts`) and the kernel fixes (`resize_grad_kernels.ts`, and for wasm
 * `wasm_kernels.ts`), and saves tensors for backward passes without a kernel call each
 * (`saved_tensors.ts`).
 *
 * @param options `backend` to force one (else the env variable `GRADPROM_BACKEND`, else the
 *   first of tensorflow, onednn, wasm, cpu that starts); `quiet` to not print the choice to stderr.
 * @returns The chosen backend, why, and what failed before it.
 * @example
 * ```ts
 * import { setupBackend } from "./setup_backend.ts";
 * const info = await setupBackend({ quiet: true });
 * console.log(info.name); // "onednn" where libdnnl2 is installed but tfjs-node is not
 * ```
 */
export async function setupBackend(options: SetupBackendOptions = {}): Promise<BackendInfo> {
  const fromEnv = _envBackend();
  if (options.backend !== undefined) _parseName(options.backend, "options.backend");
  if (options.backend !== undefined && fromEnv !== undefined && options.backend !== fromEnv) {
    throw new Error(
      `Expected options.backend (${options.backend}) and GRADPROM_BACKEND (${fromEnv}) ` +
        "to agree but they differ",
    );
  }
  const requested = options.backend ?? fromEnv;
  if (_setup === undefined) {
    registerGradients();
    registerBatchNormGradient();
    registerResizeGradKernels();
    lightenSavedTensors();
    const source = options.backend !== undefined ? "options.backend" : "GRADPROM_BACKEND";
    _setup = _start(requested, source).then(
      (info) => {
        if (!options.quiet) console.error(_describe(info));
        return info;
      },
      (e) => {
        _setup = undefined; // a failed setup may be retried, e.g. with another backend
        throw e;
      },
    );
  }
  const info = await _setup;
  if (requested !== undefined && info.name !== requested) {
    throw new Error(
      `Expected no other backend than ${info.name}, already set up in this process, ` +
        `but found ${requested} requested`,
    );
  }
  return info;
}
