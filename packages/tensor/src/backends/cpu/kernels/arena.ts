/**
 * The tensor arena: float32 (and int32) kernel outputs that live in the WebAssembly module's shared memory, so the module's
 * worker threads can read and write them (ReLU, residual adds, batch norm split across every core) where
 * tensors in ordinary JavaScript memory can only be touched by the calling thread.
 *
 * The arena is a fixed stretch of the memory reserved when the engine is made (pages stay virtual until a tensor
 * touches them). Blocks are handed out first-fit from a list of free stretches, merged with their neighbours when
 * freed. Its views never leave the CPU kernels: the storage pool makes them (storage-pool.ts), a tensor's
 * `values()` and `writeValues` move its values to ordinary memory first (tensor.ts), and a reshape copies
 * instead of sharing. So exactly one tensor holds each view, and the block goes back when that tensor is freed,
 * or, for a tensor never freed, when the garbage collector takes its view (a FinalizationRegistry).
 */

/** Blocks start on 64-byte boundaries (cache lines), as the engine's other regions. */
const ALIGN = 64;

/**
 * First-fit allocation of byte ranges in [base, base + bytes), with freed ranges merged: the tensor arena's blocks, and
 * (over offsets in a region that grows) the weights resident.ts keeps. Lower addresses are always tried first, so
 * blocks pack toward the base and a growing region's top stays as low as it can.
 */
export class RangeAllocator {
  /** Free stretches sorted by address, never adjacent (merged). */
  private readonly free: { at: number; bytes: number }[];
  /** Bytes of each block in use, by address. */
  private readonly used = new Map<number, number>();
  private usedBytes = 0;

  /** `name` starts the error of a bad release (e.g. 'tensor arena'). */
  constructor(
    readonly base: number,
    readonly bytes: number,
    private readonly name = 'tensor arena',
  ) {
    this.free = bytes > 0 ? [{ at: base, bytes }] : [];
  }

  /** The size of the block `allocate(bytes)` hands out: whole 64-byte lines, at least one. */
  static blockSize(bytes: number): number {
    return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  }

  /** The address of a new block of at least `bytes` (blockSize(bytes)), or null when no free stretch is big enough. */
  allocate(bytes: number): number | null {
    const size = RangeAllocator.blockSize(bytes);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      if (f.bytes < size) continue;
      const at = f.at;
      if (f.bytes === size) this.free.splice(i, 1);
      else {
        f.at += size;
        f.bytes -= size;
      }
      this.used.set(at, size);
      this.usedBytes += size;
      return at;
    }
    return null;
  }

  /** Frees the block at `at` (an address `allocate` returned and not freed since; anything else throws). */
  release(at: number): void {
    const size = this.used.get(at);
    if (size === undefined) throw new Error(`${this.name}: no block in use at ${at}`);
    this.used.delete(at);
    this.usedBytes -= size;
    const free = this.free;
    let i = 0;
    while (i < free.length && free[i]!.at < at) i++;
    const prev = free[i - 1],
      next = free[i];
    const joinsPrev = prev !== undefined && prev.at + prev.bytes === at;
    const joinsNext = next !== undefined && at + size === next.at;
    if (joinsPrev && joinsNext) {
      prev.bytes += size + next.bytes;
      free.splice(i, 1);
    } else if (joinsPrev) prev.bytes += size;
    else if (joinsNext) {
      next.at = at;
      next.bytes += size;
    } else free.splice(i, 0, { at, bytes: size });
  }

  /** Bytes in blocks in use. */
  inUse(): number {
    return this.usedBytes;
  }

  /** Free stretches (for tests: one stretch of every byte once all blocks are freed). */
  freeStretches(): readonly { at: number; bytes: number }[] {
    return this.free;
  }
}

/** The arena that made each view not given back yet (an engine made for a test has its own). */
const owners = new WeakMap<ArrayBufferView, TensorArena>();

/** The arena holding `values` (a view it made and has not been given back), or null. */
export function arenaHolding(values: ArrayBufferView): TensorArena | null {
  return owners.get(values) ?? null;
}

/** The views an arena makes: float32 values, and int32 ones (max pooling's indices). */
export type ArenaArray = Float32Array | Int32Array;

/** float32 and int32 views in the module's memory for tensors (see the file comment). */
export interface TensorArena {
  /** A view of `n` values of the kind `make` builds (contents unspecified), or null when the arena has no room. */
  take<A extends ArenaArray>(n: number, make: new (buffer: ArrayBufferLike, at: number, n: number) => A): A | null;
  /** Frees the block of a view `take` made, once; the view must not be used after. */
  give(view: ArenaArray): void;
  /** Bytes of the arena in use. */
  inUse(): number;
  /** Its size in bytes. */
  readonly capacity: number;
}

/** What the arena needs of a FinalizationRegistry (a test passes one that collects when told to). */
export interface CollectionRegistry {
  register(target: object, held: number, token: object): void;
  unregister(token: object): boolean;
}

/** Makes the registry whose `cleanup` gets the held value of each collected target. */
export type MakeCollectionRegistry = (cleanup: (held: number) => void) => CollectionRegistry;

const finalizationRegistry: MakeCollectionRegistry = (cleanup) => new FinalizationRegistry<number>(cleanup);

/**
 * The arena over bytes [base, base + bytes) of a shared memory whose `buffer()` (the current
 * SharedArrayBuffer; growing a shared memory never detaches the old ones) covers that stretch.
 */
export function createTensorArena(
  buffer: () => ArrayBufferLike,
  base: number,
  bytes: number,
  makeRegistry: MakeCollectionRegistry = finalizationRegistry,
): TensorArena {
  const ranges = new RangeAllocator(base, bytes);
  /** Views handed out and not given back, with their block's address. */
  const live = new WeakMap<ArrayBufferView, number>();
  // A tensor dropped without being freed: its view is collected, and only then may its block be reused.
  const collected = makeRegistry((at) => ranges.release(at));
  const arena: TensorArena = {
    take(n, make) {
      const at = ranges.allocate(n * 4);
      if (at === null) return null;
      const view = new make(buffer(), at, n);
      live.set(view, at);
      owners.set(view, arena);
      collected.register(view, at, view);
      return view;
    },
    give(view) {
      const at = live.get(view);
      if (at === undefined) throw new Error('tensor arena: give of a view the arena did not make, or gave back already');
      live.delete(view);
      owners.delete(view);
      collected.unregister(view);
      ranges.release(at);
    },
    inUse: () => ranges.inUse(),
    capacity: bytes,
  };
  return arena;
}
