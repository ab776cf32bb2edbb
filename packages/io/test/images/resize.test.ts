import * as path from 'path';
import type { RasterImage8, ResizeFilter } from '../../src/images';
import { readImage, resizeFloat, resizeImage, toRgb } from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, f32, loadJson, maxAbsDiff, u8 } from './helpers';

interface U8Case {
  filter: ResizeFilter;
  mode: 'RGB' | 'L' | 'RGBA' | 'LA';
  width: number;
  height: number;
  expected: FixtureArray;
}
interface F32Case {
  filter: ResizeFilter;
  width: number;
  height: number;
  expected: FixtureArray;
}
const fx = loadJson<{ u8: U8Case[]; f32: { source: FixtureArray; cases: F32Case[] }; L: FixtureArray; LA: FixtureArray }>(
  'resize',
  'expected.json',
);

const rgb = toRgb(readImage(path.join(FIXTURES, 'resize', 'source.png')));
const rgba = readImage(path.join(FIXTURES, 'resize', 'source_rgba.png')) as RasterImage8;
const sources: Record<U8Case['mode'], RasterImage8> = {
  RGB: rgb,
  RGBA: rgba,
  L: { width: rgb.width, height: rgb.height, channels: 1, bitDepth: 8, data: u8(fx.L) },
  LA: { width: rgb.width, height: rgb.height, channels: 2, bitDepth: 8, data: u8(fx.LA) },
};

describe("resizeImage equals PIL's Image.resize", () => {
  it('has fixtures for every filter, down and up, and every mode', () => {
    const seen = new Set(fx.u8.map((c) => `${c.filter}/${c.mode}`));
    for (const f of ['bilinear', 'lanczos', 'bicubic']) for (const m of ['RGB', 'L', 'RGBA', 'LA']) expect(seen).toContain(`${f}/${m}`);
    for (const f of ['nearest', 'box', 'hamming']) expect(seen).toContain(`${f}/RGB`);
    expect(fx.u8.some((c) => c.width > rgb.width && c.height > rgb.height)).toBe(true);
    expect(fx.u8.some((c) => c.width < rgb.width && c.height < rgb.height)).toBe(true);
  });

  // Measured: max difference 0 on every case (the same fixed-point arithmetic as PIL 9.4), so the
  // tests demand equality rather than the 1-level slack PIL's rounding might have needed.
  it.each(fx.u8.map((c) => [`${c.filter} ${c.mode} ${rgb.width}x${rgb.height} -> ${c.width}x${c.height}`, c] as const))('%s', (_, c) => {
    const out = resizeImage(sources[c.mode], c.width, c.height, c.filter);
    expect([out.height, out.width, out.channels]).toEqual([c.expected.shape[0], c.expected.shape[1], c.expected.shape[2] ?? 1]);
    expect(maxAbsDiff(out.data, u8(c.expected))).toBe(0);
  });
});

describe("resizeFloat equals PIL's mode 'F' resize", () => {
  const src = f32(fx.f32.source);
  const [h, w] = fx.f32.source.shape as [number, number];
  it.each(fx.f32.cases.map((c) => [`${c.filter} ${w}x${h} -> ${c.width}x${c.height}`, c] as const))('%s', (_, c) => {
    const out = resizeFloat(src, w, h, c.width, c.height, c.filter);
    const want = f32(c.expected);
    // float32 storage, double sums in PIL's order: measured identical to the last bit
    expect(maxAbsDiff(out, want)).toBe(0);
  });
});

describe('resize details', () => {
  it('same size is a copy, not the same buffer', () => {
    const out = resizeImage(rgb, rgb.width, rgb.height, 'lanczos');
    expect(out.data).toEqual(rgb.data);
    expect(out.data).not.toBe(rgb.data);
  });

  it('refuses 16-bit images, bad sizes and unknown filters with a clear message', () => {
    const img16 = { width: 2, height: 2, channels: 1 as const, bitDepth: 16 as const, data: new Uint16Array(4) };
    expect(() => resizeImage(img16, 4, 4)).toThrow(/8-bit image; convert 16-bit images with to8Bit/);
    expect(() => resizeImage(rgb, 0, 4)).toThrow(/positive integers, got 0 x 4/);
    // more pixels than a decoded picture may have: refused before anything is allocated
    expect(() => resizeImage(rgb, 100000, 100000)).toThrow(/resizeImage: 100000 x 100000 = 10000000000 pixels, over the limit of \d+/);
    expect(() => resizeImage(rgb, 4, 4, 'cubic' as ResizeFilter)).toThrow(/unknown filter "cubic"/);
    expect(() => resizeFloat(new Float32Array(5), 2, 2, 4, 4)).toThrow(/2x2 map needs 4 values, got 5/);
  });

  it('a constant image stays constant with every filter (weights sum to one)', () => {
    const flat: RasterImage8 = { width: 37, height: 23, channels: 3, bitDepth: 8, data: new Uint8Array(37 * 23 * 3).fill(201) };
    for (const f of ['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos'] as const) {
      for (const [w, h] of [
        [11, 7],
        [80, 51],
        [37, 5],
      ] as const) {
        expect(resizeImage(flat, w, h, f).data.every((v) => v === 201)).toBe(true);
      }
    }
  });

  it('resizes a 1000x1000 RGB image in tens of milliseconds', () => {
    const big: RasterImage8 = { width: 1000, height: 1000, channels: 3, bitDepth: 8, data: new Uint8Array(3e6) };
    for (let i = 0; i < big.data.length; i++) big.data[i] = (i * 7919) & 255;
    resizeImage(big, 224, 224, 'bilinear'); // warm-up (JIT)
    const times: Record<string, number> = {};
    for (const [f, w, h] of [
      ['bilinear', 224, 224],
      ['lanczos', 224, 224],
      ['bilinear', 1500, 1500],
    ] as const) {
      const t0 = performance.now();
      resizeImage(big, w, h, f);
      times[`${f} ${w}`] = performance.now() - t0;
    }
    if (process.env.GRADLENS_PRINT_TIMES) console.log(times);
    // generous bounds for slow CI machines; locally these take about 15-120 ms
    expect(times['bilinear 224']).toBeLessThan(250);
    expect(times['lanczos 224']).toBeLessThan(400);
    expect(times['bilinear 1500']).toBeLessThan(1500);
  });
});
