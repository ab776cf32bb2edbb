import * as fs from 'fs';
import * as path from 'path';
import { grad, mul, sum, Tensor, tidy } from '@gradlens/tensor';
import { readNpy } from '@gradlens/io';
import { loadOnnx } from '@gradlens/onnx';
import { relError } from './op-harness';

// A small network exported by torch.onnx whose graph uses the ops beyond torchvision's classifiers (PReLU, ELU,
// SELU, CELU, Softplus, GroupNorm as InstanceNormalization, LRN through an If, reflection and replication
// padding, PixelShuffle, flip as a negative Slice step, ReduceL2, ReduceLogSumExp, CumSum, Einsum, Tile, 1-D
// convolution and pooling, average pooling without the padding, ConvTranspose, bicubic Resize, a spatial
// transformer's GridSample with reflection padding):
// scripts/make-onnx-ops-fixture.py, seed 0. The importer's output and input gradient match PyTorch's.
const FIXTURES = path.join(__dirname, 'fixtures');
const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ops_zoo.json'), 'utf8')) as {
  shape: number[];
  outputShape: number[];
  ops: string[];
};
const npy = (what: string): Float32Array => readNpy(path.join(FIXTURES, `ops_zoo.${what}.npy`)).data as Float32Array;

describe('a torch.onnx export using many ops', () => {
  const model = loadOnnx(path.join(FIXTURES, 'ops_zoo.onnx'));
  const x = () => new Tensor(Float32Array.from(npy('input')), meta.shape, 'float32');

  it('uses the ops it is meant to exercise', () => {
    for (const op of [
      'If',
      'PRelu',
      'Selu',
      'Celu',
      'Softplus',
      'DepthToSpace',
      'CumSum',
      'Einsum',
      'Tile',
      'ReduceL2',
      'ReduceLogSumExp',
      'ConvTranspose',
      'GridSample',
    ])
      expect(meta.ops).toContain(op);
  });

  it('gives PyTorch’s output (≤ 1e-4 relative)', () => {
    tidy(() => {
      const y = model.call(x());
      expect(y.shape).toEqual(meta.outputShape);
      expect(relError(y.values(), npy('output'))).toBeLessThan(1e-4);
    });
  });

  it('gives PyTorch’s gradient of (output · r).sum() with respect to the input (≤ 1e-3 relative)', () => {
    tidy(() => {
      const r = new Tensor(Float32Array.from(npy('weights')), meta.outputShape, 'float32');
      const [g] = grad((input) => sum(mul(model.call(input), r)), [x()]);
      expect(g!.shape).toEqual(meta.shape);
      expect(relError(g!.values(), npy('gradient'))).toBeLessThan(1e-3);
    });
  });
});
