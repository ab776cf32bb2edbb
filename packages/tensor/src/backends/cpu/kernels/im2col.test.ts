import { packPanels, padInput, pixelOffsets, pixelRuns, scatterAdd, tapOffsets } from './im2col';
import { createWasmFloat32Engine } from './wasm-gemm';
import { stridedA } from './gemm';
import type { Conv2dGeometry } from './types';

const G: Conv2dGeometry = {
  batch: 2,
  inChannels: 3,
  inHeight: 5,
  inWidth: 4,
  outChannels: 2,
  kernelHeight: 3,
  kernelWidth: 2,
  strideH: 2,
  strideW: 1,
  padH: 1,
  padW: 2,
  dilationH: 2,
  dilationW: 1,
  groups: 1,
  outHeight: 2,
  outWidth: 7,
};

describe('im2col offset tables', () => {
  test('padInput puts x inside a zero border', () => {
    const x = Float32Array.from({ length: 2 * 3 * 5 * 4 }, (_, i) => i + 1);
    const p = padInput(x, G);
    expect([p.rowLen, p.planeLen]).toEqual([8, 56]);
    // Plane 4, row 3, column 2 of x sits at row 4, column 4 of the padded plane.
    expect(p.data[4 * 56 + 4 * 8 + 4]).toBe(x[4 * 20 + 3 * 4 + 2]);
    let sum = 0;
    for (const v of p.data.subarray(0, 6 * 56)) sum += v;
    expect(sum).toBe((x.length * (x.length + 1)) / 2);
  });

  test('tapOffsets and pixelOffsets address the padded input of each (tap, pixel)', () => {
    const p = { data: new Float32Array(0), rowLen: 8, planeLen: 56 };
    // Taps 4 .. 8: (ci 0, ky 2, kx 0), (0, 2, 1), (1, 0, 0), (1, 0, 1), (1, 1, 0).
    expect(Array.from(tapOffsets(new Int32Array(5), G, p, 4, 5))).toEqual([32, 33, 56, 57, 72]);
    // Pixels 12 .. 15 cross from image 0 (OH·OW = 14) into image 1: (n, oh, ow) = (0,1,5) (0,1,6) (1,0,0) (1,0,1).
    const t = pixelOffsets(new Int32Array(4), G, 12, 4, 100, 3 * 56, 2 * 8, 1);
    expect(Array.from(t)).toEqual([100 + 16 + 5, 100 + 16 + 6, 100 + 168, 100 + 168 + 1]);
  });

  test('pixelRuns splits pixels at output-row and image ends', () => {
    const t = new Int32Array(12);
    const runs = pixelRuns(t, G, 5, 17, 0, 1000, 10, 2);
    expect(runs).toBe(4);
    // (first column, length, offset): row (0,0) from ow 5, row (0,1), row (1,0), row (1,1) up to ow 0.
    expect(Array.from(t.subarray(0, 12))).toEqual([0, 2, 10, 2, 7, 10, 9, 7, 1000, 16, 1, 1010]);
  });

  test.each([8, 6, 4, 3])('packPanels writes the panel layout with zero padding (nr = %i)', (nr) => {
    const src = Float64Array.from({ length: 1000 }, (_, i) => i);
    const depth = Int32Array.from([0, 100, 300]);
    const across = Int32Array.from({ length: 11 }, (_, j) => 2 * j + 1);
    const panels = Math.ceil(11 / nr);
    const dst = new Float64Array(panels * 3 * nr + 2).fill(NaN);
    packPanels(src, depth, 3, across, 11, dst, 2, nr);
    for (let s = 0; s < panels; s++) {
      for (let p = 0; p < 3; p++) {
        for (let jj = 0; jj < nr; jj++) {
          const j = s * nr + jj;
          expect(dst[2 + s * 3 * nr + p * nr + jj]).toBe(j < 11 ? depth[p]! + across[j]! : 0);
        }
      }
    }
    expect(Number.isNaN(dst[0]!) && Number.isNaN(dst[1]!)).toBe(true);
  });
});

describe('the wasm engine staging region and its packers', () => {
  const engine = createWasmFloat32Engine();
  const st = engine.staging!;

  test.each([8, 6, 4, 3])('staged packPanels matches the JavaScript one (nr = %i, partial last panel)', (nr) => {
    // Layout: depth table at 0 (3 ints), across table at 16 (11 ints), src at 32.
    const src = Float32Array.from({ length: 400 }, (_, i) => i * 0.5 - 7);
    const depth = Int32Array.from([0, 100, 300]);
    const across = Int32Array.from({ length: 11 }, (_, j) => 7 * j + 1);
    const panels = Math.ceil(11 / nr);
    const expected = new Float32Array(panels * 3 * nr + 5);
    packPanels(src, depth, 3, across, 11, expected, 5, nr);
    st.reserve(32 + src.length).set(src, 32);
    st.ints().set(depth, 0);
    st.ints().set(across, 16);
    const { b } = engine.buffers(1, expected.length, 1);
    b.fill(NaN);
    st.packPanels(32, 0, 3, 16, 11, b, 5, nr);
    expect(Array.from(b.subarray(5, expected.length))).toEqual(Array.from(expected.subarray(5)));
    expect(Number.isNaN(b[4]!)).toBe(true);
  });

  test.each([1, 2])('staged scatterAdd matches the JavaScript one (column step %i)', (colStep) => {
    const g: Conv2dGeometry = { ...G, outWidth: 5, outHeight: 3 };
    const runs = new Int32Array(30);
    const nRuns = pixelRuns(runs, g, 2, 11, 0, 60, 12, colStep);
    const down = Int32Array.from([0, 1, 13, 40]);
    const c = Float32Array.from({ length: 4 * 16 }, (_, i) => Math.sin(i) * 3);
    const expected = Float32Array.from({ length: 200 }, (_, i) => i / 7);
    const dst0 = Float32Array.from(expected);
    scatterAdd(expected, down, 4, runs, nRuns, colStep, c, 16);
    // Layout: down at 0, runs at 16, dst at 64.
    const staged = st.reserve(64 + dst0.length);
    staged.set(dst0, 64);
    st.ints().set(down, 0);
    st.ints().set(runs.subarray(0, 3 * nRuns), 16);
    const ws = engine.buffers(1, 1, c.length).c;
    ws.set(c);
    st.scatterAdd(64, 0, 4, 16, nRuns, colStep, ws, 16, 1, 2); // rows are taps 1–4 of 2 per channel: 3 channels
    expect(Array.from(st.floats().subarray(64, 264))).toEqual(Array.from(expected));
  });

  test.each([
    [17, 1],
    [1, 23],
  ])('staged packA matches stridedA (row step %i, column step %i; rows 11 = whole panels and a partial one)', (rs, cs) => {
    const src = Float32Array.from({ length: 400 }, (_, i) => i * 0.25 - 9);
    const mr = engine.mr;
    const rows = 11,
      kc = 5,
      i0 = 2,
      p0 = 3;
    const panels = Math.ceil(rows / mr);
    const expected = new Float32Array(panels * kc * mr + 3);
    stridedA(src, 7, rs, cs).pack(expected, 3, i0, rows, p0, kc, mr);
    st.reserve(16 + src.length).set(src, 16);
    const { a } = engine.buffers(expected.length, 1, 1);
    a.fill(NaN);
    st.packA(st.address(16 + 7), rs, cs, i0, rows, p0, kc, a, 3, mr);
    expect(Array.from(a.subarray(3, expected.length))).toEqual(Array.from(expected.subarray(3)));
    expect(Number.isNaN(a[2]!)).toBe(true);
    expect(() => st.packA(st.address(16), rs, cs, i0, rows, p0, kc, a, 3, mr + 2)).toThrow(
      new RegExp(`A panels of ${mr + 2} rows asked, the module packs ${mr}`),
    );
  });

  test('staged data survives the memory growing under it, and foreign arrays are refused', () => {
    st.reserve(100).fill(3.5);
    const before = st.floats().length;
    engine.buffers(1 << 20, 1 << 20, 1 << 20); // grows the memory by megabytes
    expect(st.floats().length).toBe(before);
    expect(Array.from(st.floats().subarray(0, 100))).toEqual(new Array(100).fill(3.5));
    expect(() => st.packPanels(0, 0, 1, 0, 1, new Float32Array(8), 0, 8)).toThrow(/not in the module memory/);
  });
});
