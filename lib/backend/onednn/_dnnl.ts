/**
 * oneDNN 2.x (Debian `libdnnl2`) through `Deno.dlopen`: the few C functions the native
 * kernels need, and cached primitives that run on float32 typed arrays in place.
 *
 * Written against the 2.x C API (oneDNN 3.x replaced the op-descriptor functions used here),
 * so `loadDnnl` refuses any other major version. Enum values that are implicit in the
 * headers (format tags, engine kind) are checked at load time with oneDNN's own `*2str`
 * functions; struct sizes are those of 2.6 (`dnnl_memory_desc_t` 696 bytes, op descriptors
 * ≤ 5976 bytes), with room to spare in the buffers.
 *
 * Memory: every oneDNN memory object of a cached primitive is created without a buffer and
 * pointed at the caller's typed array (`dnnl_memory_set_data_handle`) just before each
 * (blocking) execution; pointers are never kept. Arrays of ≤ 64 bytes may live on the V8 heap
 * and move, so they are copied through off-heap staging buffers.
 *
 * Internal to the onednn backend.
 *
 * @module
 */

/** A float32 array the kernels read or write. */
export type F32 = Float32Array;

const _SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_status2str: { parameters: ["i32"], result: "pointer" },
  dnnl_fmt_tag2str: { parameters: ["i32"], result: "pointer" },
  dnnl_engine_kind2str: { parameters: ["i32"], result: "pointer" },
  dnnl_alg_kind2str: { parameters: ["i32"], result: "pointer" },
  dnnl_prop_kind2str: { parameters: ["i32"], result: "pointer" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_equal: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_memory_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_dilated_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "pointer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_data_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "pointer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_eltwise_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_eltwise_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_binary_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_matmul_desc_init: {
    parameters: ["buffer", "buffer", "buffer", "pointer", "buffer"],
    result: "i32",
  },
  dnnl_prelu_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_prelu_backward_desc_init: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_batch_normalization_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_batch_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_iterator_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_iterator_next: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_desc_iterator_fetch: { parameters: ["pointer"], result: "pointer" },
  dnnl_primitive_desc_iterator_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_primitive_desc_query: {
    parameters: ["pointer", "i32", "i32", "buffer"],
    result: "i32",
  },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_execute: {
    parameters: ["pointer", "pointer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

type _Lib = Deno.DynamicLibrary<typeof _SYMBOLS>["symbols"];

/** oneDNN constants (explicit in dnnl_types.h 2.x, or checked at load time). */
const DNNL = {
  success: 0,
  /** Checked with `dnnl_status2str`. */
  iteratorEnds: 4,
  f32: 3,
  /** Checked with `dnnl_fmt_tag2str`. */
  formatAny: 1,
  /** Checked with `dnnl_engine_kind2str`. */
  cpu: 1,
  forwardTraining: 64,
  forwardInference: 96,
  /** Backward with respect to data and weights (batch norm: diff_src, diff_scale, diff_shift). */
  backward: 128,
  backwardData: 160,
  backwardWeights: 192,
  convolutionDirect: 0x1,
  eltwiseRelu: 0x1f,
  eltwiseTanh: 0x2f,
  eltwiseSquare: 0x4f,
  /** tanh whose backward pass reads the forward output: dx = dy·(1 − y²). */
  eltwiseTanhUseDstForBwd: 0x101,
  bnUseGlobalStats: 0x1,
  bnUseScale: 0x8,
  bnUseShift: 0x10,
  binaryAdd: 0x1fff0,
  binaryMul: 0x1fff1,
  binaryDiv: 0x1fff4,
  binarySub: 0x1fff5,
  querySrcMd: 129,
  queryDiffSrcMd: 130,
  queryWeightsMd: 131,
  queryDiffWeightsMd: 132,
  queryDstMd: 133,
  queryDiffDstMd: 134,
  queryScratchpadMd: 136,
  queryNumOfInputs: 3,
  queryImplInfoStr: 8,
  argSrc: 1,
  argSrc1: 2,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  argMean: 49,
  argVariance: 50,
  argScale: 51,
  argShift: 52,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
  argDiffBias: 169,
  argDiffScale: 255,
  argDiffShift: 256,
} as const;

/** Binary algorithms the kernels use. */
export type BinaryAlg = "add" | "mul" | "sub" | "div";

const _MD_BYTES = 1024; // dnnl_memory_desc_t is 696 bytes in 2.6
const _OP_BYTES = 8192; // dnnl_convolution_desc_t, the largest used, is 5976 bytes
/** DNNL_MEMORY_ALLOCATE; made on first use (any FFI call needs --allow-ffi, even at import). */
let _memoryAllocate: Deno.PointerValue = null;

/** Why oneDNN could not be used, or undefined if it loaded. */
export let dnnlLoadError: string | undefined;

let _lib: _Lib | undefined;
let _engine: Deno.PointerValue = null;
let _stream: Deno.PointerValue = null;
let _versionString = "";

function _cstr(p: Deno.PointerValue): string {
  return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
}

function _check(status: number, what: string): void {
  if (status !== DNNL.success) {
    const name = _lib ? _cstr(_lib.dnnl_status2str(status)) : String(status);
    throw new Error(`oneDNN ${what} failed: ${name} (status ${status})`);
  }
}

function _outPointer(out: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0]);
}

/**
 * Sets `OMP_WAIT_POLICY=passive` unless the environment sets it: libgomp reads it once, when
 * libdnnl loads it. By default (active) an OpenMP thread spins for a while after every parallel
 * region, taking a core from the JS thread between kernels; measured on 2 cores with the load
 * average at 9, one GradProm step (SR-ResNet 32×4 + ResNet-18 ¼) took 11–18 s with spinning
 * threads and 1.2–1.3 s with passive ones.
 */
function _passiveOpenMp(): void {
  try {
    if (Deno.env.get("OMP_WAIT_POLICY") === undefined) Deno.env.set("OMP_WAIT_POLICY", "passive");
  } catch {
    // No --allow-env: leave libgomp's default.
  }
}

/** Paths tried by `loadDnnl`, in order. */
export const DNNL_LIBRARY_PATHS: readonly string[] = [
  "libdnnl.so.2",
  "/usr/lib/x86_64-linux-gnu/libdnnl.so.2",
  "/usr/lib/aarch64-linux-gnu/libdnnl.so.2",
];

/**
 * Loads libdnnl 2.x once, creates the CPU engine and stream and checks the enum values
 * this module relies on.
 *
 * @returns The oneDNN version ("2.6.3"), or throws why it cannot be used.
 */
export function loadDnnl(): string {
  if (_lib) return _versionString;
  _passiveOpenMp();
  const errors: string[] = [];
  let opened: Deno.DynamicLibrary<typeof _SYMBOLS> | undefined;
  for (const path of DNNL_LIBRARY_PATHS) {
    try {
      opened = Deno.dlopen(path, _SYMBOLS);
      break;
    } catch (e) {
      errors.push(`${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!opened) {
    dnnlLoadError = errors.join("; ");
    throw new Error(`Expected libdnnl.so.2 to load but found: ${dnnlLoadError}`);
  }
  const lib = opened.symbols;
  // dnnl_version_t: int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime.
  const v = new Deno.UnsafePointerView(lib.dnnl_version()!);
  const [major, minor, patch] = [v.getInt32(0), v.getInt32(4), v.getInt32(8)];
  const version = `${major}.${minor}.${patch}`;
  const checks: [string, string][] = [
    [_cstr(lib.dnnl_status2str(DNNL.iteratorEnds)), "iterator_ends"],
    [_cstr(lib.dnnl_fmt_tag2str(DNNL.formatAny)), "any"],
    [_cstr(lib.dnnl_engine_kind2str(DNNL.cpu)), "cpu"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.convolutionDirect)), "convolution_direct"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.eltwiseRelu)), "eltwise_relu"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.eltwiseTanh)), "eltwise_tanh"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.eltwiseSquare)), "eltwise_square"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.eltwiseTanhUseDstForBwd)), "eltwise_tanh_use_dst_for_bwd"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.binaryAdd)), "binary_add"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.binaryMul)), "binary_mul"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.binarySub)), "binary_sub"],
    [_cstr(lib.dnnl_alg_kind2str(DNNL.binaryDiv)), "binary_div"],
    [_cstr(lib.dnnl_prop_kind2str(DNNL.forwardTraining)), "forward_training"],
    [_cstr(lib.dnnl_prop_kind2str(DNNL.forwardInference)), "forward_inference"],
    [_cstr(lib.dnnl_prop_kind2str(DNNL.backward)), "backward"],
    [_cstr(lib.dnnl_prop_kind2str(DNNL.backwardData)), "backward_data"],
    [_cstr(lib.dnnl_prop_kind2str(DNNL.backwardWeights)), "backward_weights"],
  ];
  const bad = checks.filter(([found, want]) => found !== want);
  if (major !== 2 || bad.length > 0) {
    opened.close();
    dnnlLoadError = major !== 2
      ? `Expected oneDNN 2.x but found ${version}`
      : `Expected oneDNN enum names ${bad.map((b) => b[1])} but found ${bad.map((b) => b[0])}`;
    throw new Error(dnnlLoadError);
  }
  _lib = lib;
  const out = new BigUint64Array(1);
  _check(lib.dnnl_engine_create(out, DNNL.cpu, 0n), "engine_create");
  _engine = _outPointer(out);
  _check(lib.dnnl_stream_create(out, _engine, 1 /* in order */), "stream_create");
  _stream = _outPointer(out);
  _versionString = version;
  dnnlLoadError = undefined;
  return version;
}

function _L(): _Lib {
  if (!_lib) throw new Error("Expected oneDNN to be loaded (loadDnnl) but it is not");
  return _lib;
}

/** A memory descriptor in a buffer that oneDNN reads. */
function _md(dims: readonly number[], strides?: readonly number[]): Uint8Array {
  const md = new Uint8Array(_MD_BYTES);
  const d = new BigInt64Array(12);
  dims.forEach((x, i) => (d[i] = BigInt(x)));
  if (strides === undefined) {
    _check(_L().dnnl_memory_desc_init_by_tag(md, dims.length, d, DNNL.f32, DNNL.formatAny), "md");
    return md;
  }
  const s = new BigInt64Array(12);
  strides.forEach((x, i) => (s[i] = BigInt(x)));
  _check(_L().dnnl_memory_desc_init_by_strides(md, dims.length, d, DNNL.f32, s), "md");
  return md;
}

/** Row-major (dense, C-order) strides of `dims`. */
function _dense(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** NHWC data as oneDNN's logical (N, C, H, W). */
function _nhwc(n: number, h: number, w: number, c: number): Uint8Array {
  return _md([n, c, h, w], [h * w * c, 1, w * c, c]);
}

/** TF.js HWIO filter `[kh, kw, I, O]` as oneDNN's logical (O, I, kh, kw). */
function _hwio(kh: number, kw: number, i: number, o: number): Uint8Array {
  return _md([o, i, kh, kw], [1, o, kw * i * o, i * o]);
}

function _dims(values: readonly number[]): BigInt64Array {
  const d = new BigInt64Array(12);
  values.forEach((x, i) => (d[i] = BigInt(x)));
  return d;
}

function _allocateHandle(): Deno.PointerValue {
  return _memoryAllocate ??= Deno.UnsafePointer.create(0xffffffffffffffffn);
}

/** A memory object without a buffer (set per call), or owning one (`allocate`). */
function _memory(md: Deno.PointerValue | Uint8Array, allocate = false): Deno.PointerValue {
  const out = new BigUint64Array(1);
  const mdPtr = md instanceof Uint8Array ? Deno.UnsafePointer.of(md) : md;
  _check(
    _L().dnnl_memory_create(out, mdPtr, _engine, allocate ? _allocateHandle() : null),
    "memory_create",
  );
  return _outPointer(out);
}

function _pd(op: Uint8Array, hint: Deno.PointerValue = null): Deno.PointerValue {
  const out = new BigUint64Array(1);
  _check(_L().dnnl_primitive_desc_create(out, op, null, _engine, hint), "primitive_desc_create");
  return _outPointer(out);
}

/**
 * Like `_pd`, but the first implementation (in oneDNN's order of preference) that `reject`
 * does not refuse by name: oneDNN's primitive-descriptor iterator, the rejected candidates
 * destroyed.
 */
function _pdExcept(
  op: Uint8Array,
  hint: Deno.PointerValue,
  reject: (impl: string) => boolean,
): Deno.PointerValue {
  const lib = _L();
  const out = new BigUint64Array(1);
  _check(
    lib.dnnl_primitive_desc_iterator_create(out, op, null, _engine, hint),
    "primitive_desc_iterator_create",
  );
  const it = _outPointer(out);
  const rejected: string[] = [];
  try {
    for (;;) {
      const pd = lib.dnnl_primitive_desc_iterator_fetch(it);
      if (pd === null) throw new Error("oneDNN primitive_desc_iterator_fetch failed");
      const impl = _implName(pd);
      if (!reject(impl)) return pd;
      rejected.push(impl);
      lib.dnnl_primitive_desc_destroy(pd);
      const status = lib.dnnl_primitive_desc_iterator_next(it);
      if (status === DNNL.iteratorEnds) {
        throw new Error(
          `Expected a oneDNN implementation besides ${rejected.join(", ")} but found none`,
        );
      }
      _check(status, "primitive_desc_iterator_next");
    }
  } finally {
    lib.dnnl_primitive_desc_iterator_destroy(it);
  }
}

function _primitive(pd: Deno.PointerValue): Deno.PointerValue {
  const out = new BigUint64Array(1);
  _check(_L().dnnl_primitive_create(out, pd), "primitive_create");
  return _outPointer(out);
}

function _queryMd(pd: Deno.PointerValue, what: number): Deno.PointerValue {
  const p = _L().dnnl_primitive_desc_query_md(pd, what, 0);
  if (p === null) throw new Error(`oneDNN primitive descriptor has no memory desc ${what}`);
  return p;
}

/** An integer a primitive descriptor reports (`dnnl_query_*_s32`), or undefined. */
function _queryS32(pd: Deno.PointerValue, what: number): number | undefined {
  const out = new Int32Array(2);
  if (_L().dnnl_primitive_desc_query(pd, what, 0, out) !== DNNL.success) return undefined;
  return out[0];
}

function _implName(pd: Deno.PointerValue): string {
  const out = new BigUint64Array(1);
  if (_L().dnnl_primitive_desc_query(pd, DNNL.queryImplInfoStr, 0, out) !== DNNL.success) {
    return "?";
  }
  return _cstr(_outPointer(out));
}

/** Off-heap staging buffers for arrays of ≤ 64 bytes (which V8 may move). */
const _SMALL = 64;

function _stable(a: F32, slot: number): F32 {
  if (a.byteLength > _SMALL) return a;
  const s = _staging[slot] ??= new Float32Array(new ArrayBuffer(256));
  s.set(a);
  return s;
}
const _staging: F32[] = [];

/**
 * One executable primitive with its argument memories. `run` points each memory at the given
 * arrays and executes; an argument marked as output is copied back if it had to be staged.
 */
class _Exec {
  /** Number of arguments (memories) `run` takes. */
  readonly arity: number;
  readonly #prim: Deno.PointerValue;
  readonly #memories: Deno.PointerValue[];
  readonly #args: Uint8Array;

  constructor(prim: Deno.PointerValue, args: [number, Deno.PointerValue][]) {
    this.#prim = prim;
    this.#memories = args.map((a) => a[1]);
    this.arity = args.length;
    this.#args = new Uint8Array(16 * args.length);
    const view = new DataView(this.#args.buffer);
    args.forEach(([arg, mem], i) => {
      view.setInt32(16 * i, arg, true);
      view.setBigUint64(16 * i + 8, BigInt(Deno.UnsafePointer.value(mem)), true);
    });
  }

  /** Runs with `buffers[i]` behind argument i (null: the memory owns its buffer). */
  run(buffers: (F32 | null)[]): void {
    const lib = _L();
    const staged: [F32, F32][] = [];
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      if (b === null) continue;
      const s = _stable(b, i);
      if (s !== b) staged.push([b, s]);
      _check(lib.dnnl_memory_set_data_handle(this.#memories[i], Deno.UnsafePointer.of(s)), "set");
    }
    _check(
      lib.dnnl_primitive_execute(this.#prim, _stream, this.#memories.length, this.#args),
      "exec",
    );
    for (const [b, s] of staged) b.set(s.subarray(0, b.length));
  }
}

/** A reorder between a user layout and a primitive's chosen layout (or none if equal). */
class _Reorder {
  readonly exec: _Exec | undefined;
  /** The memory on the primitive's side (owns its buffer when a reorder is needed). */
  readonly inner: Deno.PointerValue;

  /** `toInner`: user → primitive (inputs), else primitive → user (outputs). */
  constructor(user: Uint8Array, innerMd: Deno.PointerValue, toInner: boolean) {
    const lib = _L();
    const userPtr = Deno.UnsafePointer.of(user);
    if (lib.dnnl_memory_desc_equal(userPtr, innerMd) !== 0) {
      this.inner = _memory(user);
      return;
    }
    this.inner = _memory(innerMd, true);
    const userMem = _memory(user);
    const out = new BigUint64Array(1);
    const [src, dst] = toInner ? [userPtr, innerMd] : [innerMd, userPtr];
    _check(
      lib.dnnl_reorder_primitive_desc_create(out, src, _engine, dst, _engine, null),
      "reorder_primitive_desc_create",
    );
    const prim = _primitive(_outPointer(out));
    this.exec = toInner
      ? new _Exec(prim, [[DNNL.argSrc, userMem], [DNNL.argDst, this.inner]])
      : new _Exec(prim, [[DNNL.argSrc, this.inner], [DNNL.argDst, userMem]]);
  }
}

/** Geometry of a 2-D NHWC convolution, in TF.js terms. */
export interface ConvGeometry {
  n: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kh: number;
  kw: number;
  strides: [number, number];
  dilations: [number, number];
  /** Paddings top, bottom, left, right. */
  pad: [number, number, number, number];
}

function _geomKey(g: ConvGeometry): string {
  return [
    g.n,
    g.inH,
    g.inW,
    g.inC,
    g.outH,
    g.outW,
    g.outC,
    g.kh,
    g.kw,
    ...g.strides,
    ...g.dilations,
    ...g.pad,
  ].join(",");
}

interface _ConvCommon {
  src: Uint8Array;
  dst: Uint8Array;
  wAny: Uint8Array;
  wUser: Uint8Array;
  strides: BigInt64Array;
  dil: BigInt64Array;
  padL: BigInt64Array;
  padR: BigInt64Array;
  fwdOp: Uint8Array;
  fwdPd: Deno.PointerValue;
}

function _convCommon(g: ConvGeometry, bias: boolean): _ConvCommon {
  const lib = _L();
  const src = _nhwc(g.n, g.inH, g.inW, g.inC);
  const dst = _nhwc(g.n, g.outH, g.outW, g.outC);
  const wAny = _md([g.outC, g.inC, g.kh, g.kw]);
  const wUser = _hwio(g.kh, g.kw, g.inC, g.outC);
  const strides = _dims(g.strides);
  const dil = _dims([g.dilations[0] - 1, g.dilations[1] - 1]);
  const padL = _dims([g.pad[0], g.pad[2]]);
  const padR = _dims([g.pad[1], g.pad[3]]);
  const fwdOp = new Uint8Array(_OP_BYTES);
  const biasMd = bias ? _md([g.outC], [1]) : null;
  _check(
    lib.dnnl_dilated_convolution_forward_desc_init(
      fwdOp,
      DNNL.forwardTraining,
      DNNL.convolutionDirect,
      src,
      wAny,
      biasMd === null ? null : Deno.UnsafePointer.of(biasMd),
      dst,
      strides,
      dil,
      padL,
      padR,
    ),
    "convolution_forward_desc_init",
  );
  return { src, dst, wAny, wUser, strides, dil, padL, padR, fwdOp, fwdPd: _pd(fwdOp) };
}

/**
 * One cached convolution primitive of one direction: its filter-side reorder (user HWIO ↔
 * the primitive's weights layout), the primitive, and the implementation oneDNN chose.
 */
interface _ConvPlan {
  reorder: _Reorder;
  exec: _Exec;
  impl: string;
}

const _fwdCache = new Map<string, _ConvPlan>();
const _bwdDataCache = new Map<string, _ConvPlan>();
const _bwdWeightsCache = new Map<string, _ConvPlan>();
// Descriptors shared by the three directions of one geometry (the backward ones need the
// forward primitive descriptor as a hint). Kept for the life of the process.
const _commonCache = new Map<string, _ConvCommon>();

/** The value cached under `key`, built by `build` on first use. */
function _cached<K, T>(cache: Map<K, T>, key: K, build: () => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    v = build();
    cache.set(key, v);
  }
  return v;
}

function _common(g: ConvGeometry): _ConvCommon {
  return _cached(_commonCache, _geomKey(g), () => _convCommon(g, false));
}

/**
 * A convolution primitive from its primitive descriptor `pd`: the filter's
 * reorder (to the weights layout `pd` reports for `weightsQuery`, as an input if `toInner`,
 * else as an output) and the primitive over `args(the filter-side memory)`.
 */
function _convPlan(
  c: _ConvCommon,
  pd: Deno.PointerValue,
  weightsQuery: number,
  toInner: boolean,
  args: (weights: Deno.PointerValue) => [number, Deno.PointerValue][],
): _ConvPlan {
  const reorder = new _Reorder(c.wUser, _queryMd(pd, weightsQuery), toInner);
  const exec = new _Exec(_primitive(pd), args(reorder.inner));
  return { reorder, exec, impl: _implName(pd) };
}

/**
 * Forward convolution `y = conv(x, w) (+ bias)`, NHWC activations, HWIO filter.
 *
 * @param g Geometry.
 * @param x Input, `n·inH·inW·inC` floats.
 * @param w Filter `[kh, kw, inC, outC]`.
 * @param bias Per-output-channel bias, or null.
 * @param y Output, `n·outH·outW·outC` floats (written).
 */
export function convForward(g: ConvGeometry, x: F32, w: F32, bias: F32 | null, y: F32): void {
  const p = _cached(_fwdCache, `${_geomKey(g)}|${bias !== null}`, () => {
    const c = bias === null ? _common(g) : _convCommon(g, true);
    return _convPlan(c, c.fwdPd, DNNL.queryWeightsMd, true, (weights) => {
      const args: [number, Deno.PointerValue][] = [
        [DNNL.argSrc, _memory(c.src)],
        [DNNL.argWeights, weights],
        [DNNL.argDst, _memory(c.dst)],
      ];
      if (bias !== null) args.push([DNNL.argBias, _memory(_md([g.outC], [1]))]);
      return args;
    });
  });
  p.reorder.exec?.run([w, null]);
  const wArg = p.reorder.exec ? null : w;
  p.exec.run(bias === null ? [x, wArg, y] : [x, wArg, y, bias]);
}

/**
 * Gradient of a convolution with respect to its input.
 *
 * @param g Geometry of the forward convolution.
 * @param dy Gradient of the output, `n·outH·outW·outC`.
 * @param w Filter `[kh, kw, inC, outC]`.
 * @param dx Gradient of the input, `n·inH·inW·inC` (written).
 */
export function convBackwardData(g: ConvGeometry, dy: F32, w: F32, dx: F32): void {
  const p = _cached(_bwdDataCache, _geomKey(g), () => {
    const c = _common(g);
    const op = new Uint8Array(_OP_BYTES);
    _check(
      _L().dnnl_dilated_convolution_backward_data_desc_init(
        op,
        DNNL.convolutionDirect,
        c.src,
        c.wAny,
        c.dst,
        c.strides,
        c.dil,
        c.padL,
        c.padR,
      ),
      "convolution_backward_data_desc_init",
    );
    return _convPlan(c, _pd(op, c.fwdPd), DNNL.queryWeightsMd, true, (weights) => [
      [DNNL.argDiffDst, _memory(c.dst)],
      [DNNL.argWeights, weights],
      [DNNL.argDiffSrc, _memory(c.src)],
    ]);
  });
  p.reorder.exec?.run([w, null]);
  p.exec.run([dy, p.reorder.exec ? null : w, dx]);
}

/**
 * True if `impl` is oneDNN's `jit_1x1` backward-weights convolution (`jit_1x1:avx2`,
 * `jit_1x1:avx512_core`) and `g` a strided 1×1 convolution with fewer than 16 input channels,
 * which that implementation gets wrong.
 *
 * For a strided 1×1 convolution it first copies the sampled input pixels into a unit-stride
 * workspace in its scratchpad ("rtus"). For NHWC input it books `ic` floats a pixel per thread
 * (`rtus_prepare_space_info`) but starts each spatial chunk at `pixel · ic_block` (8 on avx2,
 * 16 on avx512), so with `ic < ic_block` each thread writes past its share: into the other
 * thread's workspace (wrong filter gradients; with `ONEDNN_MAX_CPU_ISA=AVX2` a relative error of
 * 0.4–2.7 for 1, 3 or 4 channels) and past the end of the scratchpad, a heap block (avx512: about
 * 1.1 KB beyond the 2.4 KB scratchpad of 3×12×12×4 → 6×6×8), which later made an unrelated
 * `malloc` or `free` abort or segfault. It needs two threads (the workspace is per thread); the
 * statements involved are unchanged in oneDNN 3.x. Which chunks overflow depends on the thread
 * split, so every `ic < 16` (both blocks) with a stride is avoided, and only this
 * implementation: oneDNN's next choice runs instead (`jit:avx512_core`, `jit:avx2`). Its 1×1
 * forward and backward-data primitives stayed inside their scratchpads (checked with guard
 * zones around a user-managed scratchpad).
 */
function _rtusOverrun(g: ConvGeometry, impl: string): boolean {
  const strided = g.strides[0] !== 1 || g.strides[1] !== 1;
  return impl.startsWith("jit_1x1") && g.kh === 1 && g.kw === 1 && strided && g.inC < 16;
}

/**
 * Gradient of a convolution with respect to its filter.
 *
 * @param g Geometry of the forward convolution.
 * @param x Input of the forward convolution.
 * @param dy Gradient of the output.
 * @param dw Gradient of the filter, `[kh, kw, inC, outC]` (written).
 */
export function convBackwardWeights(g: ConvGeometry, x: F32, dy: F32, dw: F32): void {
  const p = _cached(_bwdWeightsCache, _geomKey(g), () => {
    const c = _common(g);
    const op = new Uint8Array(_OP_BYTES);
    _check(
      _L().dnnl_dilated_convolution_backward_weights_desc_init(
        op,
        DNNL.convolutionDirect,
        c.src,
        c.wAny,
        null,
        c.dst,
        c.strides,
        c.dil,
        c.padL,
        c.padR,
      ),
      "convolution_backward_weights_desc_init",
    );
    const pd = _pdExcept(op, c.fwdPd, (impl) => _rtusOverrun(g, impl));
    return _convPlan(c, pd, DNNL.queryDiffWeightsMd, false, (weights) => [
      [DNNL.argSrc, _memory(c.src)],
      [DNNL.argDiffDst, _memory(c.dst)],
      [DNNL.argDiffWeights, weights],
    ]);
  });
  p.exec.run([x, dy, p.reorder.exec ? null : dw]);
  p.reorder.exec?.run([null, dw]);
}

const _eltCache = new Map<string, _Exec>();

/**
 * The primitive cached under `key` (element-wise, PReLU, batch norm, binary, matmul): built
 * by `build` on first use.
 */
function _eltExec(key: string, build: () => _Exec): _Exec {
  return _cached(_eltCache, key, build);
}

function _flatMd(size: number): Uint8Array {
  return _md([size], [1]);
}

/** The operation descriptor of the element-wise forward `kind` (a `DNNL.eltwise*`) over `md`. */
function _eltwiseForwardOp(kind: number, md: Uint8Array): Uint8Array {
  const op = new Uint8Array(_OP_BYTES);
  _check(
    _L().dnnl_eltwise_forward_desc_init(op, DNNL.forwardTraining, kind, md, 0, 0),
    "eltwise_forward_desc_init",
  );
  return op;
}

/** Element-wise functions the kernels use. */
export type EltwiseAlg = "relu" | "square" | "tanh";

const _eltwiseAlg: Record<EltwiseAlg, number> = {
  relu: DNNL.eltwiseRelu,
  square: DNNL.eltwiseSquare,
  tanh: DNNL.eltwiseTanh,
};

/**
 * Element-wise `y = f(x)` over `x.length` floats.
 *
 * @param alg `relu` (max(x, 0)), `square` (x²) or `tanh`.
 * @param x Input.
 * @param y Output (written; may be `x`).
 */
export function eltwise(alg: EltwiseAlg, x: F32, y: F32): void {
  const key = `${alg}|${x.length}`;
  const e = _eltExec(key, () => {
    const md = _flatMd(x.length);
    const op = _eltwiseForwardOp(_eltwiseAlg[alg], md);
    return new _Exec(_primitive(_pd(op)), [[DNNL.argSrc, _memory(md)], [DNNL.argDst, _memory(md)]]);
  });
  e.run([x, y]);
}

/**
 * ReLU forward `y = max(x, 0)` over `x.length` floats.
 *
 * @param x Input.
 * @param y Output (written; may be `x`).
 */
export function reluForward(x: F32, y: F32): void {
  eltwise("relu", x, y);
}

/**
 * The memory descriptors of a PReLU of row-major `[rows, channels]` data (`md`) with one slope
 * per channel (`wMd`), and the operation descriptor of its forward pass (`op`).
 */
function _preluForwardOp(
  rows: number,
  channels: number,
): { md: Uint8Array; wMd: Uint8Array; op: Uint8Array } {
  const md = _md([rows, channels], [channels, 1]);
  const wMd = _md([1, channels], [channels, 1]);
  const op = new Uint8Array(_OP_BYTES);
  _check(
    _L().dnnl_prelu_forward_desc_init(op, DNNL.forwardTraining, md, wMd),
    "prelu_forward_desc_init",
  );
  return { md, wMd, op };
}

/**
 * PReLU `y = x > 0 ? x : α·x` of row-major `[rows, channels]` data with one α per channel.
 *
 * @param rows Rows of `x`.
 * @param channels Channels (last axis).
 * @param x Input.
 * @param alpha Slopes, `channels` floats.
 * @param y Output (written).
 */
export function preluForward(rows: number, channels: number, x: F32, alpha: F32, y: F32): void {
  const key = `prelu|${rows},${channels}`;
  const e = _eltExec(key, () => {
    const { md, wMd, op } = _preluForwardOp(rows, channels);
    return new _Exec(_primitive(_pd(op)), [
      [DNNL.argSrc, _memory(md)],
      [DNNL.argWeights, _memory(wMd)],
      [DNNL.argDst, _memory(md)],
    ]);
  });
  e.run([x, alpha, y]);
}

/**
 * PReLU gradients: `dx = x > 0 ? dy : α·dy`, `dα[c] = Σ_rows (x ≤ 0 ? dy·x : 0)`.
 *
 * @param rows Rows of `x`.
 * @param channels Channels (last axis).
 * @param x Input of the forward PReLU.
 * @param alpha Slopes.
 * @param dy Gradient of the output.
 * @param dx Gradient of the input (written).
 * @param dalpha Gradient of the slopes (written).
 */
export function preluBackward(
  rows: number,
  channels: number,
  x: F32,
  alpha: F32,
  dy: F32,
  dx: F32,
  dalpha: F32,
): void {
  const key = `prelugrad|${rows},${channels}`;
  const e = _eltExec(key, () => {
    const { md, wMd, op: fwd } = _preluForwardOp(rows, channels);
    const op = new Uint8Array(_OP_BYTES);
    _check(_L().dnnl_prelu_backward_desc_init(op, md, wMd, md, wMd), "prelu_backward_desc_init");
    return new _Exec(_primitive(_pd(op, _pd(fwd))), [
      [DNNL.argSrc, _memory(md)],
      [DNNL.argWeights, _memory(wMd)],
      [DNNL.argDiffDst, _memory(md)],
      [DNNL.argDiffSrc, _memory(md)],
      [DNNL.argDiffWeights, _memory(wMd)],
    ]);
  });
  e.run([x, alpha, dy, dx, dalpha]);
}

/**
 * Batch normalisation with given statistics, `y = (x − mean)·scale/√(variance + ε) + offset`
 * per channel, of row-major `[rows, channels]` data.
 *
 * @param rows Rows of `x`.
 * @param channels Channels (last axis).
 * @param epsilon ε.
 * @param x Input.
 * @param mean Per-channel mean.
 * @param variance Per-channel variance.
 * @param scale Per-channel scale, or null for 1.
 * @param offset Per-channel offset, or null for 0.
 * @param y Output (written).
 */
export function batchNormForward(
  rows: number,
  channels: number,
  epsilon: number,
  x: F32,
  mean: F32,
  variance: F32,
  scale: F32 | null,
  offset: F32 | null,
  y: F32,
): void {
  const key = `bn|${rows},${channels},${epsilon},${scale !== null},${offset !== null}`;
  const e = _eltExec(key, () => {
    const md = _rowsByChannelsMd(rows, channels);
    const cMd = _md([channels], [1]);
    const flags = DNNL.bnUseGlobalStats | (scale !== null ? DNNL.bnUseScale : 0) |
      (offset !== null ? DNNL.bnUseShift : 0);
    const op = new Uint8Array(_OP_BYTES);
    _check(
      _L().dnnl_batch_normalization_forward_desc_init(
        op,
        DNNL.forwardInference,
        md,
        epsilon,
        flags,
      ),
      "batch_normalization_forward_desc_init",
    );
    const args: [number, Deno.PointerValue][] = [
      [DNNL.argSrc, _memory(md)],
      [DNNL.argMean, _memory(cMd)],
      [DNNL.argVariance, _memory(cMd)],
      [DNNL.argDst, _memory(md)],
    ];
    if (scale !== null) args.push([DNNL.argScale, _memory(cMd)]);
    if (offset !== null) args.push([DNNL.argShift, _memory(cMd)]);
    return new _Exec(_primitive(_pd(op)), args);
  });
  const buffers: F32[] = [x, mean, variance, y];
  if (scale !== null) buffers.push(scale);
  if (offset !== null) buffers.push(offset);
  e.run(buffers);
}

/**
 * Row-major `[rows, channels]` data as the channels-last 4-D tensor oneDNN's batch norm takes
 * (channel axis = dimension 1; its channels-last kernels are jitted, a 2-D (N, C) layout runs a
 * reference loop). With a multiple of 16 channels the rows are the spatial axis (N = 1,
 * H = rows): oneDNN's kernel then runs about twice as fast (measured, one thread: 8192×16
 * forward 101 → 42 µs, backward 84 → 58 µs) with bit-identical results (checked at 16, 32, 48,
 * 64 and 128 channels). With 8 channels it picks another kernel whose sums round differently,
 * so other channel counts keep the rows on the batch axis (N = rows, H = W = 1).
 */
function _rowsByChannelsMd(rows: number, channels: number): Uint8Array {
  return channels % 16 === 0
    ? _md([1, channels, rows, 1], [rows * channels, 1, channels, channels])
    : _md([rows, channels, 1, 1], [channels, 1, channels, channels]);
}

/**
 * The memory descriptors of a batch norm of row-major `[rows, channels]` data (`md`) and of
 * its per-channel vectors (`cMd`), and the operation descriptor of its forward pass in
 * training mode (`op`: batch statistics computed, scale and shift given).
 */
function _batchNormTrainOp(
  rows: number,
  channels: number,
  epsilon: number,
): { md: Uint8Array; cMd: Uint8Array; op: Uint8Array } {
  const md = _rowsByChannelsMd(rows, channels);
  const cMd = _md([channels], [1]);
  const op = new Uint8Array(_OP_BYTES);
  _check(
    _L().dnnl_batch_normalization_forward_desc_init(
      op,
      DNNL.forwardTraining,
      md,
      epsilon,
      DNNL.bnUseScale | DNNL.bnUseShift,
    ),
    "batch_normalization_forward_desc_init",
  );
  return { md, cMd, op };
}

/**
 * Batch normalisation in training mode of row-major `[rows, channels]` data, one oneDNN
 * primitive: the batch statistics over the rows, `mean` and the biased `variance` (divided by
 * `rows`, as `tf.moments`), and `y = (x − mean)·scale/√(variance + ε) + offset` per channel.
 *
 * @param rows Rows of `x` (N·H·W of an NHWC tensor).
 * @param channels Channels (last axis).
 * @param epsilon ε.
 * @param x Input.
 * @param scale Per-channel scale (γ).
 * @param offset Per-channel offset (β).
 * @param y Output (written).
 * @param mean Batch mean, `channels` floats (written).
 * @param variance Biased batch variance, `channels` floats (written).
 */
export function batchNormTrainForward(
  rows: number,
  channels: number,
  epsilon: number,
  x: F32,
  scale: F32,
  offset: F32,
  y: F32,
  mean: F32,
  variance: F32,
): void {
  const key = `bntrain|${rows},${channels},${epsilon}`;
  const e = _eltExec(key, () => {
    const { md, cMd, op } = _batchNormTrainOp(rows, channels, epsilon);
    return new _Exec(_primitive(_pd(op)), [
      [DNNL.argSrc, _memory(md)],
      [DNNL.argScale, _memory(cMd)],
      [DNNL.argShift, _memory(cMd)],
      [DNNL.argDst, _memory(md)],
      [DNNL.argMean, _memory(cMd)],
      [DNNL.argVariance, _memory(cMd)],
    ]);
  });
  e.run([x, scale, offset, y, mean, variance]);
}

/**
 * Gradients of `batchNormTrainForward` (the statistics are functions of `x`), one oneDNN
 * primitive: with `x̂ = (x − mean)/√(variance + ε)`, `dscale = Σ dy·x̂`, `doffset = Σ dy` over
 * the rows and `dx = scale/√(variance + ε)·(dy − doffset/rows − x̂·dscale/rows)`.
 *
 * @param rows Rows of `x`.
 * @param channels Channels (last axis).
 * @param epsilon ε of the forward pass.
 * @param x Input of the forward pass.
 * @param mean Batch mean the forward pass computed.
 * @param variance Batch variance the forward pass computed.
 * @param scale Per-channel scale (γ).
 * @param dy Gradient of the output.
 * @param dx Gradient of the input (written).
 * @param dscale Gradient of the scale (written).
 * @param doffset Gradient of the offset (written).
 */
export function batchNormTrainBackward(
  rows: number,
  channels: number,
  epsilon: number,
  x: F32,
  mean: F32,
  variance: F32,
  scale: F32,
  dy: F32,
  dx: F32,
  dscale: F32,
  doffset: F32,
): void {
  const key = `bntraingrad|${rows},${channels},${epsilon}`;
  const e = _eltExec(key, () => {
    const { md, cMd, op: fwd } = _batchNormTrainOp(rows, channels, epsilon);
    const op = new Uint8Array(_OP_BYTES);
    _check(
      _L().dnnl_batch_normalization_backward_desc_init(
        op,
        DNNL.backward,
        md,
        md,
        epsilon,
        DNNL.bnUseScale | DNNL.bnUseShift,
      ),
      "batch_normalization_backward_desc_init",
    );
    const pd = _pd(op, _pd(fwd));
    const args: [number, Deno.PointerValue][] = [
      [DNNL.argSrc, _memory(md)],
      [DNNL.argMean, _memory(cMd)],
      [DNNL.argVariance, _memory(cMd)],
      [DNNL.argScale, _memory(cMd)],
      [DNNL.argDiffDst, _memory(md)],
      [DNNL.argDiffSrc, _memory(md)],
      [DNNL.argDiffScale, _memory(cMd)],
      [DNNL.argDiffShift, _memory(cMd)],
    ];
    // oneDNN 2.x counts the shift among the backward pass's inputs (execution fails with
    // invalid_arguments without it) although the gradients do not depend on it; it is bound
    // to the scale's array, only read. Asked rather than assumed, in case a 2.x release
    // stops counting it.
    const inputs = 5; // src, mean, variance, scale, diff_dst
    if (_queryS32(pd, DNNL.queryNumOfInputs) === inputs + 1) {
      args.push([DNNL.argShift, _memory(cMd)]);
    }
    return new _Exec(_primitive(pd), args);
  });
  const buffers = [x, mean, variance, scale, dy, dx, dscale, doffset, scale];
  e.run(buffers.slice(0, e.arity));
}

/**
 * The backward pass of element-wise `alg` over `n` floats: `dx` from `dy` and `saved` (the
 * forward input for ReLU, the forward output for `eltwise_tanh_use_dst_for_bwd`, as `savedArg`).
 */
function _eltwiseBackward(
  name: string,
  alg: number,
  savedArg: number,
  dy: F32,
  saved: F32,
  dx: F32,
): void {
  const e = _eltExec(`${name}|${saved.length}`, () => {
    const md = _flatMd(saved.length);
    const fwd = _eltwiseForwardOp(alg, md);
    const op = new Uint8Array(_OP_BYTES);
    _check(
      _L().dnnl_eltwise_backward_desc_init(op, alg, md, md, 0, 0),
      "eltwise_backward_desc_init",
    );
    return new _Exec(_primitive(_pd(op, _pd(fwd))), [
      [DNNL.argDiffDst, _memory(md)],
      [savedArg, _memory(md)],
      [DNNL.argDiffSrc, _memory(md)],
    ]);
  });
  e.run([dy, saved, dx]);
}

/**
 * ReLU gradient `dx = dy · (x > 0)` over `x.length` floats.
 *
 * @param dy Gradient of the output.
 * @param x Input of the forward ReLU.
 * @param dx Gradient of the input (written).
 */
export function reluBackward(dy: F32, x: F32, dx: F32): void {
  _eltwiseBackward("relugrad", DNNL.eltwiseRelu, DNNL.argSrc, dy, x, dx);
}

/**
 * tanh gradient `dx = dy · (1 − y²)` over `y.length` floats, from the forward output `y`
 * (oneDNN's `eltwise_tanh_use_dst_for_bwd`).
 *
 * @param dy Gradient of the output.
 * @param y Output of the forward tanh.
 * @param dx Gradient of the input (written).
 */
export function tanhBackward(dy: F32, y: F32, dx: F32): void {
  _eltwiseBackward("tanhgrad", DNNL.eltwiseTanhUseDstForBwd, DNNL.argDst, dy, y, dx);
}

const _binaryAlg: Record<BinaryAlg, number> = {
  add: DNNL.binaryAdd,
  mul: DNNL.binaryMul,
  sub: DNNL.binarySub,
  div: DNNL.binaryDiv,
};

/**
 * Element-wise `c = a ∘ b` with `b` broadcast to `a`'s shape (dims of `b` are equal to
 * `a`'s or 1; same rank). Dense row-major arrays.
 *
 * @param alg The operation.
 * @param aShape Shape of `a` and `c`.
 * @param bShape Shape of `b`.
 * @param a First operand.
 * @param b Second operand.
 * @param c Output (written).
 */
export function binary(
  alg: BinaryAlg,
  aShape: readonly number[],
  bShape: readonly number[],
  a: F32,
  b: F32,
  c: F32,
): void {
  const key = `bin|${alg}|${aShape}|${bShape}`;
  const e = _eltExec(key, () => {
    const aMd = _md(aShape, _dense(aShape));
    const bMd = _md(bShape, _dense(bShape));
    const op = new Uint8Array(_OP_BYTES);
    _check(_L().dnnl_binary_desc_init(op, _binaryAlg[alg], aMd, bMd, aMd), "binary_desc_init");
    return new _Exec(_primitive(_pd(op)), [
      [DNNL.argSrc, _memory(aMd)],
      [DNNL.argSrc1, _memory(bMd)],
      [DNNL.argDst, _memory(aMd)],
    ]);
  });
  e.run([a, b, c]);
}

/**
 * Implementation names oneDNN chose for the cached convolutions (for reports), or for those of
 * geometry `g` only.
 */
export function convImplementations(g?: ConvGeometry): string[] {
  const names = new Set<string>();
  const key = g === undefined ? undefined : _geomKey(g);
  const add = (cache: Map<string, _ConvPlan>, direction: string) => {
    for (const [k, p] of cache) {
      if (key === undefined || k.split("|")[0] === key) names.add(`${direction}:${p.impl}`);
    }
  };
  add(_fwdCache, "fwd");
  add(_bwdDataCache, "bwd_data");
  add(_bwdWeightsCache, "bwd_weights");
  return [...names];
}

const _ones = new Map<string, F32>();

function _onesOf(n: number, value: number): F32 {
  const key = `${n}|${value}`;
  let o = _ones.get(key);
  if (!o) {
    o = new Float32Array(Math.max(n, 32)).fill(value).subarray(0, n);
    _ones.set(key, o);
  }
  return o;
}

/** `sumMatrix`'s per-column partial sums, one array per width (kept for the process). */
const _partials = new Map<number, F32>();

/**
 * Dense row-major matrix product `c[m, n] = a[m, k] · b[k, n]`.
 *
 * @param m Rows of `a` and `c`.
 * @param k Columns of `a`, rows of `b`.
 * @param n Columns of `b` and `c`.
 * @param a Left operand.
 * @param b Right operand.
 * @param c Output (written).
 */
export function matmul(m: number, k: number, n: number, a: F32, b: F32, c: F32): void {
  const key = `mm|${m},${k},${n}`;
  const e = _eltExec(key, () => {
    const aMd = _md([m, k], [k, 1]);
    const bMd = _md([k, n], [n, 1]);
    const cMd = _md([m, n], [n, 1]);
    const op = new Uint8Array(_OP_BYTES);
    _check(_L().dnnl_matmul_desc_init(op, aMd, bMd, null, cMd), "matmul_desc_init");
    return new _Exec(_primitive(_pd(op)), [
      [DNNL.argSrc, _memory(aMd)],
      [DNNL.argWeights, _memory(bMd)],
      [DNNL.argDst, _memory(cMd)],
    ]);
  });
  e.run([a, b, c]);
}

/**
 * Sums (times `scale`) of a row-major `[rows, cols]` matrix over its rows (`y[cols]`) or
 * over its columns (`y[rows]`), as a matrix product with a vector of `scale`s: the gemm is
 * memory-bound and ~20× faster than oneDNN 2.6's reduction primitive on these shapes.
 *
 * oneDNN 2.6's gemm is slow on narrow matrices (one thread, 24,576 values: 35 µs as
 * [1, k]·[k, 1], 3 µs as [1, 384]·[384, 64]), so a sum over the rows of fewer than 64 columns
 * sums groups of g consecutive rows as rows of g·cols values (g a power of two dividing `rows`),
 * and the g partial sums of each column are added here.
 *
 * @param rows Rows of `x`.
 * @param cols Columns of `x`.
 * @param overRows Sum over the rows (else over the columns).
 * @param scale Factor (1 for a sum, 1/count for a mean).
 * @param x Input.
 * @param y Output (written).
 */
export function sumMatrix(
  rows: number,
  cols: number,
  overRows: boolean,
  scale: number,
  x: F32,
  y: F32,
): void {
  if (!overRows) {
    matmul(rows, cols, 1, x, _onesOf(cols, scale), y);
    return;
  }
  let g = 1;
  while (g * cols < 64 && rows % (2 * g) === 0) g *= 2;
  if (g === 1) {
    matmul(1, rows, cols, _onesOf(rows, scale), x, y);
    return;
  }
  const width = g * cols;
  const partial = _cached(_partials, width, () => new Float32Array(width));
  matmul(1, rows / g, width, _onesOf(rows / g, scale), x, partial);
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (let k = c; k < width; k += cols) sum += partial[k];
    y[c] = sum;
  }
}
