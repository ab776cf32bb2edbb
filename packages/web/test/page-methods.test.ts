import { loadBundledModel } from '@gradlens/nn';
import type { BundledModelName } from '@gradlens/nn';
import { METHODS } from '../../cli/src/methods';
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
