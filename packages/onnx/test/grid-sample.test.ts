/**
 * GridSample against PyTorch's F.grid_sample (float64; scripts/make-onnx-ops-fixture.py writes the goldens):
 * every mode, padding mode and align_corners setting, for a grid with points inside and outside the image.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { runOp } from './op-harness';

const golden = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'grid_sample.json'), 'utf8')) as Record<string, number[]>;
const x = tensor(golden.x!, golden.xShape!, 'float64');
const grid = tensor(golden.grid!, golden.gridShape!, 'float64');

describe('GridSample gives F.grid_sample’s values', () => {
  const cases = ['bilinear', 'nearest', 'bicubic'].flatMap((mode) =>
    ['zeros', 'border', 'reflection'].flatMap((padding) => [0, 1].map((align) => [mode, padding, align] as [string, string, number])),
  );
  test.each(cases)('%s, %s padding, align_corners %i', (mode, padding, align) => {
    const y = runOp(
      'GridSample',
      [x, grid],
      { mode: { s: mode }, padding_mode: { s: padding }, align_corners: { i: align } },
      16,
    )[0] as Tensor;
    const expected = golden[`${mode} ${padding} ${align}`]!;
    expect(y.shape).toEqual([1, 2, 4, 3]);
    expected.forEach((v, k) => expect(Math.abs(y.values()[k]! - v)).toBeLessThan(1e-12));
  });
});
