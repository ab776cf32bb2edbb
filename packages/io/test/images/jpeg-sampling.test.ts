/**
 * Every chroma sampling libjpeg reads (scripts/make-jpeg-sampling-fixtures.py: cjpeg's 4:2:0, 4:2:2, 4:4:0, 4:1:1,
 * 4:1:0, 4:4:4, chroma sampled above luma, mixed factors; odd sizes; planes 1–2 samples wide), against PIL 9.4's
 * decoded pixels. Upsampling and colour conversion are libjpeg's (jpeg-upsample.ts); what is left is the IDCT, which
 * differs between jpeg-js and libjpeg: measured at most 3 levels, 0.52 on average at worst (a 3x3 picture), 0.14–0.18
 * on the 37x29 ones. jpeg-js's own repeated chroma was 84–97 levels off at colour edges, 8–10 on average.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeJpeg, readImage } from '../../src/images';
import { planesRecoverable, upsamplingRatios } from '../../src/images/jpeg-upsample';
import type { FixtureArray } from './helpers';
import { FIXTURES, loadJson, maxAbsDiff, u8 } from './helpers';

const cases = loadJson<Record<string, { pil: FixtureArray; mode: string; sampling: string }>>('jpeg-sampling', 'expected.json');
const file = (n: string): string => path.join(FIXTURES, 'jpeg-sampling', `${n}.jpg`);

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

describe('JPEG chroma sampling decodes like PIL (libjpeg-turbo)', () => {
  it.each(Object.keys(cases))('%s', (name) => {
    const c = cases[name]!;
    const img = readImage(file(name));
    expect([img.height, img.width, img.channels]).toEqual(c.pil.shape);
    const want = u8(c.pil);
    expect(maxAbsDiff(img.data, want)).toBeLessThanOrEqual(3);
    expect(meanAbsDiff(img.data, want)).toBeLessThan(0.6);
  });

  it('has the sampling factors each file claims', () => {
    for (const [name, c] of Object.entries(cases)) {
      const b = fs.readFileSync(file(name));
      const sof = b.indexOf(Buffer.from([0xff, b.includes(Buffer.from([0xff, 0xc2])) ? 0xc2 : 0xc0]));
      const factors = [0, 1, 2].map((i) => `${(b[sof + 11 + 3 * i] ?? 0) >> 4}x${(b[sof + 11 + 3 * i] ?? 0) & 15}`);
      const claimed = c.sampling.includes(',') ? c.sampling : `${c.sampling},1x1,1x1`;
      expect(factors.join(',')).toBe(claimed);
    }
  });
});

describe('sampling factors libjpeg cannot read are refused in one line', () => {
  const base = fs.readFileSync(file('s420'));
  const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
  const withFactors = (...hv: number[]): Buffer => {
    const b = Buffer.from(base);
    hv.forEach((f, i) => (b[sof + 11 + 3 * i] = f));
    return b;
  };
  it.each([
    [
      'fractional (3x2 luma, 2x1 chroma)',
      withFactors(0x32, 0x21, 0x11),
      /^f\.jpg: unsupported JPEG: fractional chroma sampling \(3x2,2x1,1x1\)/,
    ],
    ['a zero factor', withFactors(0x22, 0x10, 0x11), /^f\.jpg: corrupt JPEG \(component 2 has sampling factors 1x0; each must be 1 to 4\)/],
    ['a factor over 4', withFactors(0x52, 0x11, 0x11), /^f\.jpg: corrupt JPEG \(component 1 has sampling factors 5x2/],
  ])('%s', (_what, bytes, message) => {
    expect(() => decodeJpeg(bytes, 'f.jpg')).toThrow(message);
  });
});

describe('upsampling ratios', () => {
  it('are whole numbers or null, and exact to read back only at 1, 2 and 4', () => {
    expect(
      upsamplingRatios([
        { h: 2, v: 2 },
        { h: 1, v: 1 },
        { h: 1, v: 2 },
      ]),
    ).toEqual([
      { hf: 1, vf: 1 },
      { hf: 2, vf: 2 },
      { hf: 2, vf: 1 },
    ]);
    expect(
      upsamplingRatios([
        { h: 3, v: 1 },
        { h: 2, v: 1 },
      ]),
    ).toBeNull();
    expect(
      planesRecoverable([
        { h: 4, v: 2 },
        { h: 1, v: 1 },
        { h: 1, v: 1 },
      ]),
    ).toBe(true);
    expect(
      planesRecoverable([
        { h: 3, v: 1 },
        { h: 1, v: 1 },
        { h: 1, v: 1 },
      ]),
    ).toBe(false);
  });
});
