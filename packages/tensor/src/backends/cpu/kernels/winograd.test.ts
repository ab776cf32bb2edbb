import { conv2dBackwardInput, conv2dForward } from './conv2d';
import { maxRelError, randomFloats, refConv2dBackwardInput, refConv2dForward, seededRandom } from './reference';
import type { Conv2dGeometry } from './types';
import {
  chooseTile,
  setWinograd,
  setWinogradChunkFloats,
  setWinogradGroupFloats,
  setWinogradTile,
  useWinograd,
  type WinogradTile,
} from './winograd';

function geometry(batch: number, cin: number, cout: number, h: number, w: number, padH: number, padW: number): Conv2dGeometry {
  return {
    batch,
    inChannels: cin,
    inHeight: h,
    inWidth: w,
    outChannels: cout,
    kernelHeight: 3,
    kernelWidth: 3,
    strideH: 1,
    strideW: 1,
    padH,
    padW,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    outHeight: h + 2 * padH - 2,
    outWidth: w + 2 * padW - 2,
  };
}

/**
 * Odd and even sizes (partial tiles), every padding backward-input can take, batches, 1-pixel outputs; 512 input
 * channels split the products' 262 output rows into two blocks of U (gemm_f32.c's wino_row_block: 256 rows there).
 */
const CASES: Conv2dGeometry[] = [
  geometry(1, 64, 64, 32, 32, 1, 1),
  geometry(2, 65, 70, 23, 25, 1, 1),
  geometry(6, 64, 67, 16, 13, 0, 2),
  geometry(300, 66, 64, 3, 3, 0, 0),
  geometry(300, 64, 72, 1, 2, 1, 1),
  geometry(1, 256, 128, 14, 14, 2, 1),
  geometry(1, 512, 262, 6, 5, 1, 1),
];

/** Winograd's and im2col's result for one direction, with their errors against the float64 reference. */
function both(run: (on: boolean) => Float32Array, ref: Float64Array): { wino: number; direct: number } {
  return { wino: maxRelError(run(true), ref), direct: maxRelError(run(false), ref) };
}

/**
 * Error bounds against float64, relative to im2col's own error and absolute. F(2×2)'s transforms add and halve;
 * F(4×4)'s multiply by up to 8, and measured 3–7× im2col's error here (max 4.7e-5, at 256 channels; 10–30× with
 * the points 0, ±1, ±2 and whole-depth sums).
 */
const BOUNDS: Record<WinogradTile, { timesDirect: number; floor: number; max: number }> = {
  2: { timesDirect: 8, floor: 2e-6, max: 3e-5 },
  4: { timesDirect: 10, floor: 1e-5, max: 6e-5 },
};

describe.each([
  { tile: 2 as const, name: 'F(2×2, 3×3)' },
  { tile: 4 as const, name: 'F(4×4, 3×3)' },
])('Winograd $name', ({ tile }) => {
  const defaultChunk = setWinogradChunkFloats(1 << 23);
  beforeEach(() => setWinogradTile(tile));
  afterEach(() => {
    setWinograd(true);
    setWinogradTile(null);
    setWinogradChunkFloats(defaultChunk);
  });

  const chunked = [false, true];
  test.each(
    CASES.flatMap((g) =>
      chunked.map(
        (c) =>
          [
            `${g.batch}×${g.inChannels}→${g.outChannels} ${g.inHeight}×${g.inWidth} pad ${g.padH},${g.padW}${c ? ', 24 tiles a chunk' : ''}`,
            g,
            c,
          ] as const,
      ),
    ),
  )('%s: forward and backward-input match float64 within a few times im2col', (_label, g, small) => {
    // small chunks: tiles split across passes over V and M, the last one partial
    if (small) setWinogradChunkFloats(24 * (tile + 2) ** 2 * (g.inChannels + g.outChannels));
    const rand = seededRandom(g.inHeight * 131 + g.inChannels);
    const x = randomFloats(Float32Array, g.batch * g.inChannels * g.inHeight * g.inWidth, rand) as Float32Array;
    const w = randomFloats(Float32Array, g.outChannels * g.inChannels * 9, rand) as Float32Array;
    const b = randomFloats(Float32Array, g.outChannels, rand) as Float32Array;
    const dy = randomFloats(Float32Array, g.batch * g.outChannels * g.outHeight * g.outWidth, rand) as Float32Array;
    expect(useWinograd(g, new Float32Array(0))).toBe(true);

    const fwd = both(
      (on) => {
        setWinograd(on);
        const out = new Float32Array(dy.length).fill(NaN);
        conv2dForward(x, w, b, g, out);
        return out;
      },
      refConv2dForward(x, w, b, g),
    );
    const bwd = both(
      (on) => {
        setWinograd(on);
        const dx = new Float32Array(x.length).fill(NaN);
        conv2dBackwardInput(dy, w, g, dx);
        return dx;
      },
      refConv2dBackwardInput(dy, w, g),
    );
    // float32 sums of Cin·9 products; Winograd's transforms add a few roundings per term
    const bound = BOUNDS[tile];
    for (const e of [fwd, bwd]) {
      expect(e.wino).toBeLessThan(Math.max(bound.timesDirect * e.direct, bound.floor));
      expect(e.wino).toBeLessThan(bound.max);
    }
  });

  test('the switch and the cases it leaves to im2col', () => {
    const g = geometry(1, 64, 64, 32, 32, 1, 1);
    expect(useWinograd(g, new Float64Array(0))).toBe(false); // float64 data
    expect(useWinograd({ ...g, strideH: 2 }, new Float32Array(0))).toBe(false);
    expect(useWinograd({ ...g, dilationW: 2 }, new Float32Array(0))).toBe(false);
    expect(useWinograd({ ...g, inChannels: 3 }, new Float32Array(0))).toBe(false); // too thin to pay
    expect(useWinograd({ ...g, outChannels: 8 }, new Float32Array(0))).toBe(false);
    expect(useWinograd({ ...g, outHeight: 7, outWidth: 7 }, new Float32Array(0))).toBe(true); // 16 tiles of 64→64 pay
    expect(useWinograd({ ...g, outHeight: 2, outWidth: 4 }, new Float32Array(0))).toBe(false); // 2 tiles: too few
    const thin = { ...g, inChannels: 32, outChannels: 32 };
    expect(useWinograd({ ...thin, outHeight: 16, outWidth: 16 }, new Float32Array(0))).toBe(true); // 64 tiles of 32→32
    expect(useWinograd({ ...thin, outHeight: 14, outWidth: 14 }, new Float32Array(0))).toBe(false); // 49: too little work
    expect(setWinograd(false)).toBe(true);
    expect(useWinograd(g, new Float32Array(0))).toBe(false);
  });
});

test('F(4×4) where there are at least 16 of its tiles, unless a size is forced', () => {
  expect(chooseTile(geometry(1, 64, 64, 32, 32, 1, 1))).toBe(4); // 64 tiles of 4×4
  expect(chooseTile(geometry(1, 256, 256, 14, 14, 1, 1))).toBe(4); // 16 tiles (14 pads to 16)
  expect(chooseTile(geometry(1, 64, 64, 12, 12, 1, 1))).toBe(2); // 9 tiles of 4×4, 36 of 2×2
  expect(setWinogradTile(2)).toBe(null);
  expect(chooseTile(geometry(1, 64, 64, 32, 32, 1, 1))).toBe(2);
  expect(() => setWinogradTile(3 as WinogradTile)).toThrow('setWinogradTile: expected 2, 4 or null, got 3');
  setWinogradTile(null);
});

test.each([2, 4] as const)(
  'Winograd with %i-wide output tiles: a batch staged in groups of images gives the bits of the batch staged whole',
  (tile) => {
    const g = geometry(7, 64, 66, 21, 19, 1, 1);
    const rand = seededRandom(77);
    const x = randomFloats(Float32Array, g.batch * g.inChannels * g.inHeight * g.inWidth, rand) as Float32Array;
    const w = randomFloats(Float32Array, g.outChannels * g.inChannels * 9, rand) as Float32Array;
    const b = randomFloats(Float32Array, g.outChannels, rand) as Float32Array;
    const dy = randomFloats(Float32Array, g.batch * g.outChannels * g.outHeight * g.outWidth, rand) as Float32Array;
    const run = (): [Float32Array, Float32Array] => {
      const out = new Float32Array(dy.length).fill(NaN),
        dx = new Float32Array(x.length).fill(NaN);
      conv2dForward(x, w, b, g, out);
      conv2dBackwardInput(dy, w, g, dx);
      return [out, dx];
    };
    const prevTile = setWinogradTile(tile);
    try {
      expect(useWinograd(g, new Float32Array(0))).toBe(true);
      const whole = run();
      const perImage = 64 * 21 * 19 + 66 * 21 * 19;
      const prev = setWinogradGroupFloats(3 * perImage); // groups of 3, 3 and 1 images
      let grouped: [Float32Array, Float32Array];
      try {
        grouped = run();
      } finally {
        setWinogradGroupFloats(prev);
      }
      for (let i = 0; i < 2; i++) expect(Buffer.from(grouped[i]!.buffer).equals(Buffer.from(whole[i]!.buffer))).toBe(true);
      expect(maxRelError(whole[0], refConv2dForward(x, w, b, g))).toBeLessThan(BOUNDS[tile].max);
    } finally {
      setWinogradTile(prevTile);
    }
  },
);
