import { avgPool2dBackward, avgPool2dForward, maxPool2dForward } from './pool2d';
import { scatterByIndices } from './pool_windows';
import { randomFloats, refAvgPool2d, refIndexBackward, refLinearAdjoint, refMaxPool2d, seededRandom } from './reference';
import { expectClose } from './test_util';
import type { Pool2dGeometry } from './types';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Output size as PyTorch's pooling_output_shape (with ceil mode's last-window rule). */
function outSize(inSize: number, k: number, pad: number, stride: number, dilation: number, ceil: boolean): number {
  const span = inSize + 2 * pad - dilation * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (o - 1) * stride >= inSize + pad) o--;
  return o;
}

function randomGeometry(rand: () => number, withDilation: boolean): Pool2dGeometry {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  for (;;) {
    const kernelH = int(1, 4),
      kernelW = int(1, 4);
    const padH = int(0, Math.floor(kernelH / 2)),
      padW = int(0, Math.floor(kernelW / 2));
    const strideH = int(1, 3),
      strideW = int(1, 3);
    const dilationH = withDilation ? int(1, 2) : 1,
      dilationW = withDilation ? int(1, 2) : 1;
    const inHeight = int(1, 10),
      inWidth = int(1, 10),
      ceil = rand() < 0.5;
    const outHeight = outSize(inHeight, kernelH, padH, strideH, dilationH, ceil);
    const outWidth = outSize(inWidth, kernelW, padW, strideW, dilationW, ceil);
    if (outHeight < 1 || outWidth < 1) continue;
    return {
      batch: int(1, 2),
      channels: int(1, 3),
      inHeight,
      inWidth,
      kernelH,
      kernelW,
      strideH,
      strideW,
      padH,
      padW,
      dilationH,
      dilationW,
      outHeight,
      outWidth,
    };
  }
}

const sizes = (g: Pool2dGeometry): [number, number] => [
  g.batch * g.channels * g.inHeight * g.inWidth,
  g.batch * g.channels * g.outHeight * g.outWidth,
];

describe.each([
  [Float32Array as Ctor, 1e-6],
  [Float64Array as Ctor, 1e-13],
])('pooling (%p)', (ctor, tol) => {
  test('max pool forward (values, indices) and backward match the naive loops', () => {
    const rand = seededRandom(21);
    for (let t = 0; t < 200; t++) {
      const g = randomGeometry(rand, true);
      const [inSize, outSz] = sizes(g);
      const x = randomFloats(ctor, inSize, rand);
      if (t % 3 === 0) for (let i = 0; i < inSize; i += 5) x[i] = x[(i + 1) % inSize]!; // ties: first wins
      const out = new ctor(outSz).fill(NaN),
        idx = new Int32Array(outSz).fill(-7);
      maxPool2dForward(x, g, out, idx);
      const ref = refMaxPool2d(x, g);
      expectClose(out, ref.out, tol, `max fwd ${JSON.stringify(g)}`);
      expect(Array.from(idx)).toEqual(Array.from(ref.indices));
      const dy = randomFloats(ctor, outSz, rand);
      const dx = new ctor(inSize).fill(NaN);
      // max pooling's backward is the scatterPlanes op, whose kernel is scatterByIndices
      scatterByIndices(dy, idx, g.batch * g.channels, g.outHeight * g.outWidth, g.inHeight * g.inWidth, dx);
      expectClose(dx, refIndexBackward(dy, idx, g.batch * g.channels, g.outHeight * g.outWidth, g.inHeight * g.inWidth), tol, 'max bwd');
    }
  });

  test('max pool propagates NaN (last NaN wins) and handles all -Infinity', () => {
    const g: Pool2dGeometry = {
      batch: 1,
      channels: 1,
      inHeight: 2,
      inWidth: 3,
      kernelH: 2,
      kernelW: 3,
      strideH: 1,
      strideW: 1,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
      outHeight: 1,
      outWidth: 1,
    };
    const out = new ctor(1),
      idx = new Int32Array(1);
    maxPool2dForward(ctor.from([1, NaN, 5, 2, NaN, 0]), g, out, idx);
    expect(out[0]).toBeNaN();
    expect(idx[0]).toBe(4);
    maxPool2dForward(ctor.from([-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]), g, out, idx);
    expect(out[0]).toBe(-Infinity);
    expect(idx[0]).toBe(0);
  });

  test('2×2 stride-2 max pool (the branch-free path) matches the naive loop on ties, NaN, ±Infinity and odd sizes', () => {
    const rand = seededRandom(23);
    const specials = [NaN, Infinity, -Infinity, 0, -0];
    for (let t = 0; t < 60; t++) {
      const inHeight = 2 + Math.floor(rand() * 9),
        inWidth = 2 + Math.floor(rand() * 9);
      const g: Pool2dGeometry = {
        batch: 1 + (t % 2),
        channels: 1 + (t % 3),
        inHeight,
        inWidth,
        kernelH: 2,
        kernelW: 2,
        strideH: 2,
        strideW: 2,
        padH: 0,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        outHeight: Math.floor(inHeight / 2),
        outWidth: Math.floor(inWidth / 2),
      };
      const [inSize, outSz] = sizes(g);
      const x = randomFloats(ctor, inSize, rand);
      for (let i = 0; i < inSize; i++) {
        const r = rand();
        if (r < 0.1) x[i] = specials[Math.floor(rand() * specials.length)]!;
        else if (r < 0.3)
          x[i] = x[Math.max(0, i - 1)]!; // ties with the left neighbour: the first wins
        else if (r < 0.4) x[i] = x[Math.max(0, i - inWidth)]!; // ties with the row above
      }
      const out = new ctor(outSz).fill(7),
        idx = new Int32Array(outSz).fill(-7);
      maxPool2dForward(x, g, out, idx);
      const ref = refMaxPool2d(x, g);
      expect(Array.from(idx)).toEqual(Array.from(ref.indices));
      // Same values bit for bit (NaN at the same places, -0 kept as -0).
      for (let o = 0; o < outSz; o++)
        expect(Object.is(out[o], ref.out[o]) || (Number.isNaN(out[o]) && Number.isNaN(ref.out[o]))).toBe(true);
    }
  });

  test('avg pool forward and backward match the naive loops (count_include_pad, divisor_override, ceil mode)', () => {
    const rand = seededRandom(22);
    for (let t = 0; t < 200; t++) {
      const g = randomGeometry(rand, false);
      const include = rand() < 0.5;
      const divisor = rand() < 0.2 ? 1 + Math.floor(rand() * 5) : null;
      const [inSize, outSz] = sizes(g);
      const x = randomFloats(ctor, inSize, rand);
      const out = new ctor(outSz).fill(NaN);
      avgPool2dForward(x, g, include, divisor, out);
      expectClose(out, refAvgPool2d(x, g, include, divisor), tol, `avg fwd ${JSON.stringify(g)} ${include} ${divisor}`);
      const dy = randomFloats(ctor, outSz, rand);
      const dx = new ctor(inSize).fill(NaN);
      avgPool2dBackward(dy, g, include, divisor, dx);
      expectClose(
        dx,
        refLinearAdjoint((e) => refAvgPool2d(e, g, include, divisor), inSize, dy),
        tol,
        `avg bwd ${JSON.stringify(g)}`,
      );
    }
  });
});
