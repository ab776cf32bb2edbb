import { adaptiveAvgPool2dBackward, adaptiveAvgPool2dForward, adaptiveMaxPool2dForward } from './adaptive_pool2d';
import { scatterByIndices } from './pool_windows';
import { randomFloats, refAdaptiveAvgPool2d, refAdaptiveMaxPool2d, refIndexBackward, refLinearAdjoint, seededRandom } from './reference';
import { expectClose } from './test_util';
import type { AdaptivePoolGeometry } from './types';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

describe.each([
  [Float32Array as Ctor, 1e-6],
  [Float64Array as Ctor, 1e-13],
])('adaptive pooling (%p)', (ctor, tol) => {
  test('avg and max, forward and backward, match the naive loops (out smaller and larger than in)', () => {
    const rand = seededRandom(31);
    const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
    for (let t = 0; t < 150; t++) {
      const g: AdaptivePoolGeometry = {
        batch: int(1, 2),
        channels: int(1, 3),
        inHeight: int(1, 11),
        inWidth: int(1, 11),
        outHeight: int(1, 8),
        outWidth: int(1, 8),
      };
      const inSize = g.batch * g.channels * g.inHeight * g.inWidth;
      const outSize = g.batch * g.channels * g.outHeight * g.outWidth;
      const x = randomFloats(ctor, inSize, rand);
      const dy = randomFloats(ctor, outSize, rand);
      const label = JSON.stringify(g);

      const out = new ctor(outSize).fill(NaN);
      adaptiveAvgPool2dForward(x, g, out);
      expectClose(out, refAdaptiveAvgPool2d(x, g), tol, `avg fwd ${label}`);
      const dx = new ctor(inSize).fill(NaN);
      adaptiveAvgPool2dBackward(dy, g, dx);
      expectClose(
        dx,
        refLinearAdjoint((e) => refAdaptiveAvgPool2d(e, g), inSize, dy),
        tol,
        `avg bwd ${label}`,
      );

      const idx = new Int32Array(outSize).fill(-3);
      adaptiveMaxPool2dForward(x, g, out, idx);
      const ref = refAdaptiveMaxPool2d(x, g);
      expectClose(out, ref.out, tol, `max fwd ${label}`);
      expect(Array.from(idx)).toEqual(Array.from(ref.indices));
      dx.fill(NaN);
      // adaptive max pooling's backward is the scatterPlanes op, whose kernel is scatterByIndices
      scatterByIndices(dy, idx, g.batch * g.channels, g.outHeight * g.outWidth, g.inHeight * g.inWidth, dx);
      expectClose(
        dx,
        refIndexBackward(dy, idx, g.batch * g.channels, g.outHeight * g.outWidth, g.inHeight * g.inWidth),
        tol,
        `max bwd ${label}`,
      );
    }
  });

  test('adaptive max propagates NaN', () => {
    const g: AdaptivePoolGeometry = { batch: 1, channels: 1, inHeight: 1, inWidth: 4, outHeight: 1, outWidth: 1 };
    const out = new ctor(1),
      idx = new Int32Array(1);
    adaptiveMaxPool2dForward(ctor.from([3, NaN, 9, 1]), g, out, idx);
    expect(out[0]).toBeNaN();
    expect(idx[0]).toBe(1);
  });
});
