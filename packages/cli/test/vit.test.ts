import * as path from 'path';
import { createModel, loadWeights, VisionTransformer } from '@gradlens/nn';
import { tensor } from '@gradlens/tensor';
import type { MethodContext } from '../src/methods';
import { DEFAULT_BUDGET, methodByName } from '../src/methods';
import { main } from '../src/main';
import { captureStreams } from './fixtures';

/**
 * The command line and vision transformers: `layers --arch vit_b_32` lists torchvision's module paths
 * and the default CAM layer; the attention methods and the CAM family run as the CLI runs them on the
 * nn package's reduced torchvision ViT, and refuse a CNN before any work. (A full-size explain run is
 * left out of the suite: writing a random 88M-parameter state dict alone takes minutes on a shared
 * 2-core machine; `--arch vit_b_16 --weights` goes through the same loader as every architecture.)
 */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const s = captureStreams();
  const code = await main(argv, s);
  return { code, out: s.out(), err: s.err() };
}

test('layers --arch vit_b_32: encoder paths, token shapes, the default CAM layer', async () => {
  const r = await run('layers', '--arch', 'vit_b_32');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/default CAM layer: encoder\.layers\.encoder_layer_11\.ln_1/);
  expect(r.out).toMatch(/encoder\.layers\.encoder_layer_11\.ln_1\s+LayerNorm\s+\[1, 50, 768\]/);
  expect(r.out).toMatch(/encoder\.layers\.encoder_layer_11\.self_attention\s+MultiheadAttention\s+\[1, 50, 768\]/);
}, 120_000);

describe('the attention methods and Grad-CAM as the CLI runs them', () => {
  const model = new VisionTransformer(
    { imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 32, mlpDim: 64 },
    { numClasses: 10, init: false },
  );
  loadWeights(model, path.join(__dirname, '..', '..', 'nn', 'test', 'fixtures', 'vit_small.pth'));
  model.eval();
  const input = tensor(
    new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i * 0.37)),
    [1, 3, 32, 32],
  );
  const ctx: MethodContext = {
    model,
    input,
    target: 3,
    layer: 'encoder.layers.encoder_layer_2.ln_1',
    reference: false,
    budget: DEFAULT_BUDGET,
    onWarning: () => undefined,
  };

  test.each(['rollout', 'generic-attention', 'transformer-attribution', 'gradcam'])(
    '%s gives a 4×4 map and its 32×32 upsampling',
    (name) => {
      const spec = methodByName(name);
      expect(spec.applies?.(ctx) ?? null).toBeNull();
      const maps = spec.run(ctx);
      expect(maps.kind).toBe('cam');
      expect(maps.raw.shape).toEqual([4, 4]);
      expect(maps.upsampled?.shape).toEqual([32, 32]);
      expect(Array.from(maps.raw.data).every(Number.isFinite)).toBe(true);
    },
  );

  test('an attention method does not apply to a CNN, and says why', () => {
    const cnn = createModel('resnet18', { widthDivisor: 16, numClasses: 10, init: false }).eval();
    const why = methodByName('rollout').applies?.({ ...ctx, model: cnn });
    expect(why).toMatch(/it reads attention probabilities; it needs a vision transformer/);
  });

  test('LRP with the transformer rules reports conservation', () => {
    const maps = methodByName('lrp').run({ ...ctx, budget: { ...DEFAULT_BUDGET, lrpComposite: 'conservative' } });
    expect(maps.raw.shape).toEqual([3, 32, 32]);
    expect(maps.notes.join(' ')).toMatch(/relevance conservation/);
  });
});
