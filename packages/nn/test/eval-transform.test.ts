import * as fs from 'fs';
import * as path from 'path';
import { preprocessImageNet, readImage } from '@gradlens/io';
import { EVAL_TRANSFORM_NAMES, evalInputOptions, evalTransform, hasEvalTransform, imageToInput, modelBuilders } from '@gradlens/nn';
import type { EvalTransform } from '@gradlens/nn';

/**
 * The table of torchvision's evaluation transforms against torchvision itself: scripts/make-eval-transforms.py
 * reads the values again into the fixture and applies three models' transforms to a picture.
 */
interface Fixture {
  models: string[];
  transforms: Record<string, EvalTransform>;
  pipeline: Record<string, { shape: number[]; stride: number; values: number[] }>;
}
const DIR = path.join(__dirname, 'fixtures', 'eval-transforms');
const fx = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Fixture;

test('the table has every torchvision classification model, so every model this package builds', () => {
  expect([...EVAL_TRANSFORM_NAMES].sort()).toEqual([...fx.models].sort());
  const missing = Object.keys(modelBuilders).filter((n) => !hasEvalTransform(n));
  expect(missing).toEqual([]);
});

test.each(Object.keys(fx.transforms))("%s: resize, crop, filter, mean and std are torchvision's", (name) => {
  expect(evalTransform(name)).toEqual(fx.transforms[name]);
});

describe("evalInputOptions feeds a picture as torchvision's transform does", () => {
  const picture = readImage(path.join(DIR, 'picture.png')); // 61 × 47 noise

  test.each(Object.keys(fx.pipeline))('%s', (name) => {
    const want = fx.pipeline[name]!;
    const t = preprocessImageNet(picture, evalInputOptions(name));
    expect(t.shape).toEqual(want.shape);
    // PIL-exact resize and float32 normalisation: the sampled values are torchvision's exactly
    let worst = 0;
    want.values.forEach((v, i) => {
      worst = Math.max(worst, Math.abs((t.data[i * want.stride] ?? NaN) - Math.fround(v)));
    });
    expect(worst).toBe(0);
    expect(Array.from(imageToInput(picture, evalInputOptions(name)).dataSync())).toEqual(Array.from(t.data));
  });

  test('a picture already cropSize × cropSize is fed as it is', () => {
    const o = evalInputOptions('efficientnet_b4');
    const square = { width: 380, height: 380, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(380 * 380 * 3) };
    for (let i = 0; i < square.data.length; i++) square.data[i] = (i * 7) % 256;
    const t = preprocessImageNet(square, { ...o, normalize: false });
    expect(t.data[0]).toBe(0);
    expect(t.data[1]).toBe(Math.fround(21 / 255));
  });
});

test.each([
  ['efficientnet_b8', /^evalTransform: unknown model 'efficientnet_b8' \(did you mean 'efficientnet_b\d'/],
  ['', /^evalTransform: unknown model ''; known models: alexnet, /],
  ['toString', /^evalTransform: unknown model 'toString'/],
])('an unknown name %p throws one line', (name, message) => {
  expect(() => evalTransform(name)).toThrow(message);
  expect(() => evalInputOptions(name)).toThrow(/^evalTransform: unknown model/);
  try {
    evalTransform(name);
  } catch (e) {
    expect((e as Error).message).not.toMatch(/\n/);
  }
});
