import { Conv2d, Module } from '@gradlens/nn';
import { Generator, randn, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { classSumTarget, gradCam, segmentationTarget, topClasses, vanillaGradient } from '../src';
import { smallVgg } from './helpers';

/** A 1×1-conv "segmentation" model: [N, 3, H, W] → [N, 4, H, W] logits per pixel. */
class Seg extends Module {
  readonly head: Conv2d;
  constructor() {
    super();
    this.head = this.registerModule('head', new Conv2d(3, 4, 1, { generator: new Generator(2) }));
  }
  override forward(x: Tensor): Tensor {
    return this.head.call(x);
  }
}

describe('target functions', () => {
  const quiet = { onWarning: () => undefined };
  test('multi-label: the gradient of the sum is the sum of the gradients', () => {
    const model = smallVgg();
    const x = randn([2, 3, 16, 16], { generator: new Generator(1) });
    const both = vanillaGradient(model, x, { target: classSumTarget([3, 7]), ...quiet }).attribution.dataSync();
    const a = vanillaGradient(model, x, { target: 3, ...quiet }).attribution.dataSync();
    const b = vanillaGradient(model, x, { target: 7, ...quiet }).attribution.dataSync();
    both.forEach((v, i) => expect(Math.abs(Number(v) - Number(a[i]) - Number(b[i]))).toBeLessThan(1e-6));
    expect(() => vanillaGradient(model, x, { target: classSumTarget([3, 12]), ...quiet })).toThrow(
      /class 12 is out of range: the model has 10 outputs/,
    );
  });

  test('segmentation: a masked class sum; its input gradient lives on the mask (1×1 convs), and a CAM runs on it', () => {
    const model = new Seg().eval();
    const x = randn([1, 3, 6, 6], { generator: new Generator(3) });
    const mask = Array.from({ length: 36 }, (_, p) => (Math.floor(p / 6) < 3 && p % 6 < 2 ? 1 : 0));
    const g = vanillaGradient(model, x, { target: segmentationTarget(mask, 2, [6, 6]), ...quiet }).attribution.dataSync();
    for (let c = 0; c < 3; c++) for (let p = 0; p < 36; p++) if (!mask[p]) expect(Number(g[c * 36 + p])).toBe(0);
    expect(Math.max(...Array.from(g, (v) => Math.abs(Number(v))))).toBeGreaterThan(0);
    expect(gradCam(model, x, { target: segmentationTarget(mask, 2, [6, 6]), layer: 'head', ...quiet }).map.shape).toEqual([1, 6, 6]);
    expect(() => vanillaGradient(model, x, { target: segmentationTarget(new Array<number>(16).fill(1), 2, [4, 4]), ...quiet })).toThrow(
      /the mask is 4×4 but the model's output map is 6×6/,
    );
    expect(() => vanillaGradient(model, x, { target: segmentationTarget(tensor(new Float32Array(16), [4, 4]), 2), ...quiet })).toThrow(
      /the mask is 4×4/,
    );
    expect(() => vanillaGradient(model, x, { target: segmentationTarget(mask, 9, [6, 6]), ...quiet })).toThrow(/class 9 is out of range/);
  });

  test('top-k classes, best first', () => {
    const model = smallVgg();
    const x = randn([2, 3, 16, 16], { generator: new Generator(1) });
    const top = topClasses(model, x, 3);
    const out = model.call(x).dataSync();
    top.forEach((row, i) => {
      expect(row).toHaveLength(3);
      for (let j = 1; j < 3; j++) expect(Number(out[i * 10 + row[j - 1]!])).toBeGreaterThanOrEqual(Number(out[i * 10 + row[j]!]));
      const max = Math.max(...Array.from(out.slice(i * 10, i * 10 + 10), Number));
      expect(Number(out[i * 10 + row[0]!])).toBe(max);
    });
    expect(() => topClasses(model, x, 11)).toThrow(/k must be an integer in 1…10/);
  });
});
