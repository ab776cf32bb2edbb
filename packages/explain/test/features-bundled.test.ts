// Filter visualisation on the bundled gapnet (trained, 64×64): the filters of its last ReLU that are
// silent on the grey starting image must still come alive (issue 22: they stayed the start image).
import { loadBundledModel } from '@gradlens/nn';
import { Generator, mean, noGrad, reshape, slice, tensor, tidy } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { IMAGENET_MEAN } from '@gradlens/io';
import { visualizeFilter } from '../src';
import { layerOutput, randomImage } from '../src/features/common';

const LAYER = 'features.13';

/** Mean post-ReLU activation of `filter` at LAYER for a normalised image [3, 64, 64]. */
function filterMean(model: Module, image: Tensor | Float32Array, filter: number): number {
  return noGrad(() => tidy(() => {
    const x = image instanceof Float32Array ? tensor(image, [1, 3, 64, 64], 'float32') : reshape(image, [1, 3, 64, 64]);
    return mean(slice(layerOutput('test', model, LAYER, x, 1), 1, filter, filter + 1)).item();
  }));
}

test('gapnet features.13: filters silent on the start image rise by a large factor (pre-activation objective)', () => {
  const { model, card } = loadBundledModel('gapnet');
  const norm = { mean: card.normalization.mean, std: card.normalization.std };
  expect(norm.mean).not.toEqual(IMAGENET_MEAN);
  for (const filter of [0, 2]) {
    // The starting image visualizeFilter uses (seed = filter, the reference's grey 150–180 noise).
    const start = randomImage(64, 64, 150 / 255, 180 / 255, norm.mean, norm.std, new Generator(filter));
    const before = filterMean(model, start, filter);
    const r = visualizeFilter(model, { layer: LAYER, filter, size: 64, steps: 30, ...norm, seed: filter });
    const after = filterMean(model, r.image, filter);
    // Measured: before 0 (silent), after 15–19 for filters 0 and 2 (30 Adam steps, lr 0.1).
    expect(after).toBeGreaterThan(50 * Math.max(before, 0.05));
    // The reference objective (the ReLU's output) has no gradient here: the image stays the start.
    if (before === 0) {
      const ref = visualizeFilter(model, { layer: LAYER, filter, size: 64, steps: 3, ...norm, seed: filter, preActivation: false });
      expect(filterMean(model, ref.image, filter)).toBe(0);
      ref.image.dispose();
    }
    r.image.dispose();
  }
}, 120_000);
