import { matmul } from './gemm';
import { randomFloats, refMatmul, seededRandom } from './reference';
import { expectClose } from './test_util';
import { THIN } from './thin';

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
