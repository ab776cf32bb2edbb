import { float32GemmInfo, matmul, setFloat32Engine, setMicroKernel, type MicroKernel, type PanelEngine } from './gemm';
import { createWasmFloat32Engine } from './wasm-gemm';
import { randomFloats, refMatmul, seededRandom } from './reference';
import { expectClose } from './test_util';
import type { MatmulOptions } from './types';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function run(ctor: Ctor, o: MatmulOptions, rand: () => number, tol: number): void {
  const aLen = Math.max(1, o.aBatchStride === 0 ? 1 : o.batch) * o.m * o.k;
  const bLen = Math.max(1, o.bBatchStride === 0 ? 1 : o.batch) * o.k * o.n;
  const a = randomFloats(ctor, aLen, rand);
  const b = randomFloats(ctor, bLen, rand);
  const out = new ctor(o.batch * o.m * o.n).fill(NaN);
  matmul(a, b, out, o);
  expectClose(out, refMatmul(a, b, o), tol, `${ctor.name} ${JSON.stringify(o)}`);
}

function randomOptions(rand: () => number, maxDim: number): MatmulOptions {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const batch = int(1, 3),
    m = int(1, maxDim),
    n = int(1, maxDim),
    k = int(1, maxDim);
  const aBroadcast = rand() < 0.25,
    bBroadcast = rand() < 0.3;
  return {
    batch,
    m,
    n,
    k,
    transA: rand() < 0.5,
    transB: rand() < 0.5,
    aBatchStride: aBroadcast ? 0 : m * k,
    bBatchStride: bBroadcast ? 0 : k * n,
  };
}

/** A deliberately odd 3×5 naive micro-kernel, to check that the driver honours any MR×NR. */
const naive3x5: MicroKernel = {
  mr: 3,
  nr: 5,
  run(kc, ap, aOff, bp, bOff, c, cOff, ldc, accumulate) {
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let p = 0; p < kc; p++) s += ap[aOff + p * 3 + i]! * bp[bOff + p * 5 + j]!;
        const idx = cOff + i * ldc + j;
        c[idx] = accumulate ? c[idx]! + s : s;
      }
  },
};

const wasm = createWasmFloat32Engine();

// Float32 data through the WebAssembly SIMD engine (float32 accumulation) and through the float64
// JavaScript engine (null); float64 data always takes the float64 engine.
describe.each([
  ['float32, wasm-simd engine', Float32Array as Ctor, wasm, 2e-5],
  ['float32, js-float64 engine', Float32Array as Ctor, null, 2e-5],
  ['float64', Float64Array as Ctor, null, 1e-12],
] as [string, Ctor, PanelEngine | null, number][])('matmul (%s)', (_label, ctor, engine, tol) => {
  let prevEngine: PanelEngine | null = null;
  beforeAll(() => {
    prevEngine = setFloat32Engine(engine);
  });
  afterAll(() => {
    setFloat32Engine(prevEngine);
  });

  test('small random shapes, transposes and broadcasts match the naive loop', () => {
    const rand = seededRandom(11);
    for (let t = 0; t < 200; t++) run(ctor, randomOptions(rand, 13), rand, tol);
  });

  test('shapes that cross the blocking (k > 256, m > 128, n > one column block)', () => {
    const rand = seededRandom(12);
    run(ctor, { batch: 1, m: 131, n: 1100, k: 300, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }, rand, tol * 4); // 2¹⁸ / 300 = 873 columns a block
    run(ctor, { batch: 2, m: 70, n: 33, k: 513, transA: true, transB: true, aBatchStride: 70 * 513, bBatchStride: 0 }, rand, tol * 4);
    run(ctor, { batch: 3, m: 50, n: 20, k: 30, transA: false, transB: false, aBatchStride: 50 * 30, bBatchStride: 0 }, rand, tol);
  });

  test('every row and column remainder of the panels (m, n = 1 … 17 around MR=6, NR=8)', () => {
    const rand = seededRandom(14);
    for (let m = 1; m <= 17; m++)
      for (let n = 1; n <= 17; n++)
        run(ctor, { batch: 1, m, n, k: 7, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }, rand, tol);
  });

  test('k = 0 gives zeros', () => {
    const out = new ctor(6).fill(NaN);
    matmul(new ctor(0), new ctor(0), out, { batch: 1, m: 2, n: 3, k: 0, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('a replacement float64 micro-kernel with other MR×NR gives the same results', () => {
    const prev = setMicroKernel(naive3x5);
    const prevEngine = setFloat32Engine(null);
    try {
      const rand = seededRandom(13);
      for (let t = 0; t < 40; t++) run(ctor, randomOptions(rand, 20), rand, tol);
      run(ctor, { batch: 1, m: 131, n: 300, k: 260, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 }, rand, tol * 4);
    } finally {
      setMicroKernel(prev);
      setFloat32Engine(prevEngine);
    }
  });
});

describe('float32 GEMM engine choice', () => {
  test('WebAssembly SIMD is the default on this Node, reported with its panel shape', () => {
    expect(float32GemmInfo()).toMatchObject({ engine: 'wasm-simd-float32 (4×8)', fallback: '' });
  });

  test('setCpuGemmEngine: js selects the float64 engine and says why, wasm goes back; the core reads no GRADLENS_CPU_GEMM', () => {
    const saved = process.env.GRADLENS_CPU_GEMM;
    try {
      process.env.GRADLENS_CPU_GEMM = 'js';
      jest.isolateModules(() => {
        const g = jest.requireActual<typeof import('./gemm')>('./gemm');
        expect(g.float32GemmInfo()).toMatchObject({ engine: 'wasm-simd-float32 (4×8)', fallback: '' }); // the variable alone does nothing
        expect(g.setCpuGemmEngine('js')).toBe('wasm');
        expect(g.float32GemmInfo()).toMatchObject({ engine: 'js-float64', fallback: "set by setCpuGemmEngine('js')" });
        expect(g.setCpuGemmEngine('wasm')).toBe('js');
        expect(g.float32GemmInfo()).toMatchObject({ engine: 'wasm-simd-float32 (4×8)', fallback: '' });
        expect(() => g.setCpuGemmEngine('avx' as 'js')).toThrow("setCpuGemmEngine: expected 'wasm' or 'js', got 'avx'");
      });
    } finally {
      if (saved === undefined) delete process.env.GRADLENS_CPU_GEMM;
      else process.env.GRADLENS_CPU_GEMM = saved;
    }
  });

  test('applyCpuEnvironment turns GRADLENS_CPU_GEMM, GRADLENS_WINOGRAD and GRADLENS_THREADS into calls, refusing bad values whole', () => {
    jest.isolateModules(() => {
      const env = jest.requireActual<typeof import('../environment')>('../environment');
      const g = jest.requireActual<typeof import('./gemm')>('./gemm');
      const w = jest.requireActual<typeof import('./winograd')>('./winograd');
      const s = jest.requireActual<typeof import('../threads/settings')>('../threads/settings');
      env.applyCpuEnvironment({ GRADLENS_CPU_GEMM: 'js', GRADLENS_WINOGRAD: '0', GRADLENS_THREADS: '3' });
      expect(g.float32GemmInfo().engine).toBe('js-float64');
      expect(w.winogradEnabled()).toBe(false);
      expect(s.getNumThreads()).toBe(3);
      expect(() => env.applyCpuEnvironment({ GRADLENS_CPU_GEMM: 'wasm', GRADLENS_WINOGRAD: 'yes' })).toThrow(
        "GRADLENS_WINOGRAD must be '0' (off), '1' (on), '2' (F(2×2) only) or '4' (F(4×4) only), got 'yes'",
      );
      expect(g.float32GemmInfo().engine).toBe('js-float64'); // nothing applied from a refused environment
      expect(() => env.applyCpuEnvironment({ GRADLENS_CPU_GEMM: 'avx' })).toThrow("GRADLENS_CPU_GEMM must be 'wasm' or 'js', got 'avx'");
      env.applyCpuEnvironment({ GRADLENS_CPU_GEMM: 'wasm', GRADLENS_WINOGRAD: '2', GRADLENS_THREADS: '' });
      expect(g.float32GemmInfo().engine).toMatch(/wasm-simd/);
      expect(w.winogradEnabled()).toBe(true);
      expect(w.setWinogradTile(null)).toBe(2); // '2': F(2×2) only
      expect(s.getNumThreads()).toBe(3);
      env.applyCpuEnvironment({ GRADLENS_WINOGRAD: '1' });
      expect(w.setWinogradTile(null)).toBe(null); // '1': chosen per layer
    });
  });

  test('GRADLENS_ARENA_MB sizes the tensor arena before the engine starts; outputs past it are ordinary arrays', () => {
    jest.isolateModules(() => {
      const T = jest.requireActual<typeof import('../../../index')>('../../../index');
      const env = jest.requireActual<typeof import('../environment')>('../environment');
      const pool = jest.requireActual<typeof import('../storage-pool')>('../storage-pool');
      expect(T.tensorArenaSize()).toBe(1 << 30); // Node with shared memory: the default, before the engine starts
      for (const bad of ['-1', '1.5', 'lots', '3073'])
        expect(() => env.applyCpuEnvironment({ GRADLENS_ARENA_MB: bad })).toThrow(
          `GRADLENS_ARENA_MB must be a whole number of MiB from 0 to 3072, got '${bad}'`,
        );
      env.applyCpuEnvironment({ GRADLENS_ARENA_MB: '8' });
      expect(T.getBackendInfo().tensorArena).toBe('8 MiB'); // info starts the engine with it
      const small = T.relu(T.ones([1 << 20])); // 4 MiB: in the arena
      const big = T.relu(T.ones([3 << 20])); // 12 MiB: past it, an ordinary array
      expect(pool.inTensorArena(small.kernelValues())).toBe(true);
      expect(pool.inTensorArena(big.kernelValues())).toBe(false);
      expect(Array.from(big.dataSync().subarray(0, 3))).toEqual([1, 1, 1]);
      T.setTensorArenaSize(8 << 20); // the size it has: accepted
      expect(() => T.setTensorArenaSize(16 << 20)).toThrow(
        'setTensorArenaSize: the WebAssembly engine already started with a 8 MiB arena; set the size before the first float32 kernel runs (GRADLENS_ARENA_MB at start-up)',
      );
      expect(() => T.setTensorArenaSize(-5)).toThrow(
        'setTensorArenaSize: expected a whole number of bytes from 0 to 3221225472 (3 GiB), got -5',
      );
      small.dispose();
      big.dispose();
    });
    jest.isolateModules(() => {
      const T = jest.requireActual<typeof import('../../../index')>('../../../index');
      const pool = jest.requireActual<typeof import('../storage-pool')>('../storage-pool');
      T.applyCpuEnvironment({ GRADLENS_ARENA_MB: '0' });
      const y = T.relu(T.ones([1 << 16]));
      expect(pool.inTensorArena(y.kernelValues())).toBe(false); // no arena at all
      expect(T.tensorArenaSize()).toBe(0);
      expect(T.getBackendInfo().tensorArena).toBeUndefined();
    });
  });

  test('the wasm engine grows its memory for big operands and keeps giving right results', () => {
    const prev = setFloat32Engine(createWasmFloat32Engine());
    try {
      const rand = seededRandom(15);
      // 600×700×900: packed A alone is 2.2 MB, more than the engine's initial memory.
      run(Float32Array, { batch: 1, m: 600, n: 700, k: 900, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }, rand, 1e-4);
      run(Float32Array, { batch: 1, m: 9, n: 10, k: 11, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0 }, rand, 2e-5);
    } finally {
      setFloat32Engine(prev);
    }
  });
});
