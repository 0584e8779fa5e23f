/**
 * The onednn backend's tensor storage: the cpu backend (`MathBackendCPU`, plain typed arrays)
 * plus a pool that recycles the float32 buffers of disposed kernel outputs.
 *
 * Why: a fresh 8 MB `Float32Array` costs ~1.7 ms on an idle machine (page faults and zeroing,
 * 20 ms measured on a loaded one), more than the oneDNN kernel that fills it; a train step
 * makes hundreds of them. Recycling is safe only for buffers nobody else can hold, so:
 * - only buffers that a kernel produced (`makeTensorInfo`) are recycled, never those that
 *   came in through `write` (`tf.tensor(values)` keeps the caller's array);
 * - a buffer returns to the pool when the last tensor data using it is disposed (a cpu
 *   `Slice` may return a view of its input's buffer, so the count is per `ArrayBuffer`);
 * - reads from outside a kernel (`dataSync`, `data`, `arraySync`) get a copy, since the
 *   caller may keep the array after disposing the tensor.
 *
 * Internal to the onednn backend.
 *
 * @module
 */

import { type DataId, type DataType, engine } from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/** At most this many bytes wait in the pool (beyond that, disposed buffers are dropped). */
const _POOL_BYTES = 1 << 30;
/** Smaller buffers are not pooled (allocating them is cheap). */
const _MIN_POOLED = 1024;

/** A `MathBackendCPU` whose kernel outputs are recycled; see the module doc. */
export class _OnednnBackend extends MathBackendCPU {
  readonly #free = new Map<number, Float32Array[]>();
  #freeBytes = 0;
  /** Live tensor data per recyclable buffer. */
  readonly #users = new Map<ArrayBuffer, number>();
  /** Buffers that entered through `write` (or `move`): never recycled. */
  readonly #foreign = new WeakSet<ArrayBufferLike>();
  #making = false;

  constructor() {
    super();
    // The cpu backend prints a note recommending tfjs-node on its first write.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** A float32 array of `n` values, recycled if possible (contents undefined). */
  alloc(n: number): Float32Array {
    const list = this.#free.get(n);
    const a = list?.pop();
    if (a) {
      this.#freeBytes -= a.byteLength;
      return a;
    }
    return new Float32Array(n);
  }

  /**
   * Hands back an array from {@link alloc} that never became a tensor's data (a kernel's
   * scratch buffer), for a later `alloc` of the same length.
   */
  release(a: Float32Array): void {
    const buf = a.buffer;
    if (
      a.length < _MIN_POOLED || !(buf instanceof ArrayBuffer) || a.byteLength !== buf.byteLength ||
      this.#users.has(buf) || this.#foreign.has(buf)
    ) return;
    this.#recycle(buf);
  }

  /** Number of bytes waiting in the pool (for tests). */
  get pooledBytes(): number {
    return this.#freeBytes;
  }

  #recyclable(values: unknown): values is Float32Array {
    return values instanceof Float32Array && values.length >= _MIN_POOLED &&
      values.buffer instanceof ArrayBuffer && !this.#foreign.has(values.buffer);
  }

  override write(values: never, shape: number[], dtype: DataType): DataId {
    if (!this.#making && ArrayBuffer.isView(values)) {
      this.#foreign.add((values as ArrayBufferView).buffer);
    }
    const id = super.write(values, shape, dtype);
    // A view of a tracked buffer (a cpu Slice of a kernel output) counts whatever its size.
    const v: unknown = values;
    const tracked = v instanceof Float32Array && this.#users.has(v.buffer as ArrayBuffer);
    if (this.#making && (tracked || this.#recyclable(values))) {
      const buf = (values as Float32Array).buffer as ArrayBuffer;
      this.#users.set(buf, (this.#users.get(buf) ?? 0) + 1);
    }
    return id;
  }

  override makeTensorInfo(shape: number[], dtype: DataType, values?: never) {
    this.#making = true;
    try {
      return super.makeTensorInfo(shape, dtype, values);
    } finally {
      this.#making = false;
    }
  }

  override move(
    dataId: DataId,
    values: never,
    shape: number[],
    dtype: DataType,
    refCount: number,
  ): void {
    if (ArrayBuffer.isView(values)) this.#foreign.add((values as ArrayBufferView).buffer);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId) {
    const v = super.readSync(dataId);
    // Inside a kernel the array is only read; outside, the caller may keep it.
    if (
      engine().state.kernelDepth === 0 && v instanceof Float32Array &&
      this.#users.has(v.buffer as ArrayBuffer)
    ) {
      return v.slice();
    }
    return v;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const done = super.disposeData(dataId, force);
    if (!this.data.has(dataId) && values instanceof Float32Array) {
      const buf = values.buffer as ArrayBuffer;
      const n = this.#users.get(buf);
      if (n !== undefined) {
        if (n > 1) this.#users.set(buf, n - 1);
        else {
          this.#users.delete(buf);
          this.#recycle(buf);
        }
      }
    }
    return done;
  }

  #recycle(buf: ArrayBuffer): void {
    if (this.#freeBytes + buf.byteLength > _POOL_BYTES) return;
    const a = new Float32Array(buf);
    const list = this.#free.get(a.length);
    if (list) list.push(a);
    else this.#free.set(a.length, [a]);
    this.#freeBytes += buf.byteLength;
  }

  override dispose(): void {
    this.#free.clear();
    this.#freeBytes = 0;
    super.dispose();
  }
}
