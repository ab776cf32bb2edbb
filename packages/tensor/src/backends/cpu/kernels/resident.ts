/**
 * Weights kept resident in the WebAssembly module's memory.
 *
 * A batch-1 linear layer or convolution on the WebAssembly engine copies its weight (or, for Winograd, the
 * weight to transform) into the module's memory on every call, on the calling thread only: VGG16's fc6 is
 * 411 MB a pass, and such copies get no faster with threads (worker threads cannot read JavaScript memory).
 * A weight that the same kernel uses a third time (multi-pass methods, benchmarks, serving) is copied in once
 * and kept; later calls read it in place. One map (the CLI's: a forward pass for the class, a recorded one and
 * its backward) copies as before and keeps nothing, so its time and peak memory do not change.
 *
 * What is kept always equals the array it was made from, because a kept array is dropped when:
 * - it is written (tensor.ts's write listener: `assign`, the one way to change a tensor),
 * - it goes back to the storage pool for reuse by another tensor (storage-pool.ts),
 * and an array that `values()` handed out is never kept (whoever holds it might write it).
 * The bytes kept are capped (setWeightCacheBytes, default 1 GiB; 0 keeps nothing). A newcomer over the cap may
 * evict only copies unused since its own previous use: a model's passes use its weights in a cycle, and when the
 * cycle needs more than the cap, plain least-recently-used eviction would evict every copy just before its next
 * use (no call would ever read one; VGG16 with both Winograd sizes' filters kept ran 1.6× slower than with
 * nothing kept). So a cycle too big for the cap keeps what it holds and reads that part in place, while copies
 * that another workload left idle still make room.
 */
import { wasHandedOut } from '../../../tensor';
import type { Staging } from './gemm';
import { RangeAllocator } from './arena';

/** Where the kept copies live: a region of the module's memory that can grow (moving what lies above it). */
export interface ResidentSpace {
  /** Byte address of the region's start. */
  readonly base: number;
  /** Makes the region at least `bytes` long; false when the memory cannot grow that far. */
  grow(bytes: number): boolean;
}

/** One kept copy: `variant` (e.g. the raw weight, or its Winograd transform) of one array. */
interface Entry {
  /** Byte offset in the region, and length. */
  at: number;
  bytes: number;
  dropped: boolean;
  /** The cache's clock at its last use. */
  lastUse: number;
}

/** Uses of one array by one kernel: how many since it last changed, and the cache's clock at the last. */
interface Uses {
  count: number;
  last: number;
}

/** A weight is kept from this use by the same kernel on (earlier ones copy it in as if nothing were kept). */
const KEEP_FROM_USE = 3;
/** The region grows by at least this much at a time, so that the staging region above it moves rarely. */
const GROW_STEP = 16 << 20;
const DEFAULT_CAP = 1 << 30;

let capBytes = DEFAULT_CAP;
/**
 * Every engine's cache (held weakly: an engine dropped by setFloat32Engine may be garbage). All of them hear of
 * every change, so an engine put back in use after another never reads a stale copy.
 */
const caches = new Set<WeakRef<ResidentCache>>();
let reads = true;

/** The caches still alive (the dead are let go on the way). */
function* liveCaches(): Generator<ResidentCache> {
  for (const ref of caches) {
    const cache = ref.deref();
    if (cache === undefined) caches.delete(ref);
    else yield cache;
  }
}

/**
 * @internal Whether kernels use kept copies (and keep new ones); off, every call copies its weight as on first
 * use, but what is kept stays. For A/B benchmarks in one process. Returns the previous setting.
 */
export function setResidentReads(on: boolean): boolean {
  const prev = reads;
  reads = on;
  return prev;
}

/** Offsets in a region are below this (the module's memory is at most 4 GiB). */
const MAX_REGION = 2 ** 32;

/**
 * The kept copies of one engine's memory: blocks of the region handed out first fit (arena.ts's RangeAllocator over
 * region offsets, copies on 64-byte boundaries; the region grows to cover the highest block in use), a
 * least-recently-used order for eviction, and per array the uses seen so far (kept from the third).
 */
export class ResidentCache {
  private regionBytes = 0;
  private readonly blocks = new RangeAllocator(0, MAX_REGION, 'weight cache');
  /** Kept copies, least recently used first (a Set keeps insertion order; a use re-inserts). */
  private readonly order = new Set<Entry>();
  private readonly kept = new WeakMap<object, Map<string, Entry>>();
  private readonly seen = new WeakMap<object, Map<string, Uses>>();
  /** Counts lookups: the order of uses. */
  private clock = 0;

  constructor(private readonly space: ResidentSpace) {
    caches.add(new WeakRef(this));
  }

  /** Bytes of kept copies now. */
  bytes(): number {
    return this.blocks.inUse();
  }

  /**
   * The byte address of `variant` of `key` (`floats` values), kept in the region; made by `fill(address)`
   * when this is the third call from `use` (a kernel and direction) since the array last changed. Null
   * when it is not kept (first use, handed out, over the cap): the caller copies it as it would without.
   */
  lookup(key: Float32Array, variant: string, use: string, floats: number, fill: (address: number) => void): number | null {
    if (!reads) return null;
    const now = ++this.clock;
    const byVariant = this.kept.get(key);
    const hit = byVariant?.get(variant);
    if (hit !== undefined && !hit.dropped) {
      this.order.delete(hit);
      this.order.add(hit);
      hit.lastUse = now;
      return this.space.base + hit.at;
    }
    if (capBytes === 0 || wasHandedOut(key)) return null;
    let uses = this.seen.get(key);
    if (uses === undefined) this.seen.set(key, (uses = new Map()));
    const u = uses.get(use) ?? { count: 0, last: 0 };
    const previous = u.last;
    u.count++;
    u.last = now;
    uses.set(use, u);
    if (u.count < KEEP_FROM_USE) return null;
    const bytes = RangeAllocator.blockSize(floats * 4);
    const at = this.allocate(bytes, previous);
    if (at === null) return null;
    const entry: Entry = { at, bytes, dropped: false, lastUse: now };
    fill(this.space.base + at);
    this.order.add(entry);
    if (byVariant === undefined) this.kept.set(key, new Map([[variant, entry]]));
    else byVariant.set(variant, entry);
    return this.space.base + at;
  }

  /** Drops every copy made from `key` and forgets its uses (the array changed or is to be reused). */
  forget(key: object): void {
    this.seen.delete(key);
    const byVariant = this.kept.get(key);
    if (byVariant === undefined) return;
    for (const e of byVariant.values()) this.drop(e);
    this.kept.delete(key);
  }

  /** Drops copies, least recently used first, until at most `bytes` are kept. */
  trim(bytes: number): void {
    for (const e of this.order) {
      if (this.bytes() <= bytes) break;
      this.drop(e);
    }
  }

  private drop(e: Entry): void {
    if (e.dropped) return;
    e.dropped = true;
    this.order.delete(e);
    this.blocks.release(e.at);
  }

  /**
   * A block of `bytes` (a whole number of lines): the lowest that fits, growing the region to cover it; over the cap
   * it evicts, least recently used first, copies last used before `idleSince` only, and gives up (evicting nothing)
   * when those would not make room.
   */
  private allocate(bytes: number, idleSince: number): number | null {
    if (bytes > capBytes) return null;
    if (this.bytes() + bytes > capBytes) {
      let idle = 0;
      for (const e of this.order) {
        if (e.lastUse >= idleSince) break; // the order is by last use
        idle += e.bytes;
      }
      if (this.bytes() - idle + bytes > capBytes) return null;
      while (this.bytes() + bytes > capBytes) this.evictOldest();
    }
    for (;;) {
      const at = this.blocks.allocate(bytes);
      // Within the region as it is, or growing it no further than the cap.
      if (at !== null && (at + bytes <= this.regionBytes || (at + bytes <= capBytes && this.ensure(at + bytes)))) return at;
      if (at !== null) this.blocks.release(at);
      // Fragmented past the cap, or the memory cannot grow: evict an idle copy and retry, or give up when none is left.
      const oldest = this.order.values().next().value;
      if (oldest === undefined || oldest.lastUse >= idleSince) return null;
      this.drop(oldest);
    }
  }

  private evictOldest(): void {
    const oldest = this.order.values().next().value;
    if (oldest !== undefined) this.drop(oldest);
  }

  private ensure(end: number): boolean {
    if (end <= this.regionBytes) return true;
    const want = Math.min(Math.max(end, this.regionBytes + GROW_STEP), Math.max(end, capBytes));
    if (!this.space.grow(want)) return false;
    this.regionBytes = want;
    return true;
  }
}

/**
 * The byte address of `a` itself (its values as they are: the variant 'raw', shared by every kernel) kept
 * resident in the engine's memory from its third use by `use`, or null: the caller stages it per call.
 */
export function keptCopy(st: Staging, a: Float32Array, use: string): number | null {
  return st.resident(a, 'raw', use, a.length, (address) => st.memory().set(a, address / 4));
}

/** Drops what is kept of `values` (called when its tensor writes it or the storage pool takes it back). */
export function forgetResident(values: object): void {
  for (const cache of liveCaches()) cache.forget(values);
}

/**
 * Sets how many bytes of weights the CPU backend may keep resident in its WebAssembly memory (default 1 GiB;
 * 0 keeps none, every call copies its weight as on first use); drops the least recently used copies over the
 * new cap. The memory itself never shrinks (WebAssembly memories cannot), but freed space is reused.
 */
export function setWeightCacheBytes(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`setWeightCacheBytes: expected a byte count >= 0, got ${bytes}`);
  capBytes = bytes;
  for (const cache of liveCaches()) cache.trim(bytes);
}

/** Bytes of weights kept resident now (what setWeightCacheBytes caps), in every engine's memory. */
export function weightCacheBytes(): number {
  let sum = 0;
  for (const cache of liveCaches()) sum += cache.bytes();
  return sum;
}
