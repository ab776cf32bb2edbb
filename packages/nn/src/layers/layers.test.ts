import * as path from 'path';
import { readNpz, type NdArray } from '@gradlens/io';
import type { Tensor } from '@gradlens/tensor';
import { assign, Generator, numTensors, ones, record, reshape, sum, tensor, tidy, zeros } from '@gradlens/tensor';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Identity,
  Linear,
  MaxPool2d,
  ReLU,
  ReLU6,
  Sequential,
} from './index';

function close(got: Tensor, want: NdArray, tol = 1e-5): void {
  expect([...got.shape]).toEqual(want.shape);
  const g = got.dataSync();
  const w = want.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i]! - w[i]!) / (1 + Math.abs(w[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('Conv2d and Linear', () => {
  test('PyTorch names and shapes; default init is U(±1/√fan_in) for weight and bias', () => {
    const conv = new Conv2d(6, 8, 3, { groups: 2, generator: new Generator(1) });
    expect(Object.entries(conv.stateDict()).map(([k, t]) => [k, t.shape])).toEqual([
      ['weight', [8, 3, 3, 3]],
      ['bias', [8]],
    ]);
    const bound = 1 / Math.sqrt(3 * 9);
    for (const t of [conv.weight, conv.bias!]) {
      const v = [...t.dataSync()];
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(bound * 0.5);
    }
    const lin = new Linear(100, 4, { bias: false });
    expect(lin.bias).toBeNull();
    expect(Object.keys(lin.stateDict())).toEqual(['weight']);
    expect(Math.max(...[...lin.weight.dataSync()].map(Math.abs))).toBeLessThanOrEqual(0.1);
  });

  test('the same seed gives the same weights; init: false leaves zeros', () => {
    const a = new Conv2d(3, 4, 3, { generator: new Generator(7) });
    const b = new Conv2d(3, 4, 3, { generator: new Generator(7) });
    expect(a.weight.dataSync()).toEqual(b.weight.dataSync());
    expect(a.bias!.dataSync()).toEqual(b.bias!.dataSync());
    const c = new Conv2d(3, 4, 3, { init: false });
    expect([...c.weight.dataSync()].every((v) => v === 0)).toBe(true);
  });

  test('forward shapes follow stride, padding, dilation', () => {
    const conv = new Conv2d(3, 5, [3, 5], { stride: 2, padding: [1, 2], dilation: 1 });
    const y = conv.call(ones([2, 3, 9, 10]));
    expect(y.shape).toEqual([2, 5, 5, 5]);
    expect(new Linear(4, 2).call(ones([3, 4])).shape).toEqual([3, 2]);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/groups=2/);
  });

  test('parameters survive tidy(): a model built inside one is still usable after', () => {
    let conv: Conv2d | undefined;
    let bn: BatchNorm2d | undefined;
    tidy(() => {
      conv = new Conv2d(1, 1, 1);
      bn = new BatchNorm2d(2);
    });
    expect(conv!.weight.isDisposed).toBe(false);
    expect(bn!.runningMean!.isDisposed).toBe(false);
  });
});

describe('BatchNorm2d', () => {
  const fix = readNpz(path.join(__dirname, '..', '..', 'test', 'fixtures', 'batchnorm-train.npz'));
  const get = (k: string): NdArray => {
    const a = fix[k];
    if (!a) throw new Error(`missing ${k}`);
    return a;
  };
  const asTensor = (a: NdArray) => tensor(Float32Array.from(a.data as Float32Array), a.shape);

  test('state dict names as PyTorch, with num_batches_tracked', () => {
    const bn = new BatchNorm2d(4);
    expect(Object.entries(bn.stateDict()).map(([k, t]) => [k, t.shape, [...t.dataSync()]])).toEqual([
      ['weight', [4], [1, 1, 1, 1]],
      ['bias', [4], [0, 0, 0, 0]],
      ['running_mean', [4], [0, 0, 0, 0]],
      ['running_var', [4], [1, 1, 1, 1]],
      ['num_batches_tracked', [], [0]],
    ]);
    expect(Object.keys(new BatchNorm2d(4, { affine: false, trackRunningStats: false }).stateDict())).toEqual([]);
  });

  test.each([
    ['m01', 0.1],
    ['cum', null],
  ] as const)('training mode (momentum %s) matches PyTorch: outputs, running stats, counter; then eval', (tag, momentum) => {
    const bn = new BatchNorm2d(3, { momentum });
    assign(bn.weight!, [1.5, 0.5, -1.0]);
    assign(bn.bias!, [0.1, -0.2, 0.3]);
    bn.train();
    for (const step of [0, 1]) close(bn.call(asTensor(get(`${tag}.x${step}`))), get(`${tag}.y${step}`));
    close(bn.runningMean!, get(`${tag}.running_mean`));
    close(bn.runningVar!, get(`${tag}.running_var`));
    expect(bn.numBatchesTracked!.item()).toBe(2);
    bn.eval();
    close(bn.call(asTensor(get(`${tag}.x0`))), get(`${tag}.yeval`));
    expect(bn.numBatchesTracked!.item()).toBe(2);
  });

  test('eval mode uses the running statistics; d y / d x is weight / √(running_var + eps) per channel', () => {
    const bn = new BatchNorm2d(2).eval();
    assign(bn.weight!, [2, -1]);
    assign(bn.bias!, [0.5, 1]);
    assign(bn.runningMean!, [1, -1]);
    assign(bn.runningVar!, [4, 0.25]);
    const x = tensor([[[[1, 3]], [[0, 2]]]]);
    const { output, tape } = record(() => sum(bn.call(x)));
    const s0 = 2 / Math.sqrt(4 + 1e-5);
    const s1 = -1 / Math.sqrt(0.25 + 1e-5);
    expect(output.item()).toBeCloseTo((0 + 2) * s0 + 1 + (1 + 3) * s1 + 2, 4);
    const [gx, gw, gb] = tape.grad(output, [x, bn.weight!, bn.bias!]);
    expect([...gx!.dataSync()].map((v) => +v.toFixed(4))).toEqual([s0, s0, s1, s1].map((v) => +v.toFixed(4)));
    expect([...gw!.dataSync()].map((v) => +v.toFixed(4))).toEqual(
      [2 / Math.sqrt(4 + 1e-5), 4 / Math.sqrt(0.25 + 1e-5)].map((v) => +v.toFixed(4)),
    );
    expect([...gb!.dataSync()]).toEqual([2, 2]);
    tape.dispose();
  });

  test('gradients flow through batch statistics in training mode', () => {
    const bn = new BatchNorm2d(2);
    const x = tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [0, 1],
          [1, 5],
        ],
      ],
    ]);
    const { output, tape } = record(() => sum(bn.call(x)));
    const [gx, gw] = tape.grad(output, [x, bn.weight!]);
    // Σ of a normalised channel is 0 whatever the input: zero gradient w.r.t. x and weight.
    for (const v of [...gx!.dataSync(), ...gw!.dataSync()]) expect(Math.abs(v)).toBeLessThan(1e-5);
    tape.dispose();
  });
});

describe('BatchNorm1d', () => {
  test('[N, C] in training mode: per-feature batch statistics (biased in the output, unbiased in running_var), then eval', () => {
    const bn = new BatchNorm1d(2);
    assign(bn.weight!, [2, -0.5]);
    assign(bn.bias!, [0.25, 1]);
    const rows = [
      [1, 10],
      [2, -4],
      [4, 0],
      [9, 6],
    ];
    const y = [...bn.call(tensor(rows)).dataSync()];
    for (let c = 0; c < 2; c++) {
      const col = rows.map((r) => r[c]!);
      const mean = col.reduce((a, v) => a + v, 0) / 4;
      const ss = col.reduce((a, v) => a + (v - mean) ** 2, 0);
      const [w, b] = [
        [2, 0.25],
        [-0.5, 1],
      ][c]!;
      col.forEach((v, n) => expect(y[n * 2 + c]).toBeCloseTo(((v - mean) / Math.sqrt(ss / 4 + 1e-5)) * w! + b!, 5));
      expect(bn.runningMean!.dataSync()[c]).toBeCloseTo(0.1 * mean, 6);
      expect(bn.runningVar!.dataSync()[c]).toBeCloseTo(0.9 + 0.1 * (ss / 3), 5);
    }
    expect(bn.numBatchesTracked!.item()).toBe(1);
    bn.eval();
    const e = [...bn.call(tensor([[1, 10]])).dataSync()];
    const rm = bn.runningMean!.dataSync(),
      rv = bn.runningVar!.dataSync();
    expect(e[0]).toBeCloseTo(((1 - rm[0]!) / Math.sqrt(rv[0]! + 1e-5)) * 2 + 0.25, 5);
    expect(e[1]).toBeCloseTo(((10 - rm[1]!) / Math.sqrt(rv[1]! + 1e-5)) * -0.5 + 1, 5);
  });

  test('[N, C, L] equals BatchNorm2d on [N, C, L, 1]; other ranks and channel counts name the layer', () => {
    const x = tensor(
      Float32Array.from({ length: 3 * 2 * 5 }, (_, i) => Math.sin(i * 1.7) * 3),
      [3, 2, 5],
    );
    const a = [...new BatchNorm1d(2).call(x).dataSync()];
    const b = [...new BatchNorm2d(2).call(reshape(x, [3, 2, 5, 1])).dataSync()];
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 6));
    expect(() => new BatchNorm1d(2).call(ones([2, 2, 2, 2]))).toThrow(
      /BatchNorm1d: expected input \[N, C\] or \[N, C, L\], got \[2, 2, 2, 2\]/,
    );
    expect(() => new BatchNorm1d(3).call(ones([4, 2]))).toThrow(/BatchNorm1d: expected 3 channels, got input \[4, 2\]/);
    expect(() => new BatchNorm2d(2).call(ones([4, 2]))).toThrow(/BatchNorm2d: expected input 4-D \[N, C, H, W\], got \[4, 2\]/);
  });
});

describe('other layers', () => {
  test('pools, activations, flatten, identity, dropout', () => {
    const x = tensor(
      Float32Array.from({ length: 2 * 3 * 7 * 7 }, (_, i) => Math.sin(i) * 8),
      [2, 3, 7, 7],
    );
    expect(new MaxPool2d(3, { stride: 2, ceilMode: true }).call(x).shape).toEqual([2, 3, 3, 3]);
    expect(new MaxPool2d(2).call(x).shape).toEqual([2, 3, 3, 3]);
    expect(new AvgPool2d(3, { stride: 2, padding: 1 }).call(x).shape).toEqual([2, 3, 4, 4]);
    expect(new AdaptiveAvgPool2d([7, 7]).call(new MaxPool2d(2).call(x)).shape).toEqual([2, 3, 7, 7]);
    expect(Math.min(...new ReLU().call(x).dataSync())).toBe(0);
    const r6 = [...new ReLU6().call(x).dataSync()];
    expect(Math.max(...r6)).toBe(6);
    expect(Math.min(...r6)).toBe(0);
    expect(new Flatten().call(x).shape).toEqual([2, 147]);
    expect(new Identity().call(x)).toBe(x);
    const d = new Dropout(0.5, { generator: new Generator(3) });
    const y = [...d.call(ones([1000])).dataSync()];
    expect(new Set(y)).toEqual(new Set([0, 2]));
    expect(Math.abs(y.filter((v) => v === 0).length - 500)).toBeLessThan(60);
    d.eval();
    const z = ones([4]);
    expect(d.call(z)).toBe(z);
  });

  test('Sequential names children by index, records ops under their paths', () => {
    class Net extends Sequential {}
    const seq = new Net(new Conv2d(1, 2, 3, { padding: 1 }), new ReLU(), new Sequential(new Flatten(), new Linear(2 * 4 * 4, 3)));
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '2.1.weight', '2.1.bias']);
    expect(seq.length).toBe(3);
    expect(seq.at(-1)).toBeInstanceOf(Sequential);
    const before = numTensors();
    const x = zeros([1, 1, 4, 4]);
    const { output, tape } = record(() => seq.call(x));
    expect(tape.scopes()).toEqual(['0', '1', '2.0', '2.1']);
    expect(tape.activation('2').shape).toEqual([1, 3]);
    expect(tape.activation('1').shape).toEqual([1, 2, 4, 4]);
    tape.dispose();
    output.dispose();
    x.dispose();
    expect(numTensors()).toBe(before);
  });
});
