/**
 * MaxPool's Indices output counts over the whole input as ONNX does (((n·C + c)·H + h)·W + w, or column-major
 * within a plane with storage_order 1), also when the pads are explicit (asymmetric), so reading the input at
 * each index gives that output's maximum.
 */
import type { Tensor } from '@gradlens/tensor';
import { Generator, randn } from '@gradlens/tensor';
import { runOp } from './op-harness';

describe('MaxPool Indices', () => {
  test.each([
    ['symmetric pads, row-major', { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }, false],
    ['asymmetric pads, row-major', { kernel_shape: { ints: [2, 3] }, pads: { ints: [0, 2, 1, 0] } }, false],
    ['asymmetric pads, column-major', { kernel_shape: { ints: [2, 3] }, pads: { ints: [1, 0, 0, 2] }, storage_order: { i: 1 } }, true],
  ])('%s', (_label, a, columnMajor) => {
    const [n, c, h, w] = [2, 3, 5, 6];
    const x = randn([n, c, h, w], { generator: new Generator(3) });
    const [y, indices] = runOp('MaxPool', [x], a, 12, 2) as [Tensor, Tensor];
    expect(indices.dtype).toBe('int32');
    expect(indices.shape).toEqual(y.shape);
    const xv = x.values();
    const planeOut = y.shape[2]! * y.shape[3]!;
    Array.from(indices.values()).forEach((index, k) => {
      const plane = Math.floor(index / (h * w));
      expect(plane).toBe(Math.floor(k / planeOut));
      const within = index % (h * w);
      const [row, col] = columnMajor ? [within % h, Math.floor(within / h)] : [Math.floor(within / w), within % w];
      expect(xv[plane * h * w + row * w + col]).toBe(y.values()[k]);
    });
  });
});
