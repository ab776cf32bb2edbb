import * as path from 'path';
import { assign, numTensors, record, tensor, zeros } from '@gradlens/tensor';
import { createModel, layers, loadWeights, readStateDict, VisionTransformer, vitB16, vitImageSizeOf } from '@gradlens/nn';
import { npzFixture, relError } from './parity';

/**
 * torchvision's VisionTransformer, reduced (scripts/make-vit-fixtures.py: 32×32 images, patch 8, 3 layers,
 * 4 heads, hidden 32, MLP 64, random weights everywhere, saved with the legacy `mlp.linear_1` keys of
 * torchvision's published checkpoints): the .pth loads with no renaming and reproduces PyTorch's logits and
 * the encoder layer found by module path. Full-size names and shapes are checked in models-names.test.ts.
 */
const FIX = path.join(__dirname, 'fixtures');
const { arr } = npzFixture(path.join(FIX, 'vit-expected.npz'));
const SMALL = { imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 32, mlpDim: 64, numClasses: 10 };

test('a reduced torchvision ViT .pth loads and matches PyTorch (logits and encoder_layer_1, rel. error ≤ 1e-4)', () => {
  const model = new VisionTransformer(SMALL, { numClasses: 10, init: false });
  expect(loadWeights(model, path.join(FIX, 'vit_small.pth'))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  model.eval();
  const before = numTensors();
  const x = tensor(Float32Array.from(arr('input').data as Float32Array), arr('input').shape);
  const { output, tape } = record(() => model.call(x));
  const logits = relError(output, arr('logits'));
  const activation = relError(tape.activation('encoder.layers.encoder_layer_1'), arr('activation'));
  console.log(`vit_small: logits ${logits.toExponential(2)}, encoder_layer_1 ${activation.toExponential(2)}`);
  expect(logits).toBeLessThanOrEqual(1e-4);
  expect(activation).toBeLessThanOrEqual(1e-4);
  tape.dispose();
  output.dispose();
  x.dispose();
  expect(numTensors()).toBe(before);
});

test('the builders take the reduced shape through their options', () => {
  const m = createModel('vit_b_16', { ...SMALL, init: false });
  expect(m).toBeInstanceOf(VisionTransformer);
  expect(loadWeights(m, path.join(FIX, 'vit_small.pth'))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  expect((m as VisionTransformer).tokenGrid).toEqual([4, 4]);
});

test('layers() lists torchvision module paths with token-shaped outputs', () => {
  const m = vitB16({ ...SMALL, numLayers: 12, init: false });
  const rows = layers(m, [1, 3, 32, 32]);
  const byPath = new Map(rows.map((r) => [r.path, r]));
  expect(byPath.get('encoder.layers.encoder_layer_11.ln_1')).toMatchObject({ type: 'LayerNorm', outputShape: [1, 17, 32] });
  expect(byPath.get('encoder.layers.encoder_layer_11.self_attention')).toMatchObject({
    type: 'MultiheadAttention',
    outputShape: [1, 17, 32],
  });
  expect(byPath.get('encoder.layers.encoder_layer_0.mlp.1')).toMatchObject({ type: 'GELU', outputShape: [1, 17, 64] });
  expect(byPath.get('conv_proj')).toMatchObject({ outputShape: [1, 32, 4, 4] });
  expect(byPath.get('heads.head')).toMatchObject({ outputShape: [1, 10] });
});

test('random initialisation gives a working model whose output depends on the input', () => {
  const m = new VisionTransformer({ ...SMALL, numLayers: 1 }, { numClasses: 3 }).eval();
  // torchvision zero-initialises the head; give it values so the output shows the input's effect.
  assign(m.heads.at(0).parameters()[0]!, (v) => v.fill(0.1));
  const a = m.call(zeros([1, 3, 32, 32]));
  const b = m.call(
    tensor(
      new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i)),
      [1, 3, 32, 32],
    ),
  );
  expect(a.shape).toEqual([1, 3]);
  expect(Math.abs(a.dataSync()[0]! - b.dataSync()[0]!)).toBeGreaterThan(0);
});

test('bad input: wrong image size, bad configuration', () => {
  const m = new VisionTransformer(SMALL, { numClasses: 10, init: false });
  expect(() => m.call(zeros([1, 3, 64, 64]))).toThrow(/^VisionTransformer: input must be \[N, 3, 32, 32\], got \[1, 3, 64, 64\]/);
  expect(() => new VisionTransformer({ ...SMALL, patchSize: 5 })).toThrow(/imageSize 32 must be divisible by patchSize 5/);
  expect(() => new VisionTransformer({ ...SMALL, numHeads: 3 })).toThrow(/hiddenDim 32 must be divisible by numHeads 3/);
  expect(() => vitB16({ numLayers: 0 })).toThrow(/^vit_b_16: VisionTransformer: numLayers must be a positive integer, got 0/);
});

describe('vitImageSizeOf: the side a state dict was trained at, from its position embeddings', () => {
  test('the reduced fixture (32×32, patch 8: 17 tokens) and torchvision SWAG-sized tables', () => {
    const dict = readStateDict(path.join(FIX, 'vit_small.pth'));
    expect(vitImageSizeOf(dict, 8)).toBe(32);
    // vit_h_14's SWAG weights: 518 / 14 = 37, 1 + 37² = 1370 tokens; vit_b_16's at 384: 577 tokens
    expect(vitImageSizeOf({ 'encoder.pos_embedding': { shape: [1, 1370, 1280] } }, 14)).toBe(518);
    expect(vitImageSizeOf({ 'module.encoder.pos_embedding': { shape: [1, 577, 768] } }, 16)).toBe(384);
  });

  test('a model built at that side loads the weights; the default side names the mismatch', () => {
    const dict = readStateDict(path.join(FIX, 'vit_small.pth'));
    const side = vitImageSizeOf(dict, 8)!;
    const model = new VisionTransformer({ ...SMALL, imageSize: side }, { numClasses: 10, init: false });
    expect(loadWeights(model, path.join(FIX, 'vit_small.pth'))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const wrong = new VisionTransformer({ ...SMALL, imageSize: 64 }, { numClasses: 10, init: false });
    expect(() => loadWeights(wrong, path.join(FIX, 'vit_small.pth'))).toThrow(
      /encoder\.pos_embedding: file \[1, 17, 32\] vs model \[1, 65, 32\]/,
    );
  });

  test('no table: null; a table that is no class token plus a square grid: a one-line error', () => {
    expect(vitImageSizeOf({ 'conv_proj.weight': { shape: [768, 3, 16, 16] } }, 16)).toBeNull();
    expect(() => vitImageSizeOf({ 'encoder.pos_embedding': { shape: [1, 200, 768] } }, 16)).toThrow(
      /^encoder\.pos_embedding has shape \[1, 200, 768\]: expected \[1, 1 \+ g², hidden\]/,
    );
    expect(() => vitImageSizeOf({ 'encoder.pos_embedding': { shape: [197, 768] } }, 16)).toThrow(/shape \[197, 768\]/);
  });
});
