import * as path from 'path';
import { assign, grad, sum, tensor, tidy } from '@gradlens/tensor';
import {
  createModel,
  defaultCamLayer,
  type Linear,
  loadWeights,
  relativeCoordsTable,
  ShiftedWindowAttentionV2,
  SwinTransformer,
  swinV2T,
} from '@gradlens/nn';
import { asTensor as toTensor, expectForwardParity, expectGradientParity, npzFixture, relError } from './parity';
import { readSwinInfo, reducedSwin } from './swin-fixture';

/**
 * torchvision's SwinTransformer with its V2 blocks and patch merging, reduced (scripts/make-nn-swin-v2-fixtures.py:
 * patch 2, embed 8, depths [2, 2], heads [2, 4], a 4×3 window, random weights everywhere, logit scales past
 * the ln 100 clamp) on a 22×30 input whose patch grids (11×15, then 6×8) do not divide the window, so padding,
 * the cyclic shift and the shifted-window mask all run: logits, activations by module path, the input gradient
 * and parameter gradients against PyTorch (float64 there).
 */
const DIR = path.join(__dirname, 'fixtures', 'swin-v2');
const WEIGHTS = path.join(DIR, 'small.pth');
const { arrays: expected, arr } = npzFixture(path.join(DIR, 'expected.npz'));
const info = readSwinInfo(DIR);
const asTensor = (key: string) => toTensor(arr(key));

function smallSwinV2(): SwinTransformer {
  const m = reducedSwin(info, 2);
  expect(loadWeights(m, WEIGHTS)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return m.eval();
}

test('a reduced torchvision Swin V2 .pth loads and matches PyTorch: logits and activations by path (rel. error ≤ 1e-4)', () => {
  const model = smallSwinV2();
  expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
  expectForwardParity('swin v2 small vs PyTorch', model, arr, { 'features.1.1': 'features.1.1', [info.camLayer]: 'cam_layer' });
});

test('the gradients of a weighted sum of the logits (input, logit scale, cpb_mlp, qkv bias, patch-merging norm) match PyTorch', () => {
  const model = smallSwinV2();
  const grads = expectGradientParity('swin v2 small gradients', model, { arrays: expected, arr });
  expect(Object.keys(grads)).toHaveLength(4);
  // k's third of qkv.bias is zeroed in every pass (torchvision), so it gets no gradient; q's and v's do.
  const gb = grads['features.3.1.attn.qkv.bias']!;
  const c = gb.length / 3;
  expect(Array.from(gb.slice(c, 2 * c)).every((v) => v === 0)).toBe(true);
  expect(Array.from(gb.slice(0, c)).some((v) => v !== 0)).toBe(true);
  // A head whose logit scale is past ln 100 is clamped: no gradient; the others have one.
  const params = Object.fromEntries(model.namedParameters());
  const scale = params['features.3.1.attn.logit_scale']!.dataSync();
  const gs = grads['features.3.1.attn.logit_scale']!;
  scale.forEach((s, h) => (s > Math.log(100) ? expect(gs[h]).toBe(0) : expect(gs[h]).not.toBe(0)));
});

test('a map one window high shifts only along the width, as torchvision (logits rel. error ≤ 1e-4)', () => {
  const model = smallSwinV2();
  const y = tidy(() => model.call(asTensor('flat_input')));
  const err = relError(y, arr('flat_logits'));
  console.log(`swin v2 small, flat input: logits ${err.toExponential(2)}`);
  expect(err).toBeLessThanOrEqual(1e-4);
  y.dispose();
});

test('the log-spaced coordinates and the index built here equal the buffers torchvision saved', () => {
  const built = reducedSwin(info, 2).stateDict();
  const loaded = smallSwinV2().stateDict();
  for (const key of ['features.1.0.attn.relative_coords_table', 'features.3.1.attn.relative_coords_table']) {
    const a = built[key]!.dataSync(),
      b = loaded[key]!.dataSync();
    expect(a.length).toBe(b.length);
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-7));
  }
  expect(Array.from(built['features.1.1.attn.relative_position_index']!.dataSync())).toEqual(
    Array.from(loaded['features.1.1.attn.relative_position_index']!.dataSync()),
  );
  expect(relativeCoordsTable([8, 8]).shape).toEqual([1, 15, 15, 2]);
});

test('the default CAM layer is the last block’s norm1, a channels-last layer', () => {
  const model = smallSwinV2();
  expect(defaultCamLayer(model, [1, 3, 22, 30])).toBe(info.camLayer);
  expect(defaultCamLayer(swinV2T({ init: false }))).toBe('features.7.1.norm1');
  expect(model.channelsLast('features.3.1.norm1')).toBe(true);
  expect(model.channelsLast('features.2.norm')).toBe(true);
  expect(model.channelsLast('features.0.0')).toBe(false);
});

test('the builders make torchvision’s shapes, and bad configurations and inputs fail in one line', () => {
  const t = createModel('swin_v2_t', { widthDivisor: 8, numClasses: 4 }) as SwinTransformer;
  expect(t.config.embedDim).toBe(12);
  expect(t.config.version).toBe(2);
  expect(t.getModule('features.1.0.attn')).toBeInstanceOf(ShiftedWindowAttentionV2);
  const y = tidy(() => t.eval().call(tensor(new Float32Array(3 * 32 * 40), [1, 3, 32, 40])));
  expect(y.shape).toEqual([1, 4]);
  y.dispose();
  // Fresh weights have zero biases, so the padded tokens' q and k are 0: F.normalize's clamp keeps their gradient 0,
  // not NaN (which qkv.weight's gradient would take through the padded rows; the input's drops them).
  const input = tensor(
    Float32Array.from({ length: 3 * 32 * 40 }, (_, i) => Math.sin(i)),
    [1, 3, 32, 40],
  );
  const qkv = t.getModule('features.1.0.attn.qkv') as Linear;
  for (const g of grad((xi) => sum(t.call(xi)), [input, qkv.weight])) {
    const gv = Array.from(g.dataSync());
    expect(gv.every(Number.isFinite)).toBe(true);
    expect(gv.some((v) => v !== 0)).toBe(true);
  }
  const cfg = {
    patchSize: [4, 4] as [number, number],
    embedDim: 8,
    depths: [2],
    numHeads: [2],
    stochasticDepthProb: 0,
    version: 2 as const,
  };
  expect(() => new SwinTransformer({ ...cfg, windowSize: [1, 4] })).toThrow(
    /^ShiftedWindowAttentionV2: windowSize must be at least 2×2, got 1×4$/,
  );
  expect(() => new SwinTransformer({ ...cfg, windowSize: [4, 4], version: 3 as unknown as 2 })).toThrow(
    /^SwinTransformer: version must be 1 or 2, got 3$/,
  );
  const m = smallSwinV2();
  expect(() => m.call(tensor(new Float32Array(4 * 22 * 30), [1, 4, 22, 30]))).toThrow(/input must be \[N, 3, H, W\], got \[1, 4, 22, 30\]/);
  expect(() => m.call(tensor(new Float32Array(3), [1, 3, 1, 1]))).toThrow(/input 1×1 is smaller than one 2×2 patch/);
  const index = m.stateDict()['features.1.1.attn.relative_position_index']!;
  assign(index, (v) => v.fill(99));
  expect(() => tidy(() => m.call(asTensor('input')))).toThrow(
    /^ShiftedWindowAttentionV2: relative_position_index holds 99, outside the 35 rows of relative_coords_table/,
  );
});
