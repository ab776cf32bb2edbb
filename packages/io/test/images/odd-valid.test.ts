/**
 * Odd but valid pictures (scripts/make-odd-valid-fixtures.py) decode like PIL 9.4: progressive JPEGs that are
 * grayscale, carry restart markers, or carry an EXIF orientation; PNGs with every common ancillary chunk and
 * one-byte IDAT chunks, and Adam7 pictures of 16-bit grey+alpha, 2-bit palette with tRNS, 1-bit grey with tRNS.
 * PNG decoding is exact (the 1-bit tRNS picture against the PNG spec's pixels: PIL 9.4 ignores that tRNS); jpeg-js
 * and libjpeg differ by at most 3 levels without chroma subsampling.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readImage, toRgba } from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, loadJson, maxAbsDiff, u16, u8 } from './helpers';

const cases = loadJson<Record<string, { mode: string; pil: FixtureArray }>>('odd', 'expected.json');

describe('odd but valid pictures decode like PIL', () => {
  it('has the variants it claims', () => {
    const bytes = (n: string): Buffer => fs.readFileSync(path.join(FIXTURES, 'odd', n));
    const has = (b: Buffer, s: number[] | string): boolean => b.includes(typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));
    expect([
      has(bytes('prog_restart.jpg'), [0xff, 0xc2]),
      has(bytes('prog_restart.jpg'), [0xff, 0xdd]),
      has(bytes('prog_restart.jpg'), [0xff, 0xd0]),
    ]).toEqual([true, true, true]);
    expect([has(bytes('prog_exif6.jpg'), [0xff, 0xc2]), has(bytes('prog_exif6.jpg'), 'Exif\0\0')]).toEqual([true, true]);
    const png = bytes('ancillary_many_idat.png');
    for (const kind of ['tEXt', 'zTXt', 'iTXt', 'iCCP', 'gAMA', 'pHYs', 'tIME']) expect(has(png, kind)).toBe(true);
    expect(png.toString('latin1').split('IDAT').length - 1).toBeGreaterThan(100);
    expect(Object.keys(cases)).toHaveLength(7);
  });

  it.each(Object.keys(cases))('%s', (name) => {
    const c = cases[name]!;
    const img = readImage(path.join(FIXTURES, 'odd', name));
    const shape = c.pil.shape;
    if (c.mode === 'samples') {
      // 16-bit samples, compared exactly
      expect([img.height, img.width, img.channels, img.bitDepth]).toEqual([shape[0], shape[1], shape[2], 16]);
      expect(Array.from(img.data)).toEqual(Array.from(u16(c.pil)));
    } else if (c.mode === 'RGBA') {
      const rgba = toRgba(img);
      expect([rgba.height, rgba.width]).toEqual([shape[0], shape[1]]);
      expect(Array.from(rgba.data)).toEqual(Array.from(u8(c.pil)));
    } else {
      expect([img.height, img.width, img.channels]).toEqual([shape[0], shape[1], shape[2] ?? 1]);
      const want = u8(c.pil);
      if (name.endsWith('.png')) expect(Array.from(img.data)).toEqual(Array.from(want));
      else expect(maxAbsDiff(img.data, want)).toBeLessThanOrEqual(3);
    }
  });
});
