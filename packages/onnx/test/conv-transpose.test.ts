import * as fs from 'fs';
import * as path from 'path';
import { grad, sum, Tensor, tidy } from '@gradlens/tensor';
import { readNpy } from '@gradlens/io';
import { loadOnnx } from '@gradlens/onnx';

// A tiny decoder of nn.ConvTranspose2d layers exported by torch.onnx (scripts/make-onnx-convtranspose-fixture.py,
// seed 0): stride 2 with output_padding 1, groups 2 with dilation 2, an uneven kernel and stride without
// bias. The importer's output and the gradient of output.sum() with respect to the input match PyTorch's.
const FIXTURES = path.join(__dirname, 'fixtures');
const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'conv_transpose.json'), 'utf8')) as { shape: number[]; outputShape: number[] };
const npy = (what: string): Float32Array => readNpy(path.join(FIXTURES, `conv_transpose.${what}.npy`)).data as Float32Array;

/** max |a − b| / max |b|: the error relative to the reference's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

describe('nn.ConvTranspose2d layers exported by torch.onnx', () => {
  const model = loadOnnx(path.join(FIXTURES, 'conv_transpose.onnx'));
  const x = () => new Tensor(Float32Array.from(npy('input')), meta.shape, 'float32');

  it('gives PyTorch’s output (≤ 1e-4 relative)', () => {
    tidy(() => {
      const y = model.call(x());
      expect(y.shape).toEqual(meta.outputShape);
      expect(relError(y.values(), npy('output'))).toBeLessThan(1e-4);
    });
  });

  it('gives PyTorch’s gradient of output.sum() with respect to the input (≤ 1e-4 relative)', () => {
    tidy(() => {
      const [g] = grad((input) => sum(model.call(input)), [x()]);
      expect(g!.shape).toEqual(meta.shape);
      expect(relError(g!.values(), npy('gradient'))).toBeLessThan(1e-4);
    });
  });
});
