/**
 * Internal: a dataset descriptor's `synthetic` part ({@linkcode SyntheticCopy})
 * from its generator's version and marker, the embedded copy's settings, and
 * a loader of the generator module, which is imported only when a copy is
 * wanted (so reading a descriptor never loads a generator).
 *
 * @module
 */
import type { SyntheticCopy } from "./dataset_descriptor.ts";

/**
 * The `synthetic` of a descriptor: `copy` as it is, and `root(settings)`,
 * which imports the generator (`generator()`) and calls it with the settings.
 *
 * @param copy The generator's version and completion marker, and the embedded copy's settings.
 * @param generator Imports the generator module; resolves to a function that
 *   generates (or reuses) a copy for its options and returns the folder the loader reads.
 * @returns The descriptor's `synthetic`.
 */
export function _syntheticCopy<O>(
  copy: Omit<SyntheticCopy, "root">,
  generator: () => Promise<(options: O) => Promise<string>>,
): SyntheticCopy {
  return { ...copy, root: async (settings) => await (await generator())(settings as O) };
}
