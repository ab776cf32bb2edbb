import * as path from 'path';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  centerCrop,
  denormalize,
  imageToTensor,
  normalize,
  preprocessImageNet,
  readImage,
  recreateImage,
  resizeShorterSide,
  toRgb,
} from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, f32, loadJson, maxAbsDiff, u8 } from './helpers';

interface TvCase {
  resize: number;
  size: number;
  normalized: FixtureArray;
  unit?: FixtureArray;
}
const fx = loadJson<{ torchvision: TvCase[]; stretch24: FixtureArray; recreateIn: FixtureArray; recreateOut: FixtureArray }>(
  'preprocess',
  'expected.json',
);
const source = readImage(path.join(FIXTURES, 'resize', 'source.png')); // 41 x 31 RGB

describe('preprocessImageNet against torchvision (Resize, CenterCrop, ToTensor, Normalize)', () => {
  it.each(fx.torchvision.map((c) => [`Resize(${c.resize}) CenterCrop(${c.size})`, c] as const))('%s is bit-identical', (_, c) => {
    const t = preprocessImageNet(source, { size: c.size, resize: c.resize });
    expect(t.shape).toEqual(c.normalized.shape);
    expect(t.dtype).toBe('float32');
    // same uint8 pixels (PIL-exact resize), same float32 operations: measured difference 0
    expect(maxAbsDiff(t.data, f32(c.normalized))).toBe(0);
    if (c.unit) {
      const u = preprocessImageNet(source, { size: c.size, resize: c.resize, normalize: false });
      expect(maxAbsDiff(u.data, f32(c.unit))).toBe(0);
    }
  });

  it("resize: 'stretch' is the reference's preprocess_image (Lanczos to size x size)", () => {
    const t = preprocessImageNet(source, { size: 24, resize: 'stretch' });
    expect(t.shape).toEqual([3, 24, 24]);
    expect(maxAbsDiff(t.data, f32(fx.stretch24))).toBe(0);
  });

  it('defaults: 224 output after a 256 shorter side, batch dimension on request', () => {
    const t = preprocessImageNet(source, { batch: true });
    expect(t.shape).toEqual([1, 3, 224, 224]);
    const manual = normalize(imageToTensor(centerCrop(resizeShorterSide(toRgb(source), 256), 224)));
    expect(maxAbsDiff(t.data, manual.data)).toBe(0);
  });

  it("shorterSide sets the default rule's resize side and filter, and a picture already size x size is still fed as is", () => {
    const t = preprocessImageNet(source, { size: 20, shorterSide: 27, filter: 'bicubic', normalize: false });
    const manual = imageToTensor(centerCrop(resizeShorterSide(toRgb(source), 27, 'bicubic'), 20));
    expect(t.shape).toEqual([3, 20, 20]);
    expect(maxAbsDiff(t.data, manual.data)).toBe(0);
    // not the 256/224 rule's side (23) nor bilinear
    const bilinear = imageToTensor(centerCrop(resizeShorterSide(toRgb(source), 27), 20));
    expect(maxAbsDiff(t.data, bilinear.data)).toBeGreaterThan(0);
    const square = centerCrop(toRgb(source), 20);
    const same = preprocessImageNet(square, { size: 20, shorterSide: 27, filter: 'bicubic', normalize: false });
    expect(maxAbsDiff(same.data, imageToTensor(square).data)).toBe(0);
  });

  it.each([0, -3, 2.5, NaN])('shorterSide %p is refused in one line', (n) => {
    expect(() => preprocessImageNet(source, { size: 20, shorterSide: n })).toThrow(
      /^preprocessImageNet: shorterSide must be a positive integer, got/,
    );
  });

  it('accepts gray and 16-bit images (converted to 8-bit RGB first)', () => {
    const gray = readImage(path.join(FIXTURES, 'png', 'gray8.png'));
    const t = preprocessImageNet(gray, { size: 8, normalize: false, resize: false });
    const n = 64;
    for (let i = 0; i < n; i++) {
      expect(t.data[i]).toBe(t.data[n + i]);
      expect(t.data[i]).toBe(t.data[2 * n + i]);
    }
    const rgb16 = readImage(path.join(FIXTURES, 'png', 'rgb16.png'));
    expect(preprocessImageNet(rgb16, { size: 4 }).shape).toEqual([3, 4, 4]);
  });
});

describe('centerCrop follows torchvision', () => {
  const img = { width: 7, height: 4, channels: 1 as const, bitDepth: 8 as const, data: Uint8Array.from({ length: 28 }, (_, i) => i + 1) };
  it('rounds odd margins half to even', () => {
    // (7 - 4) / 2 = 1.5 -> 2; (4 - 1) / 2 = 1.5 -> 2
    expect(Array.from(centerCrop(img, 4, 1).data)).toEqual([17, 18, 19, 20]);
    // (7 - 2) / 2 = 2.5 -> 2
    expect(Array.from(centerCrop(img, 2, 4).data)).toEqual([3, 4, 10, 11, 17, 18, 24, 25]);
  });
  it('pads with zeros, the odd pixel on the right/bottom', () => {
    const out = centerCrop(img, 10, 5);
    // left pad (10 - 7) // 2 = 1, top pad (5 - 4) // 2 = 0
    expect(Array.from(out.data.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 0]);
    expect(Array.from(out.data.subarray(40, 50))).toEqual(new Array(10).fill(0));
  });
});

describe('normalisation and its inverse', () => {
  it("recreateImage is the reference's recreate_image (un-normalise, clip, x255, round half even)", () => {
    const t = { dtype: 'float32' as const, shape: fx.recreateIn.shape, data: f32(fx.recreateIn) };
    const img = recreateImage(t);
    expect([img.height, img.width, img.channels]).toEqual(fx.recreateOut.shape);
    expect(maxAbsDiff(img.data, u8(fx.recreateOut))).toBe(0);
    expect(recreateImage({ ...t, shape: [1, ...t.shape] }).data).toEqual(img.data);
  });

  it('recreateImage inverts preprocessImageNet on the pixels that survive the crop', () => {
    const rgb = toRgb(source);
    const t = preprocessImageNet(rgb, { size: 31, resize: false });
    const back = recreateImage(t);
    const crop = centerCrop(rgb, 31, 31);
    expect(maxAbsDiff(back.data, crop.data)).toBe(0);
  });

  it('denormalize undoes normalize to float32 rounding', () => {
    const t = imageToTensor(toRgb(source));
    expect(maxAbsDiff(denormalize(normalize(t)).data, t.data)).toBeLessThan(1e-6);
  });

  it('checks shapes and the number of mean/std values', () => {
    const t = imageToTensor(toRgb(source));
    expect(() => normalize(t, [0.5], [0.5])).toThrow(/3 channels but 1 mean\/std values/);
    expect(() => recreateImage({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) })).toThrow(
      /expected a \[3, H, W\].*got \[2, 3\]/,
    );
    expect(IMAGENET_MEAN).toEqual([0.485, 0.456, 0.406]);
    expect(IMAGENET_STD).toEqual([0.229, 0.224, 0.225]);
  });
});
