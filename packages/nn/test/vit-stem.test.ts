import * as path from 'path';
import type { Tensor } from '@gradlens/tensor';
import { noGrad, numTensors, tensor, tidy } from '@gradlens/tensor';
import { foldBatchNorm, foldConvStemBatchNorm, loadWeights, smallvit, VisionTransformer, type ConvStemConfig } from '@gradlens/nn';
import { npzFixture, relError } from './parity';

/**
 * torchvision's VisionTransformer with conv_stem_configs (scripts/make-vit-stem-fixtures.py: 32×32, patch 8,
 * a stem of 3×3/2, 5×5/2, 3×3/2 convs with 8, 16, 24 channels, random weights and BatchNorm statistics):
 * the .pth files load with no renaming and give PyTorch's stem output and logits, with BatchNorm in the stem
 * and without; folding the BatchNorms gives the same logits as a stem without norm.
 */
const FIX = path.join(__dirname, 'fixtures');
const { arr } = npzFixture(path.join(FIX, 'vit-stem-expected.npz'));
const SHAPE = { imageSize: 32, patchSize: 8, numLayers: 2, numHeads: 4, hiddenDim: 32, mlpDim: 64 };
const stem = (normLayer: 'batchnorm' | null): ConvStemConfig[] =>
  [
    [8, 3],
    [16, 5],
    [24, 3],
  ].map(([outChannels, kernelSize]) => ({ outChannels: outChannels!, kernelSize: kernelSize!, stride: 2, normLayer }));

function loaded(tag: 'bn' | 'plain'): VisionTransformer {
  const model = new VisionTransformer(SHAPE, { numClasses: 10, convStemConfigs: stem(tag === 'bn' ? 'batchnorm' : null), init: false });
  expect(loadWeights(model, path.join(FIX, `vit_stem_${tag}.pth`))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return model.eval();
}

const input = (): Tensor => tensor(Float32Array.from(arr('input').data as Float32Array), arr('input').shape);

test.each(['bn', 'plain'] as const)(
  'a conv-stem torchvision ViT (%s) loads and matches PyTorch (stem and logits, rel. error ≤ 1e-4)',
  (tag) => {
    const model = loaded(tag);
    const names = Object.keys(model.stateDict());
    expect(names).toContain('conv_proj.conv_bn_relu_1.0.weight');
    expect(names).toContain('conv_proj.conv_last.bias');
    expect(names.includes('conv_proj.conv_bn_relu_0.1.running_var')).toBe(tag === 'bn');
    expect(model.tokenGrid).toEqual([4, 4]);
    const before = numTensors();
    noGrad(() =>
      tidy(() => {
        const x = input();
        const es = relError(model.conv_proj.call(x), arr(`${tag}_stem`));
        const el = relError(model.call(x), arr(`${tag}_logits`));
        console.log(`vit conv stem (${tag}): stem ${es.toExponential(2)}, logits ${el.toExponential(2)}`);
        expect(es).toBeLessThanOrEqual(1e-4);
        expect(el).toBeLessThanOrEqual(1e-4);
      }),
    );
    expect(numTensors()).toBe(before);
  },
);

test("folding the stem's BatchNorms gives a norm-free stem with the same logits (PyTorch's, ≤ 1e-4)", () => {
  const folded = foldConvStemBatchNorm(loaded('bn')).eval();
  expect(folded.convStemConfigs?.map((c) => c.normLayer)).toEqual([null, null, null]);
  expect(Object.keys(folded.stateDict()).some((k) => k.includes('running'))).toBe(false);
  noGrad(() => tidy(() => expect(relError(folded.call(input()), arr('bn_logits'))).toBeLessThanOrEqual(1e-4)));
});

test('the bundled ViT shape: a torchvision conv-stem VisionTransformer(64, 8, …) whose training variant folds', () => {
  const train = smallvit({ batchNorm: true });
  const names = Object.keys(train.stateDict());
  expect(names).toContain('conv_proj.conv_bn_relu_5.1.running_mean');
  expect(names).not.toContain('conv_proj.conv_bn_relu_0.0.bias');
  expect(train.tokenGrid).toEqual([8, 8]);
  const plain = foldBatchNorm(train);
  expect(plain).toBeInstanceOf(VisionTransformer);
  expect(Object.keys(plain.stateDict())).toEqual(Object.keys(smallvit({ init: false }).stateDict()));
});

test.each([
  ['an empty stem', { convStemConfigs: [] }, /convStemConfigs is empty/],
  [
    'a stem that does not end at the token grid',
    { convStemConfigs: stem(null).slice(0, 2) },
    /maps 32×32 to 8×8, but imageSize \/ patchSize is 4/,
  ],
  [
    'a zero stride',
    { convStemConfigs: [{ outChannels: 8, kernelSize: 3, stride: 0 }] },
    /convStemConfigs\[0\]\.stride must be a positive integer/,
  ],
  [
    'an unknown norm',
    { convStemConfigs: [{ outChannels: 8, kernelSize: 3, stride: 8, normLayer: 'layernorm' as 'batchnorm' }] },
    /normLayer must be 'batchnorm' or null/,
  ],
])('bad conv stem: %s', (_what, options, message) => {
  expect(() => new VisionTransformer(SHAPE, { numClasses: 10, ...options })).toThrow(message);
});
