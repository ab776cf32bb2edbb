/**
 * Output arrays of the CPU kernels, reused. A forward and backward pass allocates hundreds of
 * megabytes of activations and gradients that die together when its scope or tape is freed; fresh
 * arrays cost zero-filled pages from the system and garbage collections (a fifth of ResNet50's calling
 * thread time in a profile), so the arrays of freed tensors wait here, by dtype and length, for the
 * next kernel output of the same size. Only arrays nothing outside the kernels has seen come back
 * (tensor.ts: `values()` or a shared reshape takes an array out for good), so no holder ever sees one
 * change. What waits here is capped (`setStoragePoolBytes`); beyond it, freed arrays go to the
 * garbage collector as before.
 *
 * Float32 and int32 outputs go to the tensor arena first where the WebAssembly engine has one (kernels/arena.ts: in the
 * module's shared memory, where its worker threads can reach them); its blocks are given back there, not kept
 * here, and a tensor's values leave it for ordinary memory before anything outside the kernels sees them.
 */
import type { DType, DTypeArray, TypedArray } from '../../dtype';
import { allocate } from '../../dtype';
import { markRecyclable, setStorageEscape, setStorageRecycler, setStorageWriteListener } from '../../tensor';
import { forgetResident } from './kernels/resident';
import { currentFloat32Engine, madeTensorArena } from './kernels/gemm';
import { arenaHolding, type ArenaArray } from './kernels/arena';

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

let arenaOn = true;

/**
 * @internal Whether float32 and int32 kernel outputs go to the tensor arena (where the engine has one); for A/B benchmarks
 * and tests. Returns the previous setting. Outputs already there stay until freed.
 */
export function setTensorArena(on: boolean): boolean {
  const prev = arenaOn;
  arenaOn = on;
  return prev;
}

/** Whether `values` lives in a tensor arena (so it must not leave the kernels). */
export function inTensorArena(values: ArrayBufferView): boolean {
  return arenaHolding(values) !== null;
}

/** Whether `values` lives in the arena of the engine kernels run on now (its jobs can then reach it where it lies). */
export function inEngineArena(values: ArrayBufferView): boolean {
  const arena = arenaHolding(values);
  return arena !== null && arena === currentFloat32Engine()?.arena;
}

/** Bytes of the tensor arena in use now (0 without one). */
export function tensorArenaBytes(): number {
  return madeTensorArena()?.inUse() ?? 0;
}

/** Takes a freed array back (called by tensor.ts when a recyclable array's tensor is freed). */
function give(values: TypedArray): void {
  forgetResident(values); // its next tensor's values will differ
  const arena = arenaHolding(values);
  if (arena !== null) {
    arena.give(values as ArenaArray);
    return;
  }
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
// An arena view never leaves the kernels: whoever gets a tensor's values gets them in ordinary memory.
setStorageEscape((values) => (inTensorArena(values) ? values.slice() : null));

/**
 * A kernel output array of `size` elements, marked reusable once its tensor is freed: zero-filled, or
 * with unspecified contents when `zero` is false (for kernels that write every element).
 */
export function takeArray<D extends DType>(dtype: D, size: number, zero: boolean): DTypeArray[D] {
  if ((dtype === 'float32' || dtype === 'int32') && size >= MIN_LENGTH && arenaOn) {
    const arena = currentFloat32Engine()?.arena;
    const inArena = dtype === 'float32' ? arena?.take(size, Float32Array) : arena?.take(size, Int32Array);
    if (inArena != null) {
      if (zero) inArena.fill(0);
      markRecyclable(inArena);
      return inArena as DTypeArray[D];
    }
  }
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
