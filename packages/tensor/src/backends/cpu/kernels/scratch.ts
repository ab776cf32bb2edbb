/**
 * Module-level scratch buffers that grow and are reused across kernel calls, so hot paths never
 * allocate. Each slot is owned by one kernel phase; a kernel never holds a slot across a call into
 * another kernel that uses the same slot. (A worker thread has its own module instance, so its own pool.)
 */
const pool: Float64Array[] = [];

/** Scratch slots in use by the kernels of this directory. */
export const SLOT_PACK_A = 0;
export const SLOT_PACK_B = 1;
export const SLOT_TILE = 2;
export const SLOT_PLANE = 3;

/** Returns a Float64Array of at least `size` elements for `slot`; its contents are unspecified. */
export function scratch(slot: number, size: number): Float64Array {
  const cur = pool[slot];
  if (cur !== undefined && cur.length >= size) return cur;
  // Grow geometrically to avoid repeated reallocation for slowly growing sizes.
  const next = new Float64Array(Math.max(size, cur === undefined ? 0 : Math.ceil(cur.length * 1.5)));
  pool[slot] = next;
  return next;
}
