import { readSafetensors, writeSafetensors, type NdArray } from '@gradlens/io';
import { toNdArray } from '../convert';
import type { Module } from '../module';
import type { Optimizer, OptimizerState } from './optim';

/**
 * Checkpoints are safetensors files: the model's state dict under its own names (so the file loads
 * with `loadStateDict`, or in Python with `safetensors.torch.load_file`), string metadata (epoch,
 * accuracy, …), and optionally the optimiser's buffers under `__optimizer__.<param>.<buffer>` with
 * its scalars as JSON in the `__optimizer__` metadata entry. Written atomically.
 */

const OPT_PREFIX = '__optimizer__.';
const OPT_META = '__optimizer__';

export interface SaveCheckpointOptions {
  /** String metadata; numbers are written with String(). */
  metadata?: Record<string, string | number>;
  /** Also save this optimiser's state, to resume training. */
  optimizer?: Optimizer;
}

/** Writes the model's parameters and buffers (and optionally the optimiser's state) to a safetensors file, atomically. */
export function saveCheckpoint(file: string, model: Module, options: SaveCheckpointOptions = {}): void {
  const tensors: Record<string, NdArray> = {};
  for (const [name, t] of Object.entries(model.stateDict())) tensors[name] = toNdArray(t, { copy: false });
  const metadata: Record<string, string> = { format: 'gradlens-checkpoint' };
  for (const [k, v] of Object.entries(options.metadata ?? {})) metadata[k] = String(v);
  if (options.optimizer) {
    const state = options.optimizer.stateDict();
    for (const [key, { shape, data }] of Object.entries(state.buffers)) {
      tensors[OPT_PREFIX + key] = data instanceof Float32Array ? { dtype: 'float32', shape, data } : { dtype: 'float64', shape, data };
    }
    const { buffers: _unused, ...scalars } = state;
    metadata[OPT_META] = JSON.stringify(scalars);
  }
  writeSafetensors(file, tensors, metadata);
}

export interface LoadCheckpointOptions {
  /** Restore this optimiser's state too (the checkpoint must hold one). */
  optimizer?: Optimizer;
  /** Refuse missing or unexpected model keys (default true). */
  strict?: boolean;
  /** The name errors use for a checkpoint given as bytes (default "<checkpoint bytes>"). */
  name?: string;
}

/**
 * Loads a checkpoint (a safetensors file, or its bytes) into `model` (in place) and, if given,
 * `optimizer`; returns the file's metadata.
 */
export function loadCheckpoint(source: string | Uint8Array, model: Module, options: LoadCheckpointOptions = {}): Record<string, string> {
  const file = typeof source === 'string' ? source : (options.name ?? '<checkpoint bytes>');
  const { tensors, metadata } = readSafetensors(source, { name: file });
  const modelDict: Record<string, NdArray> = {};
  const buffers: OptimizerState['buffers'] = {};
  for (const [name, arr] of Object.entries(tensors)) {
    // defineProperty: a key named __proto__ from the file stays a key (and a strict load refuses it)
    if (!name.startsWith(OPT_PREFIX))
      Object.defineProperty(modelDict, name, { value: arr, enumerable: true, writable: true, configurable: true });
    else if (arr.dtype === 'float32' || arr.dtype === 'float64') {
      // the optimiser keeps and updates its buffers: a copy, never a view of the file's bytes
      const value = { shape: arr.shape, data: (arr.data as Float32Array | Float64Array).slice() };
      Object.defineProperty(buffers, name.slice(OPT_PREFIX.length), { value, enumerable: true, writable: true, configurable: true });
    } else throw new Error(`${file}: optimiser buffer ${name} is ${arr.dtype}, expected float32 or float64`);
  }
  try {
    model.loadStateDict(modelDict, { strict: options.strict ?? true });
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (options.optimizer) {
    const scalars = metadata[OPT_META];
    if (scalars === undefined)
      throw new Error(`${file}: the checkpoint holds no optimiser state (save it with saveCheckpoint(file, model, { optimizer }))`);
    const parsed = JSON.parse(scalars) as Omit<OptimizerState, 'buffers'>;
    options.optimizer.loadStateDict({ ...parsed, buffers });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (k !== OPT_META) out[k] = v;
  return out;
}
