/**
 * What the four loaders' dataset objects share: items decoded lazily and
 * kept in a byte-bounded cache, batches of NHWC tensors (images, and labels
 * and/or masks), epoch-wise shuffling from the load's seed, `loadAll()`
 * within a memory bound; and the checks of the options every loader takes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../util/rng.ts";
import { _batchGroups, _decodeItems, _prefetchBatches, type BatchOptions } from "./_batches.ts";

/** One decoded item as the cache keeps it: `image` HWC in [0, 1], `mask` HW class indices. */
export interface _Entry {
  image: Float32Array;
  mask?: Uint8Array;
}

/** A decoded item as `item()` returns it. */
export interface _Item extends _Entry {
  id: string;
  label?: number;
}

/** What every loader passes to {@linkcode _LazyDataset}. */
export interface _LazyInit {
  root: string;
  size: [number, number];
  fit: "fill" | "cover";
  seed: number;
  cacheBytes: number;
  ids: string[];
  /** Image-level labels, or undefined where the task has none. */
  labels: Int32Array | undefined;
  imagePaths: string[];
}

/** The tensors a loader's batches hold. */
export interface _BatchShape {
  /** Image channels of the batches. */
  channels: number;
  /** Whether items carry masks. */
  masks: boolean;
  /** Items decoded at once. */
  concurrency: number;
}

/**
 * A loaded dataset whose items decode on demand. A subclass says how one
 * item decodes ({@linkcode _LazyDataset.decode}); caching, batching and
 * `loadAll()` are here.
 */
export abstract class _LazyDataset<I extends _Item, B> {
  readonly root: string;
  readonly size: [number, number];
  readonly ids: readonly string[];
  readonly labels: Int32Array | undefined;
  readonly imagePaths: readonly string[];
  /** `fill` or `cover`, for {@linkcode _LazyDataset.decode}. */
  protected readonly fit: "fill" | "cover";
  #shape: _BatchShape;
  #seed: number;
  #cacheBytes: number;
  #cacheUsed = 0;
  #cache = new Map<number, _Entry>();
  #epochs = 0;

  constructor(init: _LazyInit, shape: _BatchShape) {
    this.root = init.root;
    this.size = init.size;
    this.ids = init.ids;
    this.labels = init.labels;
    this.imagePaths = init.imagePaths;
    this.fit = init.fit;
    this.#shape = shape;
    this.#seed = init.seed;
    this.#cacheBytes = init.cacheBytes;
  }

  /** Decodes item `index` at {@linkcode _LazyDataset.size}. */
  protected abstract decode(index: number): Promise<_Entry>;

  get length(): number {
    return this.ids.length;
  }

  /** Decodes (or takes from the cache) item `index`. */
  async item(index: number): Promise<I> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`Expected an item index in [0, ${this.length}) but found ${index}`);
    }
    let entry = this.#cache.get(index);
    if (!entry) {
      entry = await this.decode(index);
      const bytes = entry.image.byteLength + (entry.mask?.byteLength ?? 0);
      if (this.#cacheUsed + bytes <= this.#cacheBytes && !this.#cache.has(index)) {
        this.#cache.set(index, entry);
        this.#cacheUsed += bytes;
      }
    }
    const label = this.labels ? this.labels[index] : undefined;
    return { id: this.ids[index], image: entry.image, label, mask: entry.mask } as I;
  }

  /**
   * Iterates over the items in batches; the next batch is decoded while one is
   * used. Without `options.seed`, the k-th shuffled pass uses
   * `new Rng(seed).fork("epoch:k")` (the load's seed).
   */
  batches(batchSize: number, options: BatchOptions = {}): AsyncIterable<B> {
    const groups = _batchGroups(
      this.length,
      batchSize,
      options,
      () => new Rng(this.#seed).fork(`epoch:${this.#epochs++}`),
    );
    const concurrency = this.#shape.concurrency;
    return _prefetchBatches(
      groups,
      (i) => this.item(i),
      (items) => this.#toBatch(items),
      concurrency,
    );
  }

  /** All items as one batch (refused when the tensors would exceed max(`cacheBytes`, 64 MiB)). */
  async loadAll(): Promise<B> {
    const [h, w] = this.size, { channels, masks, concurrency } = this.#shape;
    const bytes = this.length * h * w * (channels + (masks ? 1 : 0)) * 4;
    if (bytes > Math.max(this.#cacheBytes, 64 * 2 ** 20)) {
      throw new RangeError(
        `loadAll() would hold ${(bytes / 2 ** 20).toFixed(0)} MiB of tensors, more than ` +
          `cacheBytes (${(this.#cacheBytes / 2 ** 20).toFixed(0)} MiB); use batches() or raise ` +
          "cacheBytes",
      );
    }
    const items = await _decodeItems(this.ids.map((_, i) => i), (i) => this.item(i), concurrency);
    return this.#toBatch(items);
  }

  #toBatch(items: I[]): B {
    const [h, w] = this.size, c = this.#shape.channels, n = items.length, px = h * w;
    const images = new Float32Array(n * px * c);
    items.forEach((it, k) => images.set(it.image, k * px * c));
    const batch: Record<string, unknown> = {
      images: tf.tensor4d(images, [n, h, w, c]),
      ids: items.map((it) => it.id),
    };
    if (this.labels) batch.labels = tf.tensor1d(items.map((it) => it.label!), "int32");
    if (this.#shape.masks) {
      const masks = new Float32Array(n * px);
      items.forEach((it, k) => masks.set(it.mask!, k * px));
      batch.masks = tf.tensor4d(masks, [n, h, w, 1]);
    }
    return batch as B;
  }
}

/** Rejects option keys a loader does not know, naming the ones it does. */
export function _checkOptionKeys(loader: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Unknown option "${key}" for ${loader}; expected one of ${known.join(", ")}`,
      );
    }
  }
}

/** Checks the options every loader shares: split, output size, fit and cache size. */
export function _checkSharedOptions(
  options: { split: string; size: readonly number[]; fit: string; cacheBytes: number },
): void {
  const { split, size, fit, cacheBytes } = options;
  if (!["train", "val", "test", "all"].includes(split)) {
    throw new TypeError(
      `Expected split "train", "val", "test" or "all" but found ${JSON.stringify(split)}`,
    );
  }
  if (
    !Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)
  ) {
    throw new RangeError(
      `Expected size [height, width] of positive integers but found ${JSON.stringify(size)}`,
    );
  }
  if (fit !== "fill" && fit !== "cover") {
    throw new TypeError(`Expected fit "fill" or "cover" but found ${JSON.stringify(fit)}`);
  }
  if (!(Number.isFinite(cacheBytes) && cacheBytes >= 0)) {
    throw new RangeError(`Expected cacheBytes >= 0 but found ${cacheBytes}`);
  }
}

/** Throws unless `root` is a folder, naming the dataset. */
export async function _checkRoot(root: string, dataset: string): Promise<void> {
  const info = await Deno.stat(root).catch(() => undefined);
  if (!info) throw new Error(`${dataset} root folder not found: ${root}`);
  if (!info.isDirectory) {
    throw new Error(`Expected ${dataset} root to be a folder but found a file: ${root}`);
  }
}
