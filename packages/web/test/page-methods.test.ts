import { createModel, defaultCamLayer, loadBundledModel } from '@gradlens/nn';
import type { BundledModelName } from '@gradlens/nn';
import { Generator, tensor } from '@gradlens/tensor';
import { DEFAULT_BUDGET, METHODS } from '../../cli/src/methods';
import { modelOutput } from '../../cli/src/model-output';
import { seedStateDict } from '../../nn/test/segmentation-fixture';
import { mapTarget } from '../src/worker/listing';
import { pageMethods } from '../src/worker/page-methods';

/** The page offers a model the methods whose `applies` check passes on it, as `explain --method all` runs them. */
const offered = (name: BundledModelName): string[] => {
  const { model, info } = loadBundledModel(name);
  return pageMethods(METHODS, model, 64, info.targetLayer).map((m) => m.name);
};

test('a GAP CNN: every method but the transformer ones', () => {
  const names = offered('gapnet');
  for (const m of ['gradcam', 'cam', 'guided', 'deconvnet', 'lrp', 'scorecam', 'occlusion']) expect(names).toContain(m);
  for (const m of ['rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp']) expect(names).not.toContain(m);
});

test('a CNN with a fully connected head: no CAM', () => {
  const names = offered('smallvgg');
  expect(names).toContain('gradcam');
  expect(names).not.toContain('cam');
});

test('the bundled ViT: the attention methods and transformer LRP, not the ReLU-rule methods', () => {
  const names = offered('vit');
  for (const m of ['rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp', 'gradcam']) expect(names).toContain(m);
  for (const m of ['guided', 'deconvnet', 'guided-gradcam']) expect(names).not.toContain(m);
});

test('a segmentation model: every method offered runs on the page’s target, a class over its predicted pixels; not CAM or Finer-CAM', () => {
  const model = createModel('fcn_resnet50', { numClasses: 3, widthDivisor: 16 }).eval();
  seedStateDict(model);
  const layer = defaultCamLayer(model, [1, 3, 32, 32]);
  const names = pageMethods(METHODS, model, 32, layer).map((m) => m.name);
  for (const m of ['gradcam', 'gradcam++', 'scorecam', 'vanilla', 'guided', 'ig', 'smoothgrad', 'occlusion']) expect(names).toContain(m);
  // those that read class scores themselves say why not (CAM's linear head, Finer-CAM's similar classes)
  for (const m of ['cam', 'finercam']) expect(names).not.toContain(m);
  const g = new Generator(3);
  const x = tensor(
    Float32Array.from({ length: 3 * 32 * 32 }, () => 2 * g.uniform() - 1),
    [1, 3, 32, 32],
  );
  const target = mapTarget(modelOutput(model, x), null, []);
  expect(target.mapClass).toBeDefined();
  const failed: string[] = [];
  for (const spec of METHODS.filter((m) => names.includes(m.name))) {
    try {
      const maps = spec.run({
        model,
        input: x,
        target: undefined,
        targetFn: target.fn,
        layer,
        reference: false,
        budget: { ...DEFAULT_BUDGET, samples: 2, steps: 2, batchSize: 8 },
        onWarning: () => undefined,
      });
      if (!Array.from(maps.raw.data as Float32Array).every(Number.isFinite)) failed.push(`${spec.name}: not finite`);
    } catch (e) {
      failed.push(`${spec.name}: ${(e as Error).message}`);
    }
  }
  expect(failed).toEqual([]);
}, 300000);
