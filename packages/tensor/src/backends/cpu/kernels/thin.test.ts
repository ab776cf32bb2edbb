import { matmul } from './gemm';
import { randomFloats, refMatmul, seededRandom } from './reference';
import { expectClose } from './test_util';
import { THIN, thinMatmul, type ThinProduct } from './thin';
import { setThinChunkFloats, thinMatmulStaged } from './thin-staged';
import { currentFloat32Engine } from './gemm';
import { setNumThreads } from '../threads/settings';
import { setDefaultThreadHost } from '../threads/host';
import { nodeThreadHost } from '../threads/node-host';
import { WasmJob } from './wasm-gemm';

describe('thin products (m or k ≤ THIN) take the unpacked path and stay exact', () => {
  const rand = seededRandom(11);
  const shapes: [number, number, number, number][] = [
    // batch, m, n, k
    [1, 1, 37, 300],
    [1, THIN, 5, 129],
    [2, 3, 64, 70],
    [1, 40, 33, 1],
    [3, 9, 17, THIN],
    [1, 1, 1, 1],
  ];
  for (const [batch, m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const ctor of [Float32Array, Float64Array]) {
          test(`batch ${batch}, m ${m}, n ${n}, k ${k}, transA ${transA}, transB ${transB}, ${ctor.name}`, () => {
            const o = { batch, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: k * n };
            const a = randomFloats(ctor, batch * m * k, rand);
            const b = randomFloats(ctor, batch * k * n, rand);
            const out = new ctor(batch * m * n).fill(NaN);
            matmul(a, b, out, o);
            expectClose(out, refMatmul(a, b, o), ctor === Float32Array ? 1e-5 : 1e-12, 'thin matmul');
          });
        }
      }
    }
  }
});

describe('big thin float32 products run staged in the wasm module, bitwise as the JavaScript loops, on any thread count', () => {
  setDefaultThreadHost(nodeThreadHost);
  const rand = seededRandom(12);
  // [m, n, k, transB, chunk]: transB = a linear layer's forward (dot products), else its backward-to-input
  // (scaled rows); chunks of about `chunk` rows: small ones run whole on the caller, big ones (≥ 2^18
  // multiply-adds) are started on the worker threads while the next chunk is staged.
  const cases: [number, number, number, boolean, number][] = [
    [1, 300, 517, true, 7],
    [3, 257, 300, true, 7],
    [1, 411, 300, false, 7],
    [1, 2048, 1024, true, 300],
    [2, 1500, 1024, true, 300],
    [1, 1024, 2048, false, 300],
  ];
  test.each(cases)('m %i, n %i, k %i, transB %s: chunks of ~%i rows, 1, 2 and 3 threads', (m, n, k, transB, chunk) => {
    const a = randomFloats(Float32Array, m * k, rand) as Float32Array;
    for (let i = 0; i < a.length; i += 3) a[i] = 0; // zero scales are skipped
    const b = randomFloats(Float32Array, k * n, rand) as Float32Array;
    const o = { batch: 1, m, n, k, transA: false, transB, aBatchStride: 0, bBatchStride: 0 };
    const js = new Float32Array(m * n).fill(NaN);
    const product = (out: Float32Array): ThinProduct => ({
      a,
      aOff: 0,
      aRs: k,
      aCs: 1,
      b,
      bOff: 0,
      bRs: transB ? 1 : n,
      bCs: transB ? k : 1,
      out,
      outOff: 0,
      m,
      n,
      k,
    });
    thinMatmul(product(js));
    expectClose(js, refMatmul(a, b, o), 1e-5, 'thin matmul');
    const prev = setThinChunkFloats(chunk * Math.max(n, k) + 5); // several chunks, the last partial
    try {
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        const out = new Float32Array(m * n).fill(NaN);
        const st = currentFloat32Engine()!.staging!;
        expect(thinMatmulStaged(st, product(out))).toBe(true);
        expect(Buffer.from(out.buffer).equals(Buffer.from(js.buffer))).toBe(true);
        const viaMatmul = new Float32Array(m * n).fill(NaN);
        matmul(a, b, viaMatmul, o);
        expect(Buffer.from(viaMatmul.buffer).equals(Buffer.from(js.buffer))).toBe(true);
      }
    } finally {
      setThinChunkFloats(prev);
      setNumThreads(1);
    }
  });
});

describe('a started job', () => {
  test('another job asked before it is finished is a one-line error, and the started one still completes', () => {
    setDefaultThreadHost(nodeThreadHost);
    const k = 1024,
      n = 512;
    const st = currentFloat32Engine()!.staging!;
    const staged = st.reserve(k + n + n * k);
    staged.fill(1, 0, k); // x = ones
    staged.fill(0.5, k + n, k + n + n * k); // W = halves: every dot product is k/2
    const args = [st.address(0), 1, k, st.address(k + n), st.address(k), n, n];
    setNumThreads(2);
    try {
      const finish = st.startJob(WasmJob.ThinDot, args, n, n * k);
      expect(() => st.job(WasmJob.ThinDot, args, n, n * k)).toThrow(/job 6 asked while a started job is unfinished/);
      finish();
      expect(Array.from(st.floats().subarray(k, k + n)).every((v) => v === k / 2)).toBe(true);
    } finally {
      setNumThreads(1);
    }
  });
});
