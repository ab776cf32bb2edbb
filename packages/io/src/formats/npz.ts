import type { NdArray } from '../array';
import { fileAccess } from '../platform/files';
import type { ReadLimits } from '../read-policy';
import { ReadBudget } from './budget';
import { decodeNpy, encodeNpy } from './npy';
import { loadSource, type ReadOptions, type Source } from './source';
import { encodeZip, readZip } from './zip';
import { shown, setOwn } from './record';

/** NumPy's .npz format: a zip archive of `<name>.npy` entries, stored (np.savez) or deflated (np.savez_compressed). */

/** Options of writeNpz / encodeNpz. */
export interface NpzWriteOptions {
  /** Deflate every entry, like np.savez_compressed (default: store, like np.savez). */
  compress?: boolean;
}

/**
 * Parses .npz bytes into arrays keyed by name (the entry name without ".npy"), in archive order;
 * arrays of stored entries are views of `bytes` where aligned (see decodeNpy).
 */
export function decodeNpz(bytes: Uint8Array, file = '<bytes>', limits?: Partial<ReadLimits> | ReadBudget): Record<string, NdArray> {
  const budget = limits instanceof ReadBudget ? limits : new ReadBudget(file, limits);
  const zip = readZip(bytes, file, budget);
  const out: Record<string, NdArray> = {};
  for (const entry of zip.entries) {
    if (!entry.name.endsWith('.npy')) {
      throw new Error(`${file}: entry ${shown(entry.name)} of the .npz is not a .npy file`);
    }
    const key = entry.name.slice(0, -4);
    setOwn(out, key, decodeNpy(zip.read(entry), `${file}:${shown(entry.name)}`, budget));
  }
  return out;
}

/** Returns the .npz bytes of named arrays (each stored as `<name>.npy`). */
export function encodeNpz(arrays: Record<string, NdArray>, options: NpzWriteOptions = {}, where = 'encodeNpz'): Uint8Array {
  return encodeZip(
    Object.entries(arrays).map(([name, arr]) => ({
      name: `${name}.npy`,
      data: encodeNpy(arr, `${where}: array ${name}`),
      compress: options.compress === true,
    })),
  );
}

/** Reads a .npz file (or its bytes) into arrays keyed by name. */
export function readNpz(src: Source, options: ReadOptions = {}): Record<string, NdArray> {
  const { bytes, file, budget } = loadSource(src, options);
  return decodeNpz(bytes, file, budget);
}

/** Writes named arrays to a .npz file, atomically. */
export function writeNpz(file: string, arrays: Record<string, NdArray>, options: NpzWriteOptions = {}): void {
  fileAccess(`writing ${file}`).writeFileAtomic(file, encodeNpz(arrays, options, file));
}
