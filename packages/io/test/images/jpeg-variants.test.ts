/**
 * Valid but unusual JPEGs (scripts/make-jpeg-variant-fixtures.py): restart markers, RGB stored without
 * a colour transform, Adobe CMYK and YCCK, 1x1 and 3000x2, compared with PIL 9.4's decoded pixels
 * (convert('RGB') for CMYK, mode L for grayscale). jpeg-js and libjpeg use different IDCTs: without
 * chroma subsampling they agree within 3 levels (measured: 0-3), the bound asserted here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeImage, readImage } from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, loadJson, maxAbsDiff, u8 } from './helpers';

const cases = loadJson<Record<string, { pil: FixtureArray; mode: string }>>('jpeg-variants', 'expected.json');
const file = (n: string): string => path.join(FIXTURES, 'jpeg-variants', `${n}.jpg`);

describe('unusual JPEGs decode like PIL', () => {
  it.each(Object.keys(cases))('%s', (name) => {
    const c = cases[name]!;
    const img = readImage(file(name));
    const [h, w] = c.pil.shape;
    expect([img.height, img.width, img.channels]).toEqual([h, w, c.pil.shape[2] ?? 1]);
    expect(maxAbsDiff(img.data, u8(c.pil))).toBeLessThanOrEqual(3);
  });

  it('has the variants it claims: restart markers, Adobe transforms, RGB component ids', () => {
    const bytes = (n: string): Buffer => fs.readFileSync(file(n));
    const has = (b: Buffer, marker: number): boolean => b.includes(Buffer.from([0xff, marker]));
    expect([has(bytes('restart1'), 0xdd), has(bytes('restart1'), 0xd7), has(bytes('restart3'), 0xd2)]).toEqual([true, true, true]); // RST7 wraps to RST0
    const adobe = (n: string): number => {
      const b = bytes(n);
      return b[b.indexOf('Adobe') + 11] ?? -1;
    };
    expect([adobe('adobe_rgb'), adobe('adobe_cmyk'), adobe('adobe_ycck')]).toEqual([0, 0, 2]);
    expect(bytes('rgb_ids').includes('Adobe') || bytes('rgb_ids').includes('JFIF')).toBe(false);
    expect([cases.adobe_cmyk?.mode, cases.adobe_ycck?.mode]).toEqual(['CMYK', 'CMYK']);
  });
});

describe('unsupported JPEG variants are named in one line', () => {
  const base = fs.readFileSync(file('adobe_cmyk'));
  const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
  const edit = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(base);
    f(b);
    return b;
  };
  it.each([
    ['12-bit samples', edit((b) => (b[sof + 4] = 12)), /^v\.jpg: unsupported JPEG: 12-bit samples/],
    [
      'arithmetic coding',
      edit((b) => (b[sof + 1] = 0xc9)),
      /^v\.jpg: unsupported JPEG coding: arithmetic-coded sequential \(SOF marker 0xc9\)/,
    ],
    [
      'CMYK without an Adobe marker',
      edit((b) => b.write('Xdobe', b.indexOf('Adobe'), 'latin1')),
      /^v\.jpg: unsupported JPEG: 4 components \(CMYK\) without an Adobe APP14 marker/,
    ],
    ['two components', twoComponents(base, sof), /^v\.jpg: unsupported JPEG: 2 colour components/],
    // the component count alone changed: the frame header's length no longer matches it
    [
      'a frame header of the wrong length',
      edit((b) => (b[sof + 9] = 2)),
      /^v\.jpg: corrupt JPEG \(a frame header of 18 bytes for 2 components\)/,
    ],
  ])('%s', (_what, bytes, message) => {
    expect(() => decodeImage(bytes, 'v.jpg')).toThrow(message);
    try {
      decodeImage(bytes, 'v.jpg');
    } catch (err) {
      expect((err as Error).constructor).toBe(Error);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });
});

/** `jpeg` (one scan of all its components) cut down to its first two components in the frame and the scan. */
function twoComponents(jpeg: Buffer, sof: number): Buffer {
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const nf = jpeg[sof + 9]!;
  const ns = jpeg[sos + 4]!;
  const frame = Buffer.from(jpeg.subarray(sof, sof + 10 + 6));
  frame.writeUInt16BE(8 + 6, 2);
  frame[9] = 2;
  const scan = Buffer.concat([jpeg.subarray(sos, sos + 5 + 4), jpeg.subarray(sos + 5 + 2 * ns, sos + 8 + 2 * ns)]);
  scan.writeUInt16BE(6 + 4, 2);
  scan[4] = 2;
  return Buffer.concat([jpeg.subarray(0, sof), frame, jpeg.subarray(sof + 10 + 3 * nf, sos), scan, jpeg.subarray(sos + 8 + 2 * ns)]);
}
