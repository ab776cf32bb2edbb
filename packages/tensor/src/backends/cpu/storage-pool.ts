/**
 * Output arrays of the CPU kernels, reused. A forward and backward pass allocates hundreds of
 * megabytes of activations and gradients that die together when its scope or tape is freed; fresh
 * arrays cost zero-filled pages from the system and garbage collections (a fifth of ResNet50's calling
 * thread time in a profile), so the arrays of freed tensors wait here, by dtype and length, for the
 * next kernel output of the same size. Only arrays nothing outside the kernels has seen come back
 * (tensor.ts: `values()` or a shared reshape takes an array out for good), so no holder ever sees one
 * change. What waits here is capped (`setStoragePoolBytes`); beyond it, freed arrays go to the
 * garbage collector as before.
 */
import type { DType, DTypeArray, TypedArray } from '../../dtype';
import { allocate } from '../../dtype';
import { markRecyclable, setStorageRecycler, setStorageWriteListener } from '../../tensor';
import { forgetResident } from './kernels/resident';

/** Arrays shorter than this are left to the garbage collector (cheap to allocate; V8 keeps small ones on its heap). */
const MIN_LENGTH = 4096;
/** Default cap on the bytes of idle arrays kept: a little more than a batch-1 ResNet50 or VGG16 pass frees. */
const DEFAULT_CAP = 512 * 1024 * 1024;

let capBytes = DEFAULT_CAP;
let idleBytes = 0;
/** Idle arrays by dtype, then by length. */
const idle = new Map<DType, Map<number, TypedArray[]>>();
/** Which dtype each array class stores (what `allocate` makes for it). */
const DTYPE_OF = new Map<unknown, DType>([
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [Uint8Array, 'bool'],
]);

/** Takes a freed array back (called by tensor.ts when a recyclable array's tensor is freed). */
function give(values: TypedArray): void {
  forgetResident(values); // its next tensor's values will differ
  const dtype = DTYPE_OF.get(values.constructor);
  if (dtype === undefined || values.length < MIN_LENGTH || idleBytes + values.byteLength > capBytes) return;
  let bySize = idle.get(dtype);
  if (bySize === undefined) idle.set(dtype, (bySize = new Map()));
  const list = bySize.get(values.length);
  if (list === undefined) bySize.set(values.length, [values]);
  else list.push(values);
  idleBytes += values.byteLength;
}
setStorageRecycler(give);
setStorageWriteListener(forgetResident);

/**
 * A kernel output array of `size` elements, marked reusable once its tensor is freed: zero-filled, or
 * with unspecified contents when `zero` is false (for kernels that write every element).
 */
export function takeArray<D extends DType>(dtype: D, size: number, zero: boolean): DTypeArray[D] {
  const list = size >= MIN_LENGTH ? idle.get(dtype)?.get(size) : undefined;
  const reused = list?.pop();
  let v: TypedArray;
  if (reused === undefined) v = allocate(dtype, size);
  else {
    idleBytes -= reused.byteLength;
    v = reused;
    if (zero) v.fill(0);
  }
  if (size >= MIN_LENGTH) markRecyclable(v);
  return v as DTypeArray[D];
}

/**
 * Sets how many bytes of freed kernel outputs the CPU backend keeps for reuse (default 512 MiB; 0 keeps
 * none, every output is a fresh array); drops what is over the new cap.
 */
export function setStoragePoolBytes(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`setStoragePoolBytes: expected a byte count >= 0, got ${bytes}`);
  capBytes = bytes;
  for (const bySize of idle.values()) {
    for (const [size, list] of bySize) {
      while (idleBytes > capBytes && list.length > 0) idleBytes -= list.pop()!.byteLength;
      if (list.length === 0) bySize.delete(size);
    }
  }
}

/** Bytes of freed kernel outputs the CPU backend holds for reuse now. */
export function storagePoolBytes(): number {
  return idleBytes;
}
