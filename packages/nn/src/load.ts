import { readNpz, readPth, readSafetensors, toFloat32 } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import type { ArrayLikeEntry, Module } from './module';

export type WeightFormat = 'pth' | 'safetensors' | 'npz';

export interface LoadWeightsOptions {
  /** Refuse missing or unexpected keys (default true); shape mismatches are always refused. */
  strict?: boolean;
  /** The file's format; by default taken from the extension (.pth/.pt/.bin, .safetensors, .npz) or the bytes. */
  format?: WeightFormat;
  /**
   * The file's state dict as `readStateDict(file)` returned it, when the caller read it already (to learn what the
   * file implies, such as its class count): the file is not read again, and is named in messages. Its arrays become
   * the model's when `file` is a path, as the ones read here would.
   */
  read?: Record<string, NdArray>;
}

/** What a non-strict load left out, as torch's load_state_dict reports it. */
export interface LoadWeightsResult {
  /** Model keys the file did not have (they keep their current values). */
  missingKeys: string[];
  /** File keys the model does not have (ignored). */
  unexpectedKeys: string[];
}

function formatOf(file: string | Uint8Array, bytes?: Uint8Array): WeightFormat | null {
  if (typeof file === 'string') {
    const lower = file.toLowerCase();
    if (/\.(pth|pt|bin|ckpt)$/.test(lower)) return 'pth';
    if (lower.endsWith('.safetensors')) return 'safetensors';
    if (lower.endsWith('.npz')) return 'npz';
  }
  // safetensors: an 8-byte header length, then the JSON header.
  if (bytes && bytes.length > 8 && bytes[8] === 0x7b) return 'safetensors';
  return null;
}

/** Reads a state dict (name → NdArray) from a .pth, .safetensors or .npz file or its bytes. */
export function readStateDict(file: string | Uint8Array, format?: WeightFormat): Record<string, NdArray> {
  const name = typeof file === 'string' ? file : '<bytes>';
  const fmt = format ?? formatOf(file, typeof file === 'string' ? undefined : file);
  switch (fmt) {
    case 'pth':
      return readPth(file);
    case 'safetensors':
      return readSafetensors(file).tensors;
    case 'npz':
      return readNpz(file);
    case null: {
      // Both .pth (zip) and .npz are zip files: try the PyTorch reader, then NumPy's; if neither takes it, say why both did not.
      try {
        return readPth(file);
      } catch (pthError) {
        try {
          return readNpz(file);
        } catch (npzError) {
          throw new Error(
            `loadWeights: cannot tell the format of ${name} (as .pth: ${reason(pthError, name)}; as .npz: ${reason(npzError, name)}); ` +
              'name it .pth, .safetensors or .npz, or pass { format }',
          );
        }
      }
    }
  }
}

/** A reader's message without the file name it starts with (the caller's message names the file once). */
function reason(err: unknown, name: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith(`${name}: `) ? msg.slice(name.length + 2) : msg;
}

/** An NdArray as loadStateDict takes it: float16/bfloat16 bits decoded, other dtypes as they are. */
function entryOf(arr: NdArray): ArrayLikeEntry {
  return { shape: arr.shape, data: arr.dtype === 'float16' || arr.dtype === 'bfloat16' ? toFloat32(arr) : arr.data };
}

const LIST_MAX = 20;
const KEY_MAX = 200;
/** A key as a message shows it: a file's key may hold newlines or megabytes, so control characters are escaped and long keys cut. */
function shownKey(key: string): string {
  const flat = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(key) ? JSON.stringify(key).slice(1, -1) : key;
  return flat.length > KEY_MAX ? `${flat.slice(0, KEY_MAX)}… (${flat.length} characters)` : flat;
}
function list(keys: readonly string[]): string {
  const shown = keys.slice(0, LIST_MAX).map(shownKey).join(', ');
  return keys.length > LIST_MAX ? `${shown}, … (${keys.length} in all)` : shown;
}

/**
 * Loads weights from a .pth (torch.save of a state dict or a checkpoint holding one), .safetensors or
 * .npz file into `model`, in place, by PyTorch parameter name. A `module.` prefix on every key (from
 * DataParallel) is removed. Fails with one error naming the file and listing missing keys, unexpected
 * keys (strict only) and shape mismatches; returns the keys left out otherwise.
 */
export function loadWeights(model: Module, file: string | Uint8Array, options: LoadWeightsOptions = {}): LoadWeightsResult {
  const name = typeof file === 'string' ? file : '<bytes>';
  const strict = options.strict ?? true;
  let raw: Record<string, NdArray>;
  try {
    raw = options.read ?? readStateDict(file, options.format);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.includes(name) ? msg : `loadWeights: ${name}: ${msg}`);
  }
  // Maps, not objects: a file's key named like an Object.prototype member (toString, __proto__) stays a plain key.
  const own = new Map(Object.entries(model.stateDict()));
  const keys = Object.keys(raw);
  const prefixed = keys.length > 0 && keys.every((k) => k.startsWith('module.')) && ![...own.keys()].some((k) => k.startsWith('module.'));
  const dict = new Map<string, ArrayLikeEntry>();
  for (const k of keys) {
    const key = model.checkpointKey(prefixed ? k.slice('module.'.length) : k);
    if (!model.ignoresCheckpointKey(key)) dict.set(key, entryOf(raw[k]!));
  }
  // A BatchNorm's num_batches_tracked (added in PyTorch 0.4.1) absent from an older file stays 0, as
  // torch's BatchNorm fills it in on load, so it does not count as missing.
  const missingKeys = [...own.keys()].filter((k) => !dict.has(k) && !k.endsWith('num_batches_tracked'));
  const unexpectedKeys = [...dict.keys()].filter((k) => !own.has(k));
  const mismatched = [...own]
    .filter(([k, t]) => dict.has(k) && dict.get(k)!.shape.join() !== t.shape.join())
    .map(([k, t]) => `${k}: file [${dict.get(k)!.shape.join(', ')}] vs model [${t.shape.join(', ')}]`);
  const problems: string[] = [];
  if (strict && missingKeys.length) problems.push(`missing keys (${missingKeys.length}): ${list(missingKeys)}`);
  if (strict && unexpectedKeys.length) problems.push(`unexpected keys (${unexpectedKeys.length}): ${list(unexpectedKeys)}`);
  if (mismatched.length) problems.push(`shape mismatches (${mismatched.length}): ${list(mismatched)}`);
  if (problems.length) {
    const hint =
      strict && (missingKeys.length || unexpectedKeys.length) ? '\n  (pass { strict: false } to load the matching keys only)' : '';
    throw new Error(`loadWeights: ${name} does not fit ${model.constructor.name}:\n  ${problems.join('\n  ')}${hint}`);
  }
  const entries: Record<string, ArrayLikeEntry> = {};
  for (const [k, v] of dict) if (own.has(k)) entries[k] = v; // only the model's own names, never __proto__
  // Arrays read from a path are ours to hand over (views of the file's bytes where aligned): the model adopts them.
  model.loadStateDict(entries, { strict: false, adopt: typeof file === 'string' });
  return { missingKeys, unexpectedKeys };
}
