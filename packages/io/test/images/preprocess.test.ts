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
  preprocessFrame,
  recreateImage,
  resizeImage,
  resizeShorterSide,
  resizeToCover,
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

describe('non-square outputs (height × width)', () => {
  // a 30 × 17 picture with a gradient, so that every resize and crop offset shows
  const W = 30;
  const H = 17;
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + Math.floor(i / 90) * 13) % 256;
  const pic = { width: W, height: H, channels: 3 as const, bitDepth: 8 as const, data };

  test('resizeToCover: the binding side to its target, the other truncated; a square box is resizeShorterSide', () => {
    const wide = resizeToCover(pic, 10, 12);
    expect([wide.width, wide.height]).toEqual([Math.trunc((12 * 30) / 17), 12]);
    const tall = resizeToCover(pic, 40, 12);
    expect([tall.width, tall.height]).toEqual([40, Math.trunc((40 * 17) / 30)]);
    expect(Array.from(resizeToCover(pic, 9, 9).data)).toEqual(Array.from(resizeShorterSide(pic, 9).data));
  });

  test('height and width: covered with the 256/224 margin (or shorterSide), centre-cropped, at H × W; the frame says where', () => {
    const out = preprocessImageNet(pic, { height: 8, width: 14, normalize: false });
    expect(out.shape).toEqual([3, 8, 14]);
    // cover round(14·256/224) = 16 wide by round(8·256/224) = 9 high: 16 / 30 > 9 / 17, so the width binds (30 × 17 → 16 × 9)
    const cover = resizeToCover(toRgb(pic), 16, 9);
    const want = imageToTensor(centerCrop(cover, 14, 8));
    expect(Array.from(out.data)).toEqual(Array.from(want.data));
    const f = preprocessFrame(W, H, { height: 8, width: 14 });
    expect(f).toMatchObject({ width: 14, height: 8, scaleX: W / cover.width, scaleY: H / cover.height });
    expect(f.left).toBe(Math.round((cover.width - 14) / 2));
    // shorterSide 8: z = 1, cover exactly 8 × 14
    const exact = preprocessImageNet(pic, { height: 8, width: 14, shorterSide: 8, normalize: false });
    expect(Array.from(exact.data)).toEqual(Array.from(imageToTensor(centerCrop(resizeToCover(toRgb(pic), 14, 8), 14, 8)).data));
    // a picture already W × H is taken as it is; 'stretch' goes straight to W × H
    const ready = preprocessImageNet(pic, { height: H, width: W, normalize: false });
    expect(Array.from(ready.data)).toEqual(Array.from(imageToTensor(pic).data));
    const stretched = preprocessImageNet(pic, { height: 8, width: 14, resize: 'stretch', normalize: false });
    expect(Array.from(stretched.data)).toEqual(Array.from(imageToTensor(resizeImage(pic, 14, 8, 'lanczos')).data));
  });

  test('a square height × width is the size path byte for byte; bad sizes are one-line errors', () => {
    expect(Array.from(preprocessImageNet(pic, { height: 12, width: 12 }).data)).toEqual(
      Array.from(preprocessImageNet(pic, { size: 12 }).data),
    );
    expect(() => preprocessImageNet(pic, { height: 12 })).toThrow(/^preprocessImageNet: give both height and width, or neither$/);
    expect(() => preprocessImageNet(pic, { height: 0, width: 3 })).toThrow(
      /^preprocessImageNet: height must be a positive integer, got 0$/,
    );
    expect(() => preprocessImageNet(pic, { height: 4, width: 3, crop: false })).toThrow(/crop: false takes no height and width/);
  });
});
