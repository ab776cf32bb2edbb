import * as fs from 'fs';
import * as path from 'path';
import { grad, mul, sum, Tensor, tidy } from '@gradlens/tensor';
import { readNpy } from '@gradlens/io';
import { loadOnnx } from '@gradlens/onnx';
import { relError } from './op-harness';

// Small networks exported by torch.onnx (scripts/make-onnx-ops-fixture.py, seed 0) whose graphs use the ops
// beyond torchvision's classifiers. ops_zoo: PReLU, ELU, SELU, CELU, Softplus, GroupNorm as
// InstanceNormalization, LRN through an If, reflection and replication padding, PixelShuffle, flip as a negative
// Slice step, ReduceL2, ReduceLogSumExp, CumSum, Einsum, Tile, 1-D convolution and pooling, average pooling
// without the padding, ConvTranspose, bicubic Resize, a spatial transformer's GridSample with reflection padding.
// crnn: a text recogniser's convolutions, bidirectional LSTM and GRU over the columns. The importer's output
// and input gradient match PyTorch's.
const FIXTURES = path.join(__dirname, 'fixtures');

const CASES: [string, string[]][] = [
  [
    'ops_zoo',
    [
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
    ],
  ],
  ['crnn', ['LSTM', 'GRU']],
];

describe.each(CASES)('%s, exported by torch.onnx', (name, expectedOps) => {
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as {
    shape: number[];
    outputShape: number[];
    ops: string[];
  };
  const npy = (what: string): Float32Array => readNpy(path.join(FIXTURES, `${name}.${what}.npy`)).data as Float32Array;
  const model = loadOnnx(path.join(FIXTURES, `${name}.onnx`));
  const x = () => new Tensor(Float32Array.from(npy('input')), meta.shape, 'float32');

  it('uses the ops it is meant to exercise', () => {
    for (const op of expectedOps) expect(meta.ops).toContain(op);
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
