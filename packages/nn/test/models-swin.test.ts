import { assign, grad, mul, sum, tensor, tidy } from '@gradlens/tensor';
import { createModel, defaultCamLayer, loadWeights, roll, SwinTransformer, swinT } from '@gradlens/nn';
import { expectForwardParity, expectGradientParity, relError } from './parity';
import { reducedSwin, SWIN_WEIGHTS, swinArray as arr, swinArrays as expected, swinInfo as info } from './swin-fixture';

/**
 * torchvision's SwinTransformer, reduced (scripts/make-nn-swin-fixtures.py: patch 2, embed 8, depths
 * [2, 2], heads [2, 4], a 4×3 window, random weights everywhere) on a 22×30 input whose patch grids
 * (11×15, then 6×8) do not divide the window, so padding, the cyclic shift and the shifted-window mask
 * all run: logits, activations by module path and the input gradient against PyTorch (float64 there).
 */
const asTensor = (key: string) => tensor(Float32Array.from(arr(key).data as ArrayLike<number>), arr(key).shape);

function smallSwin(): SwinTransformer {
  const m = reducedSwin();
  expect(loadWeights(m, SWIN_WEIGHTS)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return m.eval();
}

test('a reduced torchvision Swin .pth loads and matches PyTorch: logits and activations by path (rel. error ≤ 1e-4)', () => {
  const model = smallSwin();
  expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
  expectForwardParity('swin small vs PyTorch', model, arr, { 'features.1.1': 'features.1.1', [info.camLayer]: 'cam_layer' });
});

test('the gradients of a weighted sum of the logits (input, bias table, qkv, patch-merging norm) match PyTorch (rel. error ≤ 1e-4)', () => {
  expect(Object.keys(expectGradientParity('swin small gradients', smallSwin(), { arrays: expected, arr }))).toHaveLength(3);
});

test('a map one window high shifts only along the width, as torchvision (logits rel. error ≤ 1e-4)', () => {
  const model = smallSwin();
  const y = tidy(() => model.call(asTensor('flat_input')));
  const err = relError(y, arr('flat_logits'));
  console.log(`swin small, flat input: logits ${err.toExponential(2)}`);
  expect(err).toBeLessThanOrEqual(1e-4);
  y.dispose();
});

test('the default CAM layer is the last block’s norm1, a channels-last layer', () => {
  const model = smallSwin();
  expect(defaultCamLayer(model, [1, 3, 22, 30])).toBe(info.camLayer);
  expect(defaultCamLayer(swinT({ init: false }))).toBe('features.7.1.norm1');
  expect(model.channelsLast('features.3.1.norm1')).toBe(true);
  expect(model.channelsLast('features.0')).toBe(true);
  expect(model.channelsLast('features.0.1')).toBe(true);
  expect(model.channelsLast('features.2.reduction')).toBe(true);
  expect(model.channelsLast('norm')).toBe(true);
  expect(model.channelsLast('features.0.0')).toBe(false);
  expect(model.channelsLast('permute')).toBe(false);
  expect(model.channelsLast('avgpool')).toBe(false);
});

test('roll is torch.roll along one dim, both ways, and its gradient rolls back', () => {
  const x = tensor([0, 1, 2, 3, 4], [5]);
  expect(Array.from(roll(x, 2, 0).dataSync())).toEqual([3, 4, 0, 1, 2]);
  expect(Array.from(roll(x, -2, 0).dataSync())).toEqual([2, 3, 4, 0, 1]);
  expect(Array.from(roll(x, 7, 0).dataSync())).toEqual([3, 4, 0, 1, 2]);
  const [g] = grad((t) => sum(mul(roll(t, 1, 0), tensor([1, 2, 3, 4, 5], [5]))), [x]);
  expect(Array.from(g!.dataSync())).toEqual([2, 3, 4, 5, 1]);
});

test('the builders make torchvision’s shapes, and bad configurations fail in one line', () => {
  const t = createModel('swin_t', { widthDivisor: 8, numClasses: 4 }) as SwinTransformer;
  expect(t.config.embedDim).toBe(12);
  const y = tidy(() => t.eval().call(tensor(new Float32Array(3 * 32 * 40), [1, 3, 32, 40])));
  expect(y.shape).toEqual([1, 4]);
  y.dispose();
  const bad = (depths: number[], heads: number[]) => () =>
    new SwinTransformer({ patchSize: [4, 4], embedDim: 8, depths, numHeads: heads, windowSize: [7, 7], stochasticDepthProb: 0 });
  expect(bad([2, 2], [2])).toThrow(/depths \(2\) and numHeads \(1\)/);
  expect(bad([2], [3])).toThrow(/dim 8 must be divisible by numHeads 3/);
  const m = smallSwin();
  expect(() => m.call(tensor(new Float32Array(2 * 22 * 30), [1, 2, 22, 30]))).toThrow(/input must be \[N, 3, H, W\], got \[1, 2, 22, 30\]/);
  expect(() => m.call(tensor(new Float32Array(3), [1, 3, 1, 1]))).toThrow(/input 1×1 is smaller than one 2×2 patch/);
  // An index buffer loaded for another window: one line naming both buffers, not a wrong bias.
  const index = m.stateDict()['features.1.1.attn.relative_position_index']!;
  assign(index, (v) => v.fill(99));
  expect(() => tidy(() => m.call(asTensor('input')))).toThrow(
    /^ShiftedWindowAttention: relative_position_index holds 99, outside the 35 rows of relative_position_bias_table/,
  );
});
