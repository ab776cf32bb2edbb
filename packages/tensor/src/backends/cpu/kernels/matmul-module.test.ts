import * as T from '../../../index';
import { setKeepPackedB, setMatmulCopyLimit, setModuleMatmulPacking } from './matmul-module';
import { setTensorArena } from '../storage-pool';
import { firstDifference } from './test_util';
import { setJobObserver } from './wasm-gemm';

describe("matmul's packing and stores as the module's jobs", () => {
  afterEach(() => {
    setModuleMatmulPacking(true);
    setTensorArena(true);
    T.setNumThreads(1);
  });

  const g = (seed: number, shape: number[]): T.Tensor => T.randn(shape, { generator: new T.Generator(seed) });
  // Column counts off the 8-column panels, rows off the 6-row panels; big enough that every job splits on 2+ threads.
  const x = g(1, [2, 150, 256]);
  const w = g(2, [61, 256]); // a linear weight: B = wᵀ (columns 256 apart)
  const bias = g(3, [61]);
  const y = g(4, [2, 256, 45]); // per-batch B, columns consecutive
  const shared = g(5, [256, 45]); // one B for every batch (the stacked GEMM)
  const z = g(6, [2, 150, 45]);
  const v = g(7, [2, 1100, 256]); // 1100 columns: two column blocks of the GEMM (1024 at depth 256)
  // A linear weight kept packed from its third use: at depth 300, two depth blocks of 150 and column blocks of 872
  // and 228 (a last one off the 8-column panels).
  const deep = g(8, [2, 150, 300]);
  const wide = g(9, [1100, 300]);

  /** linear (B transposed), batched matmuls with and without a shared B, and products with A or B transposed. */
  const products = (): number[][] =>
    T.tidy(() => {
      // Arena copies when the arena is on (operands read in place), ordinary arrays when it is off (staged).
      const [xa, ya, za, va, da] = [x, y, z, v, deep].map((t) => T.add(t, T.zerosLike(t)));
      const outs = [
        T.linear(xa!, w, bias),
        T.linear(da!, wide),
        T.matmul(xa!, ya!),
        T.matmul(xa!, shared),
        T.matmul(T.transpose(xa!, 1, 2), za!), // A transposed: [256, 150] · [150, 45]
        T.matmul(xa!, T.transpose(va!, 1, 2)), // B transposed: [150, 256] · [256, 1100]
      ];
      return outs.map((o) => Array.from(o.dataSync()));
    });

  test.each([true, false])('give the JavaScript loops’ values bit for bit on 1–3 threads (arena %s)', (arena) => {
    setTensorArena(arena);
    setModuleMatmulPacking(false);
    const reference = products();
    setModuleMatmulPacking(true);
    const jobs: string[] = [];
    const bPacks: number[] = []; // B packing jobs a round
    setJobObserver((r) => {
      if (r.split) jobs.push(r.job);
      if (r.job === 'PackB') bPacks[bPacks.length - 1]!++;
    });
    try {
      // Four rounds: the weights are read from what the module keeps from their third use on, B packed.
      for (const threads of [1, 2, 3, 2]) {
        T.setNumThreads(threads);
        bPacks.push(0);
        expect(firstDifference(products(), reference)).toBe('');
      }
    } finally {
      setJobObserver(null);
    }
    // The weights' B panels are no longer packed a call: fewer B packing jobs than with nothing kept packed.
    const keep = setKeepPackedB(false);
    let unkept = 0;
    setJobObserver((r) => void (r.job === 'PackB' && unkept++));
    try {
      expect(firstDifference(products(), reference)).toBe('');
    } finally {
      setJobObserver(null);
      setKeepPackedB(keep);
    }
    expect(bPacks[3]).toBeLessThan(unkept);
    const ran = new Set(jobs); // split across the threads
    expect(['PackA', 'PackB', 'DenseStore'].filter((j) => ran.has(j))).toEqual(
      arena ? ['PackA', 'PackB', 'DenseStore'] : ['PackA', 'PackB'],
    );
  });

  test('operands too big to copy in take the JavaScript packers, with the same values', () => {
    setTensorArena(false); // ordinary arrays, used here for the first time: nothing kept, so they would be copied in
    const [xo, wo, so] = [g(11, [2, 150, 256]), g(12, [61, 256]), g(13, [256, 45])];
    const run = (): number[][] => T.tidy(() => [T.linear(xo, wo), T.matmul(xo, so)].map((o) => Array.from(o.dataSync())));
    setModuleMatmulPacking(false);
    const reference = run();
    setModuleMatmulPacking(true);
    const jobs: string[] = [];
    setJobObserver((r) => jobs.push(r.job));
    const prev = setMatmulCopyLimit(1000);
    try {
      expect(firstDifference(run(), reference)).toBe('');
    } finally {
      setMatmulCopyLimit(prev);
      setJobObserver(null);
    }
    expect(jobs.filter((j) => j !== 'GemmDepth')).toEqual([]);
    expect(jobs.length).toBeGreaterThan(0); // the GEMMs ran in the module, their operands packed in JavaScript
  });

  test('a matmul too thin for the GEMM stages nothing and runs no packing job', () => {
    const jobs: string[] = [];
    setJobObserver((r) => jobs.push(r.job));
    try {
      T.tidy(() => {
        T.matmul(g(7, [1, 300]), g(8, [300, 45])).dataSync();
      });
    } finally {
      setJobObserver(null);
    }
    expect(jobs.filter((j) => j.startsWith('Pack') || j === 'DenseStore')).toEqual([]);
  });
});
