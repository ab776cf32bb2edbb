import * as fs from 'fs';
import * as path from 'path';
import type { RasterImage } from '../../src/images';
import { decodePng, encodePng, readImage, toRgb, writeImage, createImage } from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, loadJson, tempDir, u16, u8 } from './helpers';

interface PngCase {
  expected: FixtureArray;
  bitDepth: 8 | 16;
  pilMode: string;
  pilRgb: FixtureArray;
}

const cases = loadJson<Record<string, PngCase>>('png', 'expected.json');
const names = Object.keys(cases);

describe('PNG decoding against the generated files', () => {
  it('covers every colour type, bit depth and interlace', () => {
    for (const n of [
      'gray1',
      'gray2',
      'gray4',
      'gray8',
      'gray16',
      'graya8',
      'graya16',
      'rgb8',
      'rgb16',
      'rgba8',
      'rgba16',
      'pal1',
      'pal2',
      'pal4',
      'pal8',
      'pal8_trns',
      'gray8_trns',
      'rgb8_trns',
      'rgb8_interlaced',
      'rgb16_interlaced',
      'rgba16_interlaced',
      'pal4_interlaced',
      'gray16_interlaced',
    ]) {
      expect(names).toContain(n);
    }
  });

  it.each(names)('%s decodes to the stored samples', (name) => {
    const c = cases[name];
    if (!c) throw new Error(name);
    const img = readImage(path.join(FIXTURES, 'png', `${name}.png`));
    const [h, w, ch] = c.expected.shape;
    expect([img.height, img.width, img.channels, img.bitDepth]).toEqual([h, w, ch, c.bitDepth]);
    const want = c.bitDepth === 16 ? u16(c.expected) : u8(c.expected);
    expect(img.data instanceof Uint16Array).toBe(c.bitDepth === 16);
    expect(Array.from(img.data)).toEqual(Array.from(want));
  });

  it.each(names)("%s: toRgb equals PIL's convert('RGB') (16-bit gray excepted: PIL clips it)", (name) => {
    const c = cases[name];
    if (!c) throw new Error(name);
    const rgb = toRgb(readImage(path.join(FIXTURES, 'png', `${name}.png`)));
    const pil = u8(c.pilRgb);
    if (name.startsWith('gray16')) {
      // PIL opens 16-bit gray as mode I and clips to 255 on conversion; we keep the high byte
      expect(c.pilMode).toMatch(/^I/);
      const src = u16(c.expected);
      const chans = c.expected.shape[2] ?? 1;
      for (let p = 0; p < rgb.width * rgb.height; p++) expect(rgb.data[p * 3]).toBe((src[p * chans] ?? 0) >> 8);
      return;
    }
    expect(Array.from(rgb.data)).toEqual(Array.from(pil));
  });
});

describe('PNG writing round trips', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  const samples = (channels: 1 | 2 | 3 | 4, bitDepth: 8 | 16): RasterImage => {
    const img = bitDepth === 16 ? createImage(7, 5, channels, 16) : createImage(7, 5, channels, 8);
    for (let i = 0; i < img.data.length; i++) img.data[i] = bitDepth === 16 ? (i * 2654435761) % 65536 : (i * 37) % 256;
    return img;
  };

  it.each([1, 2, 3, 4] as const)('%i channel(s), 8 and 16 bit, survive encode -> decode and writeImage -> readImage', (ch) => {
    for (const depth of [8, 16] as const) {
      const img = samples(ch, depth);
      const back = decodePng(encodePng(img));
      expect(back).toEqual(img);
      const file = path.join(dir, `rt_${ch}_${depth}.png`);
      writeImage(file, img);
      expect(readImage(file)).toEqual(img);
    }
  });

  it('re-encodes every fixture losslessly', () => {
    for (const name of names) {
      const img = readImage(path.join(FIXTURES, 'png', `${name}.png`));
      expect(decodePng(encodePng(img))).toEqual(img);
    }
  });

  it('writes a subarray view correctly (no stray bytes of the parent buffer)', () => {
    const parent = new Uint8Array(100).fill(9);
    const view = parent.subarray(10, 10 + 2 * 3 * 3);
    view.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
    const img = { width: 3, height: 2, channels: 3 as const, bitDepth: 8 as const, data: view };
    expect(Array.from(decodePng(encodePng(img)).data)).toEqual(Array.from(view));
  });

  it('refuses inconsistent images and non-.png names', () => {
    const bad = { width: 4, height: 4, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(10) };
    expect(() => encodePng(bad)).toThrow(/4x4x3 image needs 48 samples, got 10/);
    expect(() => writeImage(path.join(dir, 'x.jpg'), samples(3, 8))).toThrow(/only PNG can be written.*\.jpg/);
    expect(fs.existsSync(path.join(dir, 'x.jpg'))).toBe(false);
  });
});
