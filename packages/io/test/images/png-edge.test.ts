/**
 * Tiny and very wide PNGs (scripts/make-png-edge-fixtures.py): 1x1, 1x9 and 9x1 under Adam7 (most passes
 * empty), 2x2000 palette pictures with tRNS, a 1x3000 16-bit row. Decoding is exact: the SHA-256 of our
 * RGBA (8 bits and less) equals that of PIL's convert('RGBA'), and 16-bit samples equal the encoded ones.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readImage, toRgba } from '../../src/images';
import { FIXTURES, loadJson } from './helpers';

interface Digest {
  dtype: string;
  shape: number[];
  sha256: string;
}
const cases = loadJson<Record<string, { mode: string; rgba?: Digest; samples?: Digest }>>('png-edge', 'expected.json');
const sha = (data: ArrayBufferView): string =>
  createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');

describe('tiny and very wide PNGs decode exactly as PIL does', () => {
  it('covers 1x1 under Adam7, one-row and one-column pictures, and rows of 2000 and 3000 pixels', () => {
    const names = Object.keys(cases);
    expect(names.filter((n) => n.startsWith('1x1_') && n.endsWith('_adam7')).length).toBeGreaterThanOrEqual(4);
    expect(names.some((n) => /^9x1_/.test(n)) && names.some((n) => /^1x9_/.test(n))).toBe(true);
    expect(names.filter((n) => /x(2000|3000)_/.test(n)).length).toBe(3);
    expect(fs.readdirSync(path.join(FIXTURES, 'png-edge')).filter((f) => f.endsWith('.png')).length).toBe(names.length);
  });

  it.each(Object.keys(cases))('%s', (name) => {
    const c = cases[name]!;
    const img = readImage(path.join(FIXTURES, 'png-edge', `${name}.png`));
    const [h, w] = /^(\d+)x(\d+)_/.exec(name)!.slice(1).map(Number);
    expect([img.height, img.width]).toEqual([h, w]);
    if (c.samples) {
      expect(img.bitDepth).toBe(16);
      expect([img.height, img.width, img.channels]).toEqual(c.samples.shape);
      expect(sha(img.data)).toBe(c.samples.sha256); // little-endian uint16, as the fixture script hashes them
    } else {
      const rgba = toRgba(img);
      expect([rgba.height, rgba.width, 4]).toEqual(c.rgba!.shape);
      expect(sha(rgba.data)).toBe(c.rgba!.sha256);
    }
  });
});
