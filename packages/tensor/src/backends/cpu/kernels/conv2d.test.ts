import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from './conv2d';
import { setFloat32Engine, setGemmBlocking, type PanelEngine } from './gemm';
import { createWasmFloat32Engine } from './wasm-gemm';
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
      batch: int(1, 3),
      inChannels,
      inHeight: int(1, 11),
      inWidth: int(1, 11),
      outChannels,
      kernelHeight: int(1, 4),
      kernelWidth: int(1, 4),
      strideH: int(1, 3),
      strideW: int(1, 3),
      padH: int(0, 2),
      padW: int(0, 2),
      dilationH: int(1, 2),
      dilationW: int(1, 2),
      groups,
    });
    if (g.outHeight >= 1 && g.outWidth >= 1) return g;
  }
}

/** Geometries that cross the GEMM's blocking (K > 256, rows > 128, columns > one block). */
const BIG: Conv2dGeometry[] = [
  geometry({
    batch: 2,
    inChannels: 33,
    inHeight: 17,
    inWidth: 15,
    outChannels: 7,
    kernelHeight: 3,
    kernelWidth: 3,
    strideH: 1,
    strideW: 1,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geometry({
    batch: 1,
    inChannels: 3,
    inHeight: 40,
    inWidth: 37,
    outChannels: 9,
    kernelHeight: 3,
    kernelWidth: 3,
    strideH: 2,
    strideW: 1,
    padH: 1,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geometry({
    batch: 3,
    inChannels: 6,
    inHeight: 13,
    inWidth: 13,
    outChannels: 6,
    kernelHeight: 3,
    kernelWidth: 3,
    strideH: 1,
    strideW: 1,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 6,
  }),
  geometry({
    batch: 2,
    inChannels: 4,
    inHeight: 9,
    inWidth: 9,
    outChannels: 4,
    kernelHeight: 1,
    kernelWidth: 1,
    strideH: 3,
    strideW: 2,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
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

/** Edge cases of the offset-table packers: strides, paddings, dilations, odd widths, groups. */
const EDGES: Conv2dGeometry[] = [
  // stride 1 and 2 with padding 0, 1 and 2
  ...[1, 2].flatMap((stride) =>
    [0, 1, 2].map((pad) =>
      geometry({
        batch: 3,
        inChannels: 5,
        inHeight: 9,
        inWidth: 7,
        outChannels: 13,
        kernelHeight: 3,
        kernelWidth: 3,
        strideH: stride,
        strideW: stride,
        padH: pad,
        padW: pad,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      }),
    ),
  ),
  // 5×5 stride 2 pad 2 (the first layer of the profiled CNN), odd sizes
  geometry({
    batch: 2,
    inChannels: 3,
    inHeight: 13,
    inWidth: 11,
    outChannels: 9,
    kernelHeight: 5,
    kernelWidth: 5,
    strideH: 2,
    strideW: 2,
    padH: 2,
    padW: 2,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  // dilation with unequal padding per axis and a wide kernel
  geometry({
    batch: 2,
    inChannels: 4,
    inHeight: 10,
    inWidth: 12,
    outChannels: 5,
    kernelHeight: 2,
    kernelWidth: 4,
    strideH: 1,
    strideW: 3,
    padH: 2,
    padW: 1,
    dilationH: 3,
    dilationW: 2,
    groups: 1,
  }),
  // padding wider than the kernel reaches: whole output rows read only the zero border
  geometry({
    batch: 2,
    inChannels: 2,
    inHeight: 3,
    inWidth: 5,
    outChannels: 3,
    kernelHeight: 1,
    kernelWidth: 1,
    strideH: 1,
    strideW: 1,
    padH: 2,
    padW: 2,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  // more output channels than taps or batch pixels (the longest offset table is the channel one)
  geometry({
    batch: 1,
    inChannels: 2,
    inHeight: 1,
    inWidth: 1,
    outChannels: 40,
    kernelHeight: 1,
    kernelWidth: 1,
    strideH: 1,
    strideW: 1,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  // groups with several channels each, padding
  geometry({
    batch: 2,
    inChannels: 6,
    inHeight: 7,
    inWidth: 9,
    outChannels: 9,
    kernelHeight: 3,
    kernelWidth: 3,
    strideH: 1,
    strideW: 2,
    padH: 1,
    padW: 2,
    dilationH: 1,
    dilationW: 1,
    groups: 3,
  }),
];

describe.each([
  [Float32Array as Ctor, 2e-5],
  [Float64Array as Ctor, 1e-12],
])('conv2d packers on edge cases (%p)', (ctor, tol) => {
  test('strides, paddings, dilations, odd widths and groups match the naive loops', () => {
    const rand = seededRandom(11);
    for (const g of EDGES) check(ctor, g, rand, tol * 4, true);
  });

  test('tiny GEMM blocks (depth blocks and column blocks crossing images and rows, partial panels) match the naive loops', () => {
    // kc = 5 splits the taps of a 3×3 kernel mid-row and the batch pixels of backward-weight mid-image;
    // ncMax = 20 is not a multiple of any panel width, so every column block ends in a partial panel.
    const prev = setGemmBlocking({ kc: 5, mc: 7, bBlock: 40, ncMax: 20 });
    try {
      const rand = seededRandom(12);
      for (const g of EDGES) check(ctor, g, rand, tol * 4, true);
      for (let t = 0; t < 40; t++) check(ctor, randomGeometry(rand), rand, tol, rand() < 0.5);
    } finally {
      setGemmBlocking(prev);
    }
  });

  test('alternating geometries reuse the padded buffers correctly', () => {
    const rand = seededRandom(13);
    for (let t = 0; t < 3; t++) for (const g of [EDGES[2]!, EDGES[0]!, EDGES[6]!]) check(ctor, g, rand, tol * 4, t === 1);
  });
});

test.each([Float32Array as Ctor, Float64Array as Ctor])(
  'a large padded input (%p: staged in a grown wasm memory / allocated per call, not reused)',
  (ctor) => {
    // (2049 + 2)² > 2^22 elements: above the reused JavaScript buffers' limit. A 1×1 kernel of 1.5 with
    // stride 2 and padding 1 reads x[2·oh − 1, 2·ow − 1], so exact results are cheap to write down
    // (the naive reference and random data take seconds at this size).
    const g = geometry({
      batch: 1,
      inChannels: 1,
      inHeight: 2049,
      inWidth: 2049,
      outChannels: 1,
      kernelHeight: 1,
      kernelWidth: 1,
      strideH: 2,
      strideW: 2,
      padH: 1,
      padW: 1,
      dilationH: 1,
      dilationW: 1,
      groups: 1,
    });
    const H = g.inHeight,
      OH = g.outHeight;
    const x = new ctor(H * H);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1013) / 512 - 1;
    const dy = new ctor(OH * OH);
    for (let i = 0; i < dy.length; i++) dy[i] = ((i * 104729) % 997) / 256 - 2;
    const w = new ctor([1.5]);
    const round = ctor === Float32Array ? Math.fround : (v: number): number => v;
    const out = new ctor(dy.length).fill(NaN);
    conv2dForward(x, w, null, g, out);
    let bad = 0;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OH; ow++) {
        const ih = 2 * oh - 1,
          iw = 2 * ow - 1;
        const want = ih < 0 || iw < 0 || ih >= H || iw >= H ? 0 : round(1.5 * x[ih * H + iw]!);
        if (out[oh * OH + ow] !== want) bad++;
      }
    }
    const dx = new ctor(x.length).fill(NaN);
    conv2dBackwardInput(dy, w, g, dx);
    for (let ih = 0; ih < H; ih++) {
      for (let iw = 0; iw < H; iw++) {
        const want = ih % 2 === 0 || iw % 2 === 0 ? 0 : round(1.5 * dy[((ih + 1) / 2) * OH + (iw + 1) / 2]!);
        if (dx[ih * H + iw] !== want) bad++;
      }
    }
    expect(bad).toBe(0);
  },
);

describe('float32 conv2d on the JavaScript engine (GRADLENS_CPU_GEMM=js: packers in JavaScript, not staged in wasm)', () => {
  let prev: PanelEngine | null = null;
  beforeAll(() => {
    prev = setFloat32Engine(null);
  });
  afterAll(() => {
    setFloat32Engine(prev);
  });

  test('edge cases, tiny GEMM blocks and random geometries match the naive loops', () => {
    const rand = seededRandom(15);
    for (const g of EDGES) check(Float32Array, g, rand, 8e-5, true);
    const blocking = setGemmBlocking({ kc: 5, mc: 7, bBlock: 40, ncMax: 20 });
    try {
      for (let t = 0; t < 40; t++) check(Float32Array, randomGeometry(rand), rand, 2e-5, rand() < 0.5);
    } finally {
      setGemmBlocking(blocking);
    }
  });
});

test('float32 results are bit-identical on the wasm engine with staged packers and with JavaScript packers feeding it', () => {
  // Same engine, same GEMM order: only where the packing runs differs, so every bit must agree.
  const engine = createWasmFloat32Engine();
  const jsPackers: PanelEngine = { ...engine, staging: undefined, name: engine.name, mr: engine.mr, nr: engine.nr };
  const rand = seededRandom(16);
  for (const g of [...EDGES, ...BIG.slice(0, 2)]) {
    const x = randomFloats(Float32Array, g.batch * g.inChannels * g.inHeight * g.inWidth, rand);
    const w = randomFloats(Float32Array, g.outChannels * (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth, rand);
    const b = randomFloats(Float32Array, g.outChannels, rand);
    const dy = randomFloats(Float32Array, g.batch * g.outChannels * g.outHeight * g.outWidth, rand);
    const run = (e: PanelEngine): Float32Array[] => {
      const prev = setFloat32Engine(e);
      try {
        const out = new Float32Array(dy.length),
          dx = new Float32Array(x.length),
          dw = new Float32Array(w.length);
        conv2dForward(x, w, b, g, out);
        conv2dBackwardInput(dy, w, g, dx);
        conv2dBackwardWeight(x, dy, g, dw);
        return [out, dx, dw];
      } finally {
        setFloat32Engine(prev);
      }
    };
    const staged = run(engine),
      plain = run(jsPackers);
    for (let k = 0; k < 3; k++) expect(Array.from(staged[k]!)).toEqual(Array.from(plain[k]!));
  }
});
