import { loadWeights } from '@gradlens/nn';
import { tensor } from '@gradlens/tensor';
import type { MethodContext } from '../src/methods';
import { DEFAULT_BUDGET, METHODS, methodByName } from '../src/methods';
import { runCli } from './fixtures';
import { reducedSwin, SWIN_WEIGHTS, swinArrays as expected, swinInfo as info } from '../../nn/test/swin-fixture';

/**
 * The command line and Swin Transformers: `layers --arch swin_t` names the default CAM layer (the last
 * block's norm1, channels-last); the CAM family runs as the CLI runs it on the nn package's reduced
 * torchvision Swin, reading the channels-last layer on its grid (Grad-CAM equal to PyTorch's), and the
 * methods that cannot apply (attention over a class token, ReLU rules, CAM's GAP + linear head) say why
 * in one line, which is what `--method all` prints as it skips them. (A full-size explain run is left out
 * of the suite, as for ViT: it needs a 110 MB state dict.)
 */
test('layers --arch swin_t: channels-last block outputs and the default CAM layer', async () => {
  const r = await runCli('layers', '--arch', 'swin_t');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/default CAM layer: features\.7\.1\.norm1/);
  expect(r.out).toMatch(/features\.7\.1\.norm1\s+LayerNorm\s+\[1, 7, 7, 768\]/);
}, 120_000);

describe('the CAM family and the refusals as the CLI runs them on a reduced Swin', () => {
  const model = reducedSwin();
  loadWeights(model, SWIN_WEIGHTS);
  model.eval();
  const all = expected['input']!;
  const [, ch, h, w] = all.shape as [number, number, number, number];
  // The first item of the fixture batch, with its target.
  const input = tensor(Float32Array.from((all.data as Float32Array).subarray(0, ch * h * w)), [1, ch, h, w]);
  const target = Number((expected['target']!.data as Int32Array)[0]);
  const ctx: MethodContext = {
    model,
    input,
    target,
    layer: info.camLayer,
    reference: false,
    budget: DEFAULT_BUDGET,
    onWarning: () => undefined,
  };

  test('gradcam gives PyTorch’s map on the 6×8 grid of the channels-last layer', () => {
    const spec = methodByName('gradcam');
    expect(spec.applies?.(ctx) ?? null).toBeNull();
    const maps = spec.run(ctx);
    expect(maps.raw.shape).toEqual([6, 8]);
    expect(maps.upsampled?.shape).toEqual([22, 30]);
    const want = (expected['gradcam']!.data as Float32Array).subarray(0, 48);
    const scale = Math.max(...Array.from(want, Math.abs));
    Array.from(maps.raw.data).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * scale));
  });

  test.each(['gradcam++', 'xgradcam', 'hirescam', 'layercam', 'scorecam', 'ablationcam', 'eigencam'])('%s runs on the 6×8 grid', (name) => {
    const spec = methodByName(name);
    expect(spec.applies?.(ctx) ?? null).toBeNull();
    const maps = spec.run(ctx);
    expect(maps.raw.shape).toEqual([6, 8]);
    expect(Array.from(maps.raw.data).every(Number.isFinite)).toBe(true);
  });

  test.each(['layer-grad-x-act', 'layer-ig', 'layer-conductance'])('%s reads the channels-last layer on its 6×8 grid', (name) => {
    const maps = methodByName(name).run({ ...ctx, budget: { ...DEFAULT_BUDGET, steps: 3 } });
    expect(maps.raw.shape).toEqual([6, 8]);
    expect(Array.from(maps.raw.data).every(Number.isFinite)).toBe(true);
    expect(Array.from(maps.raw.data).some((v) => v !== 0)).toBe(true);
  });

  test('the methods that cannot apply say why in one line (what --method all prints as it skips them)', () => {
    const refused = Object.fromEntries(
      METHODS.map((m) => [m.name, m.applies?.(ctx) ?? null] as const).filter((e): e is readonly [string, string] => e[1] !== null),
    );
    for (const name of ['rollout', 'generic-attention', 'transformer-attribution'])
      expect(refused[name]).toMatch(/needs a vision transformer with a class token .*Swin attends within windows/);
    for (const name of ['guided', 'deconvnet', 'guided-gradcam'])
      expect(refused[name]).toMatch(/defined for ReLU networks.*use vanilla, grad-x-input or the CAM family; for a ViT also/);
    expect(refused['cam']).toMatch(/CAM needs global average pooling and then one linear layer/);
    for (const why of Object.values(refused)) expect(why).not.toMatch(/\n/);
    for (const name of ['vanilla', 'gradcam', 'ablationcam', 'occlusion']) expect(refused[name]).toBeUndefined();
  });
});
