import { upsampleBilinear2dBackward, upsampleBilinear2dForward, upsampleNearest2dBackward, upsampleNearest2dForward } from './upsample2d';
import { randomFloats, refLinearAdjoint, refUpsampleBilinear2d, refUpsampleNearest2d, seededRandom } from './reference';
import { expectClose } from './test_util';
import type { ResizeGeometry } from './types';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Geometry as the op layer builds it: from an output size, or from a scale factor. */
function randomGeometry(rand: () => number, alignCorners: boolean): ResizeGeometry {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const inHeight = int(1, 8),
    inWidth = int(1, 8);
  let outHeight: number, outWidth: number, scaleH: number, scaleW: number;
  if (!alignCorners && rand() < 0.4) {
    const f = [0.5, 1.5, 2, 2.5, 3, 0.7][int(0, 5)]!;
    outHeight = Math.max(1, Math.floor(inHeight * f));
    outWidth = Math.max(1, Math.floor(inWidth * f));
    scaleH = 1 / f;
    scaleW = 1 / f;
  } else {
    outHeight = int(1, 12);
    outWidth = int(1, 12);
    scaleH = alignCorners ? (outHeight > 1 ? (inHeight - 1) / (outHeight - 1) : 0) : inHeight / outHeight;
    scaleW = alignCorners ? (outWidth > 1 ? (inWidth - 1) / (outWidth - 1) : 0) : inWidth / outWidth;
  }
  return { batch: int(1, 2), channels: int(1, 2), inHeight, inWidth, outHeight, outWidth, scaleH, scaleW, alignCorners };
}

describe.each([
  [Float32Array as Ctor, 1e-6],
  [Float64Array as Ctor, 1e-13],
])('upsampling (%p)', (ctor, tol) => {
  test('nearest forward and backward match the naive loops', () => {
    const rand = seededRandom(41);
    for (let t = 0; t < 80; t++) {
      const g = randomGeometry(rand, false);
      const inSize = g.batch * g.channels * g.inHeight * g.inWidth,
        outSize = g.batch * g.channels * g.outHeight * g.outWidth;
      const x = randomFloats(ctor, inSize, rand),
        dy = randomFloats(ctor, outSize, rand);
      const out = new ctor(outSize).fill(NaN);
      upsampleNearest2dForward(x, g, out);
      expectClose(out, refUpsampleNearest2d(x, g), tol, `nearest fwd ${JSON.stringify(g)}`);
      const dx = new ctor(inSize).fill(NaN);
      upsampleNearest2dBackward(dy, g, dx);
      expectClose(
        dx,
        refLinearAdjoint((e) => refUpsampleNearest2d(e, g), inSize, dy),
        tol,
        `nearest bwd ${JSON.stringify(g)}`,
      );
    }
  });

  test('bilinear forward and backward match the naive loops (align_corners on and off)', () => {
    const rand = seededRandom(42);
    for (let t = 0; t < 100; t++) {
      const g = randomGeometry(rand, t % 2 === 0);
      const inSize = g.batch * g.channels * g.inHeight * g.inWidth,
        outSize = g.batch * g.channels * g.outHeight * g.outWidth;
      const x = randomFloats(ctor, inSize, rand),
        dy = randomFloats(ctor, outSize, rand);
      const out = new ctor(outSize).fill(NaN);
      upsampleBilinear2dForward(x, g, out);
      expectClose(out, refUpsampleBilinear2d(x, g), tol, `bilinear fwd ${JSON.stringify(g)}`);
      const dx = new ctor(inSize).fill(NaN);
      upsampleBilinear2dBackward(dy, g, dx);
      expectClose(
        dx,
        refLinearAdjoint((e) => refUpsampleBilinear2d(e, g), inSize, dy),
        tol,
        `bilinear bwd ${JSON.stringify(g)}`,
      );
    }
  });

  test("nearest picks PyTorch's source pixels for an awkward ratio", () => {
    // in 3 -> out 7 (scale 3/7): PyTorch picks [0, 0, 0, 1, 1, 2, 2].
    const g: ResizeGeometry = {
      batch: 1,
      channels: 1,
      inHeight: 1,
      inWidth: 3,
      outHeight: 1,
      outWidth: 7,
      scaleH: 1,
      scaleW: 3 / 7,
      alignCorners: false,
    };
    const out = new ctor(7);
    upsampleNearest2dForward(ctor.from([10, 20, 30]), g, out);
    expect(Array.from(out)).toEqual([10, 10, 10, 20, 20, 30, 30]);
  });
});
