import { add, assign, conv2d, linear, matmul, record, setNumThreads, setWeightCacheBytes, tensor, weightCacheBytes } from '../src';
import type { Tensor } from '../src';
import { forgetResident, ResidentCache, type ResidentSpace } from '../src/backends/cpu/kernels/resident';
import { setDefaultThreadHost } from '../src/backends/cpu/threads/host';
import { nodeThreadHost } from '../src/backends/cpu/threads/node-host';
import { seededRandom } from '../src/backends/cpu/kernels/reference';
import { setTensorArena } from '../src/backends/cpu/storage-pool';

const MIB = 1 << 20;

/** A region that records how far it was grown, and refuses to grow past `limit` bytes. */
function fakeSpace(limit = Infinity): ResidentSpace & { grown: number } {
  return {
    base: 4096,
    grown: 0,
    grow(bytes) {
      if (bytes > limit) return false;
      this.grown = bytes;
      return true;
    },
  };
}

describe('ResidentCache: kept from the third use, dropped on change, capped least recently used first', () => {
  afterEach(() => setWeightCacheBytes(1 << 30));

  test('a weight is copied in on its third use by the same kernel and read in place after', () => {
    const cache = new ResidentCache(fakeSpace());
    const w = new Float32Array(100);
    const fills: number[] = [];
    const fill = (address: number): void => void fills.push(address);
    expect(cache.lookup(w, 'raw', 'conv forward', 100, fill)).toBeNull();
    expect(cache.lookup(w, 'raw', 'conv backward', 100, fill)).toBeNull(); // another use: counted apart
    expect(cache.lookup(w, 'raw', 'conv forward', 100, fill)).toBeNull(); // one map's two forward passes keep nothing
    expect(fills).toEqual([]);
    const at = cache.lookup(w, 'raw', 'conv forward', 100, fill);
    expect(at).toBe(4096);
    expect(fills).toEqual([4096]);
    expect(cache.lookup(w, 'raw', 'conv backward', 100, fill)).toBe(at); // the same copy serves every use
    expect(fills).toEqual([4096]);
    expect(cache.bytes()).toBe(448); // 400 bytes on 64-byte boundaries
  });

  test('forget drops the copies and the uses seen: the array must be used three times again', () => {
    const cache = new ResidentCache(fakeSpace());
    const w = new Float32Array(16);
    const fill = (): void => {};
    cache.lookup(w, 'raw', 'u', 16, fill);
    cache.lookup(w, 'raw', 'u', 16, fill);
    expect(cache.lookup(w, 'raw', 'u', 16, fill)).not.toBeNull();
    cache.forget(w);
    expect(cache.bytes()).toBe(0);
    expect(cache.lookup(w, 'raw', 'u', 16, fill)).toBeNull();
    expect(cache.lookup(w, 'raw', 'u', 16, fill)).toBeNull();
    expect(cache.lookup(w, 'raw', 'u', 16, fill)).not.toBeNull();
  });

  test("over the cap the least recently used copy idle since the newcomer's previous use goes, and its space is reused", () => {
    setWeightCacheBytes(3 * 1024);
    const cache = new ResidentCache(fakeSpace());
    const arrays = [0, 1, 2, 3].map(() => new Float32Array(256)); // 1 KiB each
    const thrice = (a: Float32Array): number | null => {
      cache.lookup(a, 'raw', 'u', 256, () => {});
      cache.lookup(a, 'raw', 'u', 256, () => {});
      return cache.lookup(a, 'raw', 'u', 256, () => {});
    };
    const [a0, a1, a2] = arrays.slice(0, 3).map(thrice);
    expect([a0, a1, a2]).toEqual([4096, 4096 + 1024, 4096 + 2048]);
    expect(cache.lookup(arrays[0]!, 'raw', 'u', 256, () => {})).toBe(a0); // array 0 used last: array 1 is the oldest now
    expect(thrice(arrays[3]!)).toBe(a1); // array 1 is idle since array 3's previous use (its second lookup): evicted
    expect(cache.bytes()).toBe(3 * 1024);
    // Array 1 again: every copy kept was used since its previous use, so none is evicted for it (a cycle).
    let filled = false;
    expect(cache.lookup(arrays[1]!, 'raw', 'u', 256, () => (filled = true))).toBeNull();
    expect(filled).toBe(false);
    expect(cache.lookup(arrays[3]!, 'raw', 'u', 256, () => {})).toBe(a1); // what is kept stays kept
    // Arrays 0 and 2 now lie idle since array 1's previous use: its next use evicts the older of them.
    cache.lookup(arrays[3]!, 'raw', 'u', 256, () => {});
    expect(cache.lookup(arrays[1]!, 'raw', 'u', 256, () => (filled = true))).toBe(a2);
    expect(filled).toBe(true);
  });

  test('weights used in a cycle longer than the cap: what is kept is read every round (least recently used would read none)', () => {
    setWeightCacheBytes(3 * 1024);
    const cache = new ResidentCache(fakeSpace());
    const weights = [0, 1, 2, 3, 4].map(() => new Float32Array(256)); // 5 KiB a round, 3 KiB kept at most
    let fills = 0;
    const hitsPerRound: number[] = [];
    for (let round = 0; round < 6; round++) {
      let hits = 0;
      for (const w of weights) {
        const before = fills;
        if (cache.lookup(w, 'raw', 'u', 256, () => fills++) !== null && fills === before) hits++;
      }
      hitsPerRound.push(hits);
    }
    expect(hitsPerRound.slice(3)).toEqual([3, 3, 3]); // from the fourth round on, the three kept are read in place
    expect(fills).toBe(3); // kept once each, never evicted and filled again
  });

  test('a copy bigger than the cap is never kept; lowering the cap trims; a cap of 0 keeps nothing', () => {
    setWeightCacheBytes(1024);
    const cache = new ResidentCache(fakeSpace());
    const big = new Float32Array(512);
    for (let i = 0; i < 3; i++) expect(cache.lookup(big, 'raw', 'u', 512, () => {})).toBeNull();
    setWeightCacheBytes(1 << 30);
    const a = new Float32Array(256),
      b = new Float32Array(256);
    for (const x of [a, b, a, b, a, b]) cache.lookup(x, 'raw', 'u', 256, () => {});
    expect(cache.bytes()).toBe(2048);
    cache.trim(1024);
    expect(cache.bytes()).toBe(1024);
    setWeightCacheBytes(0);
    const c = new Float32Array(16);
    for (let i = 0; i < 4; i++) expect(cache.lookup(c, 'raw', 'u', 16, () => {})).toBeNull();
  });

  test('the region grows in steps, and a memory that cannot grow keeps nothing', () => {
    const space = fakeSpace();
    const cache = new ResidentCache(space);
    const w = new Float32Array(10);
    for (let i = 0; i < 3; i++) cache.lookup(w, 'raw', 'u', 10, () => {});
    expect(space.grown).toBe(16 * MIB);
    const stuck = new ResidentCache(fakeSpace(0));
    for (let i = 0; i < 3; i++) expect(stuck.lookup(w, 'raw', 'u', 10, () => {})).toBeNull();
  });

  test('every engine hears that an array changed, not only the newest (an older one may be put back in use)', () => {
    const older = new ResidentCache(fakeSpace());
    const newer = new ResidentCache(fakeSpace());
    const w = new Float32Array(16);
    for (let i = 0; i < 3; i++) older.lookup(w, 'raw', 'u', 16, () => {});
    expect(older.bytes()).toBe(64);
    forgetResident(w);
    expect([older.bytes(), newer.bytes()]).toEqual([0, 0]);
  });

  test('an array values() handed out is never kept (its holder may write it)', () => {
    const cache = new ResidentCache(fakeSpace());
    const t = tensor(new Float32Array(32));
    const v = t.values() as Float32Array;
    for (let i = 0; i < 3; i++) expect(cache.lookup(v, 'raw', 'u', 32, () => {})).toBeNull();
    t.dispose();
  });
});

describe('kept weights give the results of copied ones, and follow every change', () => {
  setDefaultThreadHost(nodeThreadHost);
  afterAll(() => setNumThreads(1));
  const rand = seededRandom(31);
  const floats = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const same = (a: Tensor, b: Tensor): void => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));

  /** Runs f four times (copied twice, kept on the third call, read in place) and checks they agree bitwise; returns the last. */
  function fourTimes(f: () => Tensor): Tensor {
    const runs = [f(), f(), f(), f()];
    for (const r of runs.slice(1)) same(runs[0]!, r);
    for (const r of runs.slice(0, 3)) r.dispose();
    return runs[3]!;
  }

  // [name, x shape, w shape, stride]: im2col (stride 2; its weight kept packed), Winograd (3×3, 128 channels at 16×16) and a batch-1 linear layer.
  const convs: [string, number[], number[], number][] = [
    ['im2col conv, stride 2', [1, 16, 20, 20], [32, 16, 3, 3], 2],
    ['im2col conv, 20 rows (not a multiple of 6) and two depth blocks of 180', [1, 40, 12, 12], [20, 40, 3, 3], 2],
    ['Winograd conv', [1, 128, 16, 16], [128, 128, 3, 3], 1],
  ];
  for (const threads of [1, 2]) {
    for (const [name, xs, ws, stride] of convs) {
      test(`${name}, ${threads} thread(s): forward and backward-to-input, then after assign`, () => {
        setNumThreads(threads);
        const size = (s: number[]): number => s.reduce((p, d) => p * d, 1);
        const x = tensor(floats(size(xs)), xs);
        const w = tensor(floats(size(ws)), ws);
        const before = weightCacheBytes();
        const y = fourTimes(() => conv2d(x, w, null, { stride, padding: 1 }));
        const dy = tensor(floats(y.size), [...y.shape]);
        const pass = (): Tensor => {
          const { output, tape } = record(() => conv2d(x, w, null, { stride, padding: 1 }));
          const [gx] = tape.grad(output, [x], { gradOutputs: [dy] });
          tape.dispose();
          output.dispose();
          return gx!;
        };
        const g = fourTimes(pass);
        expect(weightCacheBytes()).toBeGreaterThan(before);
        const next = floats(size(ws));
        assign(w, next);
        const fresh = tensor(next, ws);
        same(conv2d(x, w, null, { stride, padding: 1 }), conv2d(x, fresh, null, { stride, padding: 1 }));
        expect(Array.from(y.dataSync())).not.toEqual(Array.from(conv2d(x, w, null, { stride, padding: 1 }).dataSync()));
        for (const t of [x, w, y, dy, g, fresh]) t.dispose();
      });
    }

    test(`batch-1 linear layer, ${threads} thread(s): forward and backward-to-input, then after assign`, () => {
      setNumThreads(threads);
      const [n, k] = [300, 1024];
      const x = tensor(floats(k), [1, k]);
      const w = tensor(floats(n * k), [n, k]);
      const before = weightCacheBytes();
      const y = fourTimes(() => linear(x, w));
      expect(weightCacheBytes()).toBeGreaterThan(before);
      const dy = floats(n);
      for (let i = 0; i < n; i += 3) dy[i] = 0; // zero scales are skipped
      const dyT = tensor(dy, [1, n]);
      const g = fourTimes(() => matmul(dyT, w)); // linear's backward-to-input: dy · W
      const next = floats(n * k);
      assign(w, next);
      const fresh = tensor(next, [n, k]);
      same(linear(x, w), linear(x, fresh));
      same(matmul(dyT, w), matmul(dyT, fresh));
      for (const t of [x, w, y, g, dyT, fresh]) t.dispose();
    });
  }

  test('one map (a forward pass for the class, a recorded one and its backward) keeps nothing', () => {
    setNumThreads(2);
    const [n, k] = [300, 1024];
    const x = tensor(floats(k), [1, k]);
    const w = tensor(floats(n * k), [n, k]);
    const before = weightCacheBytes();
    linear(x, w).dispose(); // the class
    const { output, tape } = record(() => linear(x, w)); // the recorded pass
    const dy = tensor(floats(n), [1, n]);
    const [gx] = tape.grad(output, [x], { gradOutputs: [dy] });
    expect(weightCacheBytes()).toBe(before);
    for (const t of [x, w, dy, output, gx!]) t.dispose();
    tape.dispose();
  });

  test('an array the storage pool takes back and hands to another tensor is not read from a stale copy', () => {
    setNumThreads(2);
    // The pool of ordinary arrays reuses the very array; an arena block comes back as a new view (arena.test.ts).
    const arenaWas = setTensorArena(false);
    const [n, k] = [300, 1024];
    const x = tensor(floats(k), [1, k]);
    const a = tensor(floats(n * k), [n, k]),
      b = tensor(floats(n * k), [n, k]);
    const w1 = add(a, b); // a kernel output: its array goes back to the pool when it is freed
    const array = w1.kernelValues();
    fourTimes(() => linear(x, w1)).dispose();
    w1.dispose();
    const w2 = add(b, b);
    expect(w2.kernelValues()).toBe(array); // the same array, new values: the case under test
    const fresh = tensor(w2.dataSync() as Float32Array, [n, k]);
    for (let use = 1; use <= 4; use++) same(linear(x, w2), linear(x, fresh)); // kept anew from w2's own values on its third use
    for (const t of [x, a, b, w2, fresh]) t.dispose();
    setTensorArena(arenaWas);
  });
});
