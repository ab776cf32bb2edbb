import * as path from 'path';
import type { RasterImage8 } from '../../src/images';
import { applyExifOrientation, decodeJpeg, readImage, readJpegOrientation } from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, loadJson, maxAbsDiff, u8 } from './helpers';
import { readFileSync } from 'fs';

interface JpegCase {
  pil: FixtureArray;
  pilOriented: FixtureArray;
  mode: string;
}

const cases = loadJson<Record<string, JpegCase>>('jpeg', 'expected.json');
const file = (n: string): string => path.join(FIXTURES, 'jpeg', `${n}.jpg`);

/*
 * jpeg-js and libjpeg (PIL 9.4) use different IDCTs, so pixels are not bit-identical; chroma upsampling and the
 * YCbCr conversion are libjpeg's own (jpeg-upsample.ts). Measured on these fixtures (24x16, quality 90): 4:4:4
 * colour and grayscale within 1 level, 4:2:0 (PIL's default) within 3 everywhere, hard colour edges included
 * (jpeg-js's own upsampling was up to 107 levels off there). jpeg-sampling.test.ts covers every other sampling.
 */
describe('JPEG decoding', () => {
  it.each(['baseline444', 'gray'])('%s is within 1 level of PIL/libjpeg', (name) => {
    const c = cases[name];
    if (!c) throw new Error(name);
    const img = readImage(file(name));
    expect([img.height, img.width, img.channels]).toEqual(c.pil.shape.length === 2 ? [...c.pil.shape, 1] : c.pil.shape);
    expect(img.bitDepth).toBe(8);
    expect(maxAbsDiff(img.data, u8(c.pil))).toBeLessThanOrEqual(1);
  });

  it.each(['baseline', 'progressive'])('%s (4:2:0) is within 3 levels of PIL/libjpeg, across colour edges too', (name) => {
    const c = cases[name];
    if (!c) throw new Error(name);
    const img = readImage(file(name));
    expect([img.height, img.width, img.channels]).toEqual(c.pil.shape);
    expect(maxAbsDiff(img.data, u8(c.pil))).toBeLessThanOrEqual(3);
  });

  it('reads a grayscale JPEG as one channel and the progressive file like the baseline one', () => {
    expect(readImage(file('gray')).channels).toBe(1);
    const b = readImage(file('baseline')).data as Uint8Array;
    const p = readImage(file('progressive')).data as Uint8Array;
    expect(maxAbsDiff(b, p)).toBeLessThanOrEqual(1);
  });
});

describe('EXIF orientation', () => {
  const upright = readImage(file('exif1_ii')) as RasterImage8;

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i (II and MM byte order) matches ImageOps.exif_transpose', (o) => {
    for (const order of ['ii', 'mm']) {
      const name = `exif${o}_${order}`;
      const c = cases[name];
      if (!c) throw new Error(name);
      const bytes = readFileSync(file(name));
      expect(readJpegOrientation(bytes, name)).toBe(o);
      const img = decodeJpeg(bytes, name);
      const [h, w] = c.pilOriented.shape;
      expect([img.height, img.width]).toEqual([h, w]);
      expect(maxAbsDiff(img.data, u8(c.pilOriented))).toBeLessThanOrEqual(1);
      // the oriented pixels are exactly our stored pixels moved, with nothing lost or blended
      const raw = decodeJpeg(bytes, name, { exifOrientation: false });
      expect([raw.width, raw.height]).toEqual([upright.width, upright.height]);
      expect(Array.from(raw.data)).toEqual(Array.from(upright.data));
    }
  });

  it('puts the red top-left quadrant where each orientation says', () => {
    // source: red top-left, green top-right, blue bottom-left, yellow bottom-right (24 x 16)
    const corner = (img: RasterImage8, x: number, y: number): string => {
      const i = (y * img.width + x) * 3;
      const [r, g, b] = [img.data[i] ?? 0, img.data[i + 1] ?? 0, img.data[i + 2] ?? 0];
      return r > 150 && g > 150 ? 'yellow' : r > 150 ? 'red' : g > 150 ? 'green' : b > 150 ? 'blue' : '?';
    };
    const topLeft: Record<number, string> = { 1: 'red', 2: 'green', 3: 'yellow', 4: 'blue', 5: 'red', 6: 'blue', 7: 'yellow', 8: 'green' };
    for (let o = 1; o <= 8; o++) {
      const img = readImage(file(`exif${o}_ii`)) as RasterImage8;
      expect(corner(img, 1, 1)).toBe(topLeft[o]);
      expect([img.width, img.height]).toEqual(o >= 5 ? [16, 24] : [24, 16]);
    }
  });

  it('applyExifOrientation and its inverse give back the image, for 16-bit data too', () => {
    const img = {
      width: 3,
      height: 2,
      channels: 2 as const,
      bitDepth: 16 as const,
      data: Uint16Array.from({ length: 12 }, (_, i) => i * 1000),
    };
    const inverse: Record<number, 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6 };
    for (let o = 1 as 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8; o <= 8; o++) {
      const t = applyExifOrientation(img, o);
      expect(t.data).toBeInstanceOf(Uint16Array);
      expect(applyExifOrientation(t, inverse[o] ?? 1)).toEqual(img);
    }
  });
});
