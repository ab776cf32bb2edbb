import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from './conv2d';
import { isDepthwise } from './depthwise';
import { setFloat32Engine } from './gemm';
import { createWasmFloat32Engine } from './wasm-gemm';
import { expectClose } from './test_util';
import { randomFloats, refConv2dBackwardInput, refConv2dBackwardWeight, refConv2dForward, seededRandom } from './reference';
import type { Conv2dGeometry } from './types';

function geometry(p: Omit<Conv2dGeometry, 'outHeight' | 'outWidth' | 'groups'>): Conv2dGeometry {
  const outHeight = Math.floor((p.inHeight + 2 * p.padH - p.dilationH * (p.kernelHeight - 1) - 1) / p.strideH) + 1;
  const outWidth = Math.floor((p.inWidth + 2 * p.padW - p.dilationW * (p.kernelWidth - 1) - 1) / p.strideW) + 1;
  return { ...p, groups: p.inChannels, outHeight, outWidth };
}

const base = { batch: 2, inChannels: 24, outChannels: 24, kernelHeight: 3, kernelWidth: 3, dilationH: 1, dilationW: 1 };
/** MobileNetV2's shapes (3×3, stride 1 and 2, padding 1) at odd sizes, and the rest of the geometry space. */
const CASES: [string, Conv2dGeometry][] = [
  ['3×3 stride 1', geometry({ ...base, inHeight: 30, inWidth: 29, strideH: 1, strideW: 1, padH: 1, padW: 1 })],
  ['3×3 stride 2', geometry({ ...base, inHeight: 31, inWidth: 33, strideH: 2, strideW: 2, padH: 1, padW: 1 })],
  [
    '5×3 dilation 2, no padding',
    geometry({ ...base, kernelHeight: 5, dilationH: 2, dilationW: 2, inHeight: 19, inWidth: 23, strideH: 1, strideW: 1, padH: 0, padW: 0 }),
  ],
  [
    'stride 3, multiplier 2',
    geometry({ ...base, inChannels: 8, outChannels: 16, inHeight: 25, inWidth: 26, strideH: 3, strideW: 3, padH: 2, padW: 1 }),
  ],
  [
    '1×1, batch 1, multiplier 3',
    geometry({
      ...base,
      batch: 1,
      inChannels: 5,
      outChannels: 15,
      kernelHeight: 1,
      kernelWidth: 1,
      inHeight: 7,
      inWidth: 5,
      strideH: 1,
      strideW: 2,
      padH: 0,
      padW: 0,
    }),
  ],
  ['3×3 on 2×2 (window bigger than the image)', geometry({ ...base, inHeight: 2, inWidth: 2, strideH: 1, strideW: 1, padH: 1, padW: 1 })],
];

/** Forward, backward-input and backward-weight of g on random float32 data, checked against the float64 loops. */
function check(g: Conv2dGeometry, seed: number, label: string): Float32Array[] {
  expect(isDepthwise(g)).toBe(true);
  const rand = seededRandom(seed);
  const x = randomFloats(Float32Array, g.batch * g.inChannels * g.inHeight * g.inWidth, rand);
  const w = randomFloats(Float32Array, g.outChannels * g.kernelHeight * g.kernelWidth, rand);
  const b = randomFloats(Float32Array, g.outChannels, rand);
  const dy = randomFloats(Float32Array, g.batch * g.outChannels * g.outHeight * g.outWidth, rand);
  const out = new Float32Array(dy.length).fill(NaN);
  conv2dForward(x, w, b, g, out);
  expectClose(out, refConv2dForward(x, w, b, g), 2e-6, `forward ${label}`);
  const dx = new Float32Array(x.length).fill(NaN);
  conv2dBackwardInput(dy, w, g, dx);
  expectClose(dx, refConv2dBackwardInput(dy, w, g), 2e-6, `backward-input ${label}`);
  const dw = new Float32Array(w.length).fill(NaN);
  conv2dBackwardWeight(x, dy, g, dw);
  expectClose(dw, refConv2dBackwardWeight(x, dy, g), 1e-6, `backward-weight ${label}`);
  const noBias = new Float32Array(dy.length);
  conv2dForward(x, w, null, g, noBias);
  expectClose(noBias, refConv2dForward(x, w, null, g), 2e-6, `forward without bias ${label}`);
  return [out, dx, dw];
}

describe('depthwise conv2d, float32', () => {
  let prev: ReturnType<typeof setFloat32Engine>;
  beforeAll(() => {
    prev = setFloat32Engine(createWasmFloat32Engine());
  });
  afterAll(() => setFloat32Engine(prev));

  test.each(CASES)('WebAssembly SIMD kernels match the float64 loops: %s', (label, g) => {
    check(g, 11, label);
  });

  test.each(CASES)('the TypeScript loops (GRADLENS_CPU_GEMM=js) match them too, and the two engines agree: %s', (label, g) => {
    const wasm = check(g, 12, label);
    setFloat32Engine(null);
    try {
      const js = check(g, 12, label);
      // Backward-weight sums in double on both sides; forward and backward-input round each tap in float32 in the module.
      js.forEach((arr, i) => expectClose(arr, wasm[i]!, 2e-6, `engines agree (${i}) ${label}`));
    } finally {
      setFloat32Engine(createWasmFloat32Engine());
    }
  });
});
