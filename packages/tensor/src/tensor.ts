import type { DType, ReadonlyTypedArray, TypedArray } from './dtype';
import { engine } from './engine';
import { fmt } from './errors';
import type { Shape } from './shape';
import { sizeOf, stridesOf } from './shape';

/** Nested arrays of numbers, as `toArray()` returns them. */
export type NestedArray = number | NestedArray[];

let nextId = 1;

/**
 * Arrays a backend made for its kernels' outputs that nothing outside the kernels has seen: when their
 * tensor is freed they go back to that backend for reuse (no allocation, no zero-filled fresh pages,
 * less garbage collection). An array leaves the set for good once `values()` hands it out or a second
 * tensor shares it, so an array anybody may still hold is never reused.
 */
const recyclable = new WeakSet<TypedArray>();
let recycler: ((values: TypedArray) => void) | null = null;

/** @internal a backend marks an output array it just made as reusable once its tensor is freed. */
export function markRecyclable(values: TypedArray): void {
  recyclable.add(values);
}

/** @internal a backend marks an array that a second tensor shares (a reshape) as never reusable. */
export function markShared(values: TypedArray): void {
  recyclable.delete(values);
  sharedArrays.add(values);
}

/** @internal where freed recyclable arrays go (one backend's pool); null: nowhere, the garbage collector takes them. */
export function setStorageRecycler(fn: ((values: TypedArray) => void) | null): void {
  recycler = fn;
}

/**
 * Arrays `values()` handed out: their holders may write them (the type says read-only, JavaScript does not
 * enforce it), so a backend never keeps a copy of one that it trusts to stay equal (backends/cpu/kernels/resident.ts).
 */
const handedOut = new WeakSet<ReadonlyTypedArray>();
let writeListener: ((values: TypedArray) => void) | null = null;

/** @internal whether `values()` has handed this array out. */
export function wasHandedOut(values: ReadonlyTypedArray): boolean {
  return handedOut.has(values);
}

/**
 * Where a backend keeps arrays that must not leave its kernels (the CPU backend's tensor arena, in shared memory):
 * returns an ordinary copy of such an array, which then replaces it, or null for any other array.
 */
let escape: ((values: TypedArray) => TypedArray | null) | null = null;

/** @internal installs the backend's escape (see `escape`). */
export function setStorageEscape(fn: ((values: TypedArray) => TypedArray | null) | null): void {
  escape = fn;
}

/** Arrays a second tensor shares (a reshape): replacing one tensor's array would leave the other behind. */
const sharedArrays = new WeakSet<TypedArray>();

/** @internal told of every array `writeValues` (so `assign`) has just changed; one listener (a backend's cache), null: none. */
export function setStorageWriteListener(fn: ((values: TypedArray) => void) | null): void {
  writeListener = fn;
}

/**
 * Values that live on a device (a GPU texture, a WebAssembly heap): the backend that made them
 * reads them back on demand and frees them when the tensor is freed.
 */
export interface DeviceStorage {
  readonly backend: string;
  /** Downloads the values, row-major. */
  read(): TypedArray;
  /** Downloads the values without blocking, where the device allows it. */
  readAsync?(): Promise<TypedArray>;
  /** Frees the device memory. */
  dispose(): void;
}

/**
 * An n-dimensional array, row-major, immutable once made except through `assign` (parameters,
 * optimiser state). Ops are functions (`add(a, b)`), so that the
 * tape and the backends see every one of them; a tensor only holds its values and knows how to free them.
 */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  /** @internal the CPU copy of the values; null until a device tensor is first read. */
  private storage: TypedArray | null;
  /** @internal the device copy, for tensors made by a device backend. */
  private device: DeviceStorage | null = null;
  private freed = false;
  /** @internal how many live tapes hold this tensor for a backward pass. */
  tapeHolds = 0;
  /** @internal released by its scope or by `dispose()` while a tape still held it: freed with the tape. */
  orphaned = false;

  /** @internal use the creation functions (`tensor`, `zeros`, …) instead. */
  constructor(values: TypedArray | DeviceStorage, shape: Shape, dtype: DType) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    if (ArrayBuffer.isView(values)) {
      if (values.length !== this.size) {
        throw new Error(`Tensor: ${values.length} values cannot fill shape ${fmt(shape)} (${this.size} elements)`);
      }
      this.storage = values;
    } else {
      this.storage = null;
      this.device = values;
    }
    engine.track(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Row-major strides of this tensor's shape. */
  get strides(): number[] {
    return stridesOf(this.shape);
  }

  get isDisposed(): boolean {
    return this.freed;
  }

  /**
   * The backing array, shared and read-only (kernels read it; `assign` is the one way to change a
   * tensor); a device tensor is downloaded once.
   */
  values(): ReadonlyTypedArray {
    const v = this.ownValues();
    recyclable.delete(this.storage!); // handed out: whoever holds it may read it after this tensor is freed
    handedOut.add(v);
    return v;
  }

  /** @internal the backing array for a kernel that reads it during its call and keeps no reference. */
  kernelValues(): ReadonlyTypedArray {
    if (this.freed) throw new Error(`Tensor #${this.id} ${fmt(this.shape)} was disposed and cannot be read`);
    if (this.storage === null) this.storage = this.device!.read();
    return this.storage;
  }

  /** The backing array, first moved to ordinary memory if the backend keeps it where it must not leave (`escape`). */
  private ownValues(): TypedArray {
    const s = this.kernelValues() as TypedArray;
    const copy = escape?.(s) ?? null;
    if (copy === null) return s;
    this.storage = copy;
    if (recyclable.delete(s)) recycler?.(s);
    return copy;
  }

  /**
   * @internal lets `write` change the values in place (use `assign`); a device copy, now stale, is
   * dropped, so the next kernel uploads the new values.
   */
  writeValues(write: (values: TypedArray) => void): void {
    this.ownValues();
    recyclable.delete(this.storage!); // changed in place: never reused behind its holders' backs
    write(this.storage!);
    writeListener?.(this.storage!);
    if (this.device) {
      this.device.dispose();
      this.device = null;
    }
  }

  /**
   * @internal makes `values` (of this tensor's size and array type) its values instead of writing them into
   * its array, when nobody else can see that array (no reshape shares it, `values()` never handed it out, no
   * device copy): loading weights then adopts the file's bytes instead of copying them. Returns false, having
   * changed nothing, when it cannot (use `assign`). The caller hands `values` over: nothing else may write it.
   */
  adoptValues(values: TypedArray): boolean {
    const s = this.storage;
    if (this.freed || s === null || this.device !== null || values.length !== this.size || values.constructor !== s.constructor)
      return false;
    if (sharedArrays.has(s) || handedOut.has(s) || recyclable.has(s)) return false;
    writeListener?.(s); // what a backend kept of the old array no longer describes this tensor
    this.storage = values;
    return true;
  }

  /** @internal the device copy, or null for a tensor that lives on the CPU only. */
  deviceStorage(): DeviceStorage | null {
    return this.freed ? null : this.device;
  }

  /** A copy of the values, row-major. */
  dataSync(): TypedArray {
    return this.kernelValues().slice();
  }

  /** A copy of the values, row-major (async for device backends; immediate on the CPU). */
  async data(): Promise<TypedArray> {
    if (this.storage === null && this.device?.readAsync && !this.freed) this.storage = await this.device.readAsync();
    return this.dataSync();
  }

  /** The values as nested arrays of numbers, one level per dimension. */
  toArray(): NestedArray {
    const v = this.kernelValues();
    const build = (dim: number, offset: number, stride: number[]): NestedArray => {
      if (dim === this.rank) return Number(v[offset]);
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, offset + i * stride[dim]!, stride));
      return out;
    };
    return build(0, 0, this.strides);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: expected a tensor with one element, got shape ${fmt(this.shape)}`);
    return Number(this.kernelValues()[0]);
  }

  /** Frees the values now, or when the last tape holding this tensor is disposed. */
  dispose(): void {
    engine.release(this);
  }

  /** @internal frees the storage; called by the engine only. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    const s = this.storage;
    this.storage = null;
    if (s !== null && recyclable.delete(s)) recycler?.(s);
    this.device?.dispose();
    this.device = null;
    engine.untrack(this);
  }

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.dtype})`;
  }
}
