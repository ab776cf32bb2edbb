import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from './conv2d';
import { expectClose } from './test_util';
import { randomFloats, refConv2dBackwardInput, refConv2dBackwardWeight, refConv2dForward, seededRandom } from './reference';
import type { Conv2dGeometry } from './types';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function geometry(p: Omit<Conv2dGeometry, 'outHeight' | 'outWidth'>): Conv2dGeometry {
  const outHeight = Math.floor((p.inHeight + 2 * p.padH - p.dilationH * (p.kernelHeight - 1) - 1) / p.strideH) + 1;
  const outWidth = Math.floor((p.inWidth + 2 * p.padW - p.dilationW * (p.kernelWidth - 1) - 1) / p.strideW) + 1;
  return { ...p, outHeight, outWidth };
}

function randomGeometry(rand: () => number): Conv2dGeometry {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  for (;;) {
    const kind = rand();
    const groups = kind < 0.5 ? 1 : int(2, 4);
    const depthwise = kind > 0.8;
    const inChannels = depthwise ? groups : groups * int(1, 4);
    const outChannels = groups * int(1, depthwise ? 3 : 5);
    const g = geometry({
      batch: int(1, 3), inChannels, inHeight: int(1, 11), inWidth: int(1, 11), outChannels,
      kernelHeight: int(1, 4), kernelWidth: int(1, 4), strideH: int(1, 3), strideW: int(1, 3),
      padH: int(0, 2), padW: int(0, 2), dilationH: int(1, 2), dilationW: int(1, 2), groups,
    });
    if (g.outHeight >= 1 && g.outWidth >= 1) return g;
  }
}

/** Geometries that cross the GEMM's blocking (K > 256, rows > 128, columns > one block). */
const BIG: Conv2dGeometry[] = [
  geometry({ batch: 2, inChannels: 33, inHeight: 17, inWidth: 15, outChannels: 7, kernelHeight: 3, kernelWidth: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1 }),
  geometry({ batch: 1, inChannels: 3, inHeight: 40, inWidth: 37, outChannels: 9, kernelHeight: 3, kernelWidth: 3, strideH: 2, strideW: 1, padH: 1, padW: 0, dilationH: 1, dilationW: 1, groups: 1 }),
  geometry({ batch: 3, inChannels: 6, inHeight: 13, inWidth: 13, outChannels: 6, kernelHeight: 3, kernelWidth: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 6 }),
  geometry({ batch: 2, inChannels: 4, inHeight: 9, inWidth: 9, outChannels: 4, kernelHeight: 1, kernelWidth: 1, strideH: 3, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1 }),
];

function check(ctor: Ctor, g: Conv2dGeometry, rand: () => number, tol: number, withBias: boolean): void {
  const cinG = g.inChannels / g.groups;
  const x = randomFloats(ctor, g.batch * g.inChannels * g.inHeight * g.inWidth, rand);
  const w = randomFloats(ctor, g.outChannels * cinG * g.kernelHeight * g.kernelWidth, rand);
  const b = withBias ? randomFloats(ctor, g.outChannels, rand) : null;
  const dy = randomFloats(ctor, g.batch * g.outChannels * g.outHeight * g.outWidth, rand);
  const label = `${ctor.name} ${JSON.stringify(g)}`;

  const out = new ctor(dy.length).fill(NaN);
  conv2dForward(x, w, b, g, out);
  expectClose(out, refConv2dForward(x, w, b, g), tol, `forward ${label}`);

  const dx = new ctor(x.length).fill(NaN);
  conv2dBackwardInput(dy, w, g, dx);
  expectClose(dx, refConv2dBackwardInput(dy, w, g), tol, `backward-input ${label}`);

  const dw = new ctor(w.length).fill(NaN);
  conv2dBackwardWeight(x, dy, g, dw);
  expectClose(dw, refConv2dBackwardWeight(x, dy, g), tol, `backward-weight ${label}`);
}

describe.each([
  [Float32Array as Ctor, 2e-5],
  [Float64Array as Ctor, 1e-12],
])('conv2d kernels (%p)', (ctor, tol) => {
  test('random geometries match the naive loops', () => {
    const rand = seededRandom(ctor === Float32Array ? 1 : 2);
    for (let t = 0; t < 150; t++) check(ctor, randomGeometry(rand), rand, tol, rand() < 0.7);
  });

  test('geometries that cross GEMM blocks match the naive loops', () => {
    const rand = seededRandom(3);
    for (const g of BIG) check(ctor, g, rand, tol * 4, true);
  });

  test('input positions no window reads get a zero gradient', () => {
    const g = BIG[3]!;
    const dy = new ctor(g.batch * g.outChannels * g.outHeight * g.outWidth).fill(1);
    const w = new ctor(g.outChannels * g.inChannels).fill(1);
    const dx = new ctor(g.batch * g.inChannels * g.inHeight * g.inWidth).fill(NaN);
    conv2dBackwardInput(dy, w, g, dx);
    // Row 1 is skipped by stride 3.
    expect(dx[1 * g.inWidth]).toBe(0);
    expect(dx[0]).toBe(g.outChannels);
  });
});
