import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeImage, readNpy } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { createModel, defaultCamLayer, gapnet, imageToInput, isModelName, nearestNames, smallvgg, toNdArray, toTensor } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { randn, tensor } from '@gradlens/tensor';
import { cam, gradCam, saveMap, saveNpy, scoreCam, vanillaGradient } from '../src';

const quiet = { onWarning: (): void => undefined };
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-lib-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('default CAM layer: the CLI rule, in the library', () => {
  test.each([
    ['gapnet', () => gapnet({ init: false }), 'features.13'],
    ['smallvgg', () => smallvgg({ init: false }), 'features.13'],
    ['vgg16', () => createModel('vgg16', { widthDivisor: 16, init: false }), 'features.29'],
    ['alexnet', () => createModel('alexnet', { widthDivisor: 16, init: false }), 'features.11'],
    ['resnet18', () => createModel('resnet18', { widthDivisor: 16, init: false }), 'layer4'],
    ['squeezenet1_1', () => createModel('squeezenet1_1', { widthDivisor: 8, init: false }), 'features'],
  ])('%s', (_n, build, layer) => {
    expect(defaultCamLayer(build())).toBe(layer);
  });

  test('gradCam(model, x, {}) and gradCam(model, x) read the default layer, same map as naming it', () => {
    const model = gapnet().eval();
    const x = randn([1, 3, 64, 64]);
    const named = gradCam(model, x, { layer: 'features.13', ...quiet });
    const dflt = gradCam(model, x, { ...quiet });
    expect(Array.from(dflt.map.dataSync())).toEqual(Array.from(named.map.dataSync()));
    expect(gradCam(model, x).map.shape).toEqual([1, 8, 8]);
    expect(cam(model, x, quiet).map.shape).toEqual([1, 8, 8]);
    expect(scoreCam(model, x, quiet).map.shape).toEqual([1, 8, 8]);
  });
});

describe('io arrays and tensors', () => {
  test('toTensor and toNdArray round-trip every dtype a Tensor holds; narrow ints widen', () => {
    const arrays: NdArray[] = [
      { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4.5) },
      { dtype: 'float64', shape: [3], data: Float64Array.of(1e-300, 2, 3) },
      { dtype: 'int32', shape: [2], data: Int32Array.of(-7, 9) },
      { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) },
    ];
    for (const a of arrays) {
      const back = toNdArray(toTensor(a));
      expect(back.dtype).toBe(a.dtype);
      expect(back.shape).toEqual(a.shape);
      expect(Array.from(back.data as ArrayLike<number>)).toEqual(Array.from(a.data as ArrayLike<number>));
    }
    const t = tensor([1, 2, 3]);
    expect(toNdArray(t, { copy: false }).data).toBe(t.values()); // a view, for checkpoints
    expect(toNdArray(t).data).not.toBe(t.values());
    const u8 = toTensor({ dtype: 'uint8', shape: [2], data: Uint8Array.of(200, 3) });
    expect([u8.dtype, ...Array.from(u8.dataSync())]).toEqual(['int32', 200, 3]);
    expect(() => toTensor({ dtype: 'int64', shape: [1], data: BigInt64Array.of(1n << 40n) })).toThrow(/does not fit the int32/);
  });

  test('a plain array or a wrong rank given to a method says what came and what to do', () => {
    const model = gapnet().eval();
    const plain = { dtype: 'float32', shape: [3, 64, 64], data: new Float32Array(3 * 64 * 64) };
    expect(() => gradCam(model, plain as unknown as Tensor, quiet)).toThrow(
      'gradCam: input must be a Tensor batch [N, C, H, W], got a plain float32 array of shape [3, 64, 64] (what @gradlens/io returns); make one with imageToInput(readImage(file)) or toTensor(array) from @gradlens/nn',
    );
    expect(() => vanillaGradient(model, tensor(new Float32Array(3 * 64 * 64), [3, 64, 64]), quiet)).toThrow(
      /got shape \[3, 64, 64\]; add the batch dimension: unsqueeze\(x, 0\) gives \[1, 3, 64, 64\]/,
    );
  });

  test('imageToInput feeds a picture of the input size as is, and resizes and crops any other', () => {
    const px = { width: 4, height: 4, channels: 3 as const, bitDepth: 8 as const, data: Uint8Array.from({ length: 48 }, (_, i) => i * 5) };
    const x = imageToInput(px, { size: 4, normalize: false });
    expect(x.shape).toEqual([1, 3, 4, 4]);
    expect(x.dataSync()[1]).toBeCloseTo(15 / 255, 6); // pixel 1, red: untouched
    expect(imageToInput({ ...px, width: 8, height: 6, data: new Uint8Array(144) }, { size: 4 }).shape).toEqual([1, 3, 4, 4]);
  });
});

describe('saving a result', () => {
  test('saveMap takes a CAM result, an attribution or a Tensor; saveNpy writes the map', () => {
    const model = gapnet().eval();
    const x = randn([1, 3, 64, 64]);
    const image = { width: 64, height: 64, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(64 * 64 * 3).fill(128) };
    const g = gradCam(model, x, quiet);
    const png = (f: string): { width: number; height: number } => decodeImage(fs.readFileSync(f));
    expect(png(saveMap(path.join(dir, 'a.png'), g, { image }))).toMatchObject({ width: 64, height: 64 });
    expect(png(saveMap(path.join(dir, 'b.png'), g, { legend: true }))).toMatchObject({ width: 64, height: 72 });
    expect(png(saveMap(path.join(dir, 'c.png'), vanillaGradient(model, x, quiet)))).toMatchObject({ width: 64, height: 64 });
    expect(png(saveMap(path.join(dir, 'd.png'), g.upsampled))).toMatchObject({ width: 64, height: 64 });
    // a larger picture is brought to the map with imageToInput's crop
    expect(
      png(saveMap(path.join(dir, 'e.png'), g, { image: { ...image, width: 80, height: 96, data: new Uint8Array(80 * 96 * 3) } })),
    ).toMatchObject({ width: 64, height: 64 });
    expect(readNpy(saveNpy(path.join(dir, 'g.npy'), g)).shape).toEqual([1, 8, 8]);
    expect(() => saveMap(path.join(dir, 'f.png'), randn([2, 2, 2, 2, 2]))).toThrow(
      /a Tensor map must be \[N, C, H, W\] .* got shape \[2, 2, 2, 2, 2\]; pass the method's result itself/,
    );
  });
});

test('model names: a typed union, a guard, and near-miss suggestions', () => {
  expect(isModelName('vgg16')).toBe(true);
  expect(isModelName('vgg17')).toBe(false);
  expect(nearestNames('resnet19', ['resnet18', 'resnet34', 'vgg19'])).toEqual(['resnet18']);
  expect(() => createModel('vgg17' as 'vgg16')).toThrow(/unknown model 'vgg17' \(did you mean/);
});
