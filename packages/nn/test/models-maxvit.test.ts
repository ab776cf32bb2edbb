import * as fs from 'fs';
import * as path from 'path';
import { assign, tensor, tidy } from '@gradlens/tensor';
import { createModel, defaultCamLayer, loadWeights, MaxVit, maxvitT } from '@gradlens/nn';
import { asTensor as toTensor, expectForwardParity, expectGradientParity, npzFixture } from './parity';

/**
 * torchvision's MaxVit, reduced (scripts/make-nn-maxvit-fixtures.py: input 23×23, stem 8, partition 3, blocks
 * [8, 16] of [1, 2] layers, head size 4, random weights and BatchNorm statistics): the odd input halves to 12,
 * 6 and 3, so block 0 has several windows and grid cells and block 1 one; logits, activations by path, the input
 * gradient and parameter gradients against PyTorch (float64 there).
 */
const DIR = path.join(__dirname, 'fixtures', 'maxvit');
const { arrays: expected, arr } = npzFixture(path.join(DIR, 'expected.npz'));
const info = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8')) as {
  config: {
    input_size: [number, number];
    stem_channels: number;
    partition_size: number;
    block_channels: number[];
    block_layers: number[];
    head_dim: number;
    stochastic_depth_prob: number;
    num_classes: number;
  };
  camLayer: string;
  params: number;
};
const asTensor = (key: string) => toTensor(arr(key));

function reducedMaxVit(): MaxVit {
  const c = info.config;
  return new MaxVit(
    {
      inputSize: c.input_size,
      stemChannels: c.stem_channels,
      partitionSize: c.partition_size,
      blockChannels: c.block_channels,
      blockLayers: c.block_layers,
      headDim: c.head_dim,
      stochasticDepthProb: c.stochastic_depth_prob,
    },
    { numClasses: c.num_classes, init: false },
  );
}

function smallMaxVit(): MaxVit {
  const m = reducedMaxVit();
  expect(loadWeights(m, path.join(DIR, 'small.pth'))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return m.eval();
}

test('a reduced torchvision MaxViT .pth loads and matches PyTorch: logits and activations by path (rel. error ≤ 1e-4)', () => {
  const model = smallMaxVit();
  expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
  expectForwardParity('maxvit small vs PyTorch', model, arr, { 'blocks.0': 'blocks.0', [info.camLayer]: 'cam_layer' });
});

test('the gradients of a weighted sum of the logits (input, a grid bias table, a depthwise conv, stem bias, classifier) match PyTorch', () => {
  expect(Object.keys(expectGradientParity('maxvit small gradients', smallMaxVit(), { arrays: expected, arr }))).toHaveLength(4);
});

test('the default CAM layer is the last block, a [N, C, h, w] map', () => {
  expect(defaultCamLayer(smallMaxVit())).toBe(info.camLayer);
  expect(defaultCamLayer(maxvitT({ init: false }))).toBe('blocks.3');
});

test('the builder makes torchvision’s shapes, and bad configurations and inputs fail in one line', () => {
  const t = createModel('maxvit_t', { widthDivisor: 8, numClasses: 4 }) as MaxVit;
  expect(t.config.blockChannels).toEqual([32, 32, 32, 64]);
  const y = tidy(() => t.eval().call(tensor(new Float32Array(3 * 224 * 224), [1, 3, 224, 224])));
  expect(y.shape).toEqual([1, 4]);
  y.dispose();
  expect(() => maxvitT({ inputSize: [200, 200], init: false })).toThrow(
    /^maxvit_t: MaxVit: block 0's 50×50 map is not divisible by partition size 7 \(input 200×200: block maps 50, 25, 13, 7\)$/,
  );
  expect(() => maxvitT({ inputSize: [224, 448], init: false })).toThrow(/^maxvit_t: MaxVit: inputSize must be square/);
  const m = smallMaxVit();
  expect(() => m.call(tensor(new Float32Array(23 * 23), [1, 1, 23, 23]))).toThrow(
    /^MaxVit: input must be \[N, 3, H, W\], got \[1, 1, 23, 23\]$/,
  );
  expect(() => m.call(tensor(new Float32Array(3 * 22 * 23), [1, 3, 22, 23]))).toThrow(
    /^MaxVit: input 22×23 is not the 23×23 this model was built for/,
  );
  const index = m.stateDict()['blocks.0.layers.0.layers.window_attention.attn_layer.1.relative_position_index']!;
  expect(index.shape).toEqual([9, 9]);
  assign(index, (v) => v.fill(99));
  expect(() => tidy(() => m.call(asTensor('input')))).toThrow(
    /^RelativePositionalMultiHeadAttention: relative_position_index holds 99, outside the 25 rows of relative_position_bias_table/,
  );
});
