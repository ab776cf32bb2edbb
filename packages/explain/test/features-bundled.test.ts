// Feature visualisation on the bundled gapnet (trained, 64×64), issue 22: filters of its last ReLU that
// are silent on the grey starting image must still come alive (they stayed the start image), deep
// dream must amplify a filter on a real picture, and the inversion must give the picture back, not noise.
import * as path from 'path';
import { bundledWeightsDir, imageToInput, loadBundledModel } from '@gradlens/nn';
import { Generator, mean, noGrad, reshape, slice, tensor, tidy } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { IMAGENET_MEAN, readImage } from '@gradlens/io';
import { deepDream, invertRepresentation, visualizeFilter } from '../src';
import { layerOutput, randomImage } from '../src/features/common';

const LAYER = 'features.13';

/** Mean post-ReLU activation of `filter` at LAYER for a normalised image [3, 64, 64]. */
function filterMean(model: Module, image: Tensor | Float32Array, filter: number): number {
  return noGrad(() =>
    tidy(() => {
      const x = image instanceof Float32Array ? tensor(image, [1, 3, 64, 64], 'float32') : reshape(image, [1, 3, 64, 64]);
      return mean(slice(layerOutput('test', model, LAYER, x, 1), 1, filter, filter + 1)).item();
    }),
  );
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

/** Pearson correlation of two equally long arrays. */
function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]! / a.length;
    mb += b[i]! / b.length;
  }
  let s = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    s += (a[i]! - ma) * (b[i]! - mb);
    sa += (a[i]! - ma) ** 2;
    sb += (b[i]! - mb) ** 2;
  }
  return s / Math.sqrt(sa * sb);
}

/** The bundled picture of an ankle boot on clutter, as gapnet's input [1, 3, 64, 64]. */
function bootPicture(input: Parameters<typeof imageToInput>[1]): Tensor {
  return imageToInput(readImage(path.join(bundledWeightsDir(), 'samples', '00-ankle-boot.png')), input);
}

test('gapnet deep dream on a real picture: a filter of features.13 rises by a large factor; so does the layer norm', () => {
  const { model, card, input } = loadBundledModel('gapnet');
  const norm = { mean: card.normalization.mean, std: card.normalization.std };
  const x = bootPicture(input);
  const filter = 3;
  const before = filterMean(model, x, filter);
  const r = deepDream(model, x, { layer: LAYER, filter, ...norm });
  const after = filterMean(model, r.image, filter);
  // Measured: 0.43 → 13.3 (3 octaves × 20 steps, lr 0.05, jitter 2).
  expect(before).toBeGreaterThan(0.1);
  expect(after).toBeGreaterThan(10 * before);
  // The dream still shows the picture: most of its pixels stay where they were.
  expect(pearson(r.image.dataSync(), x.dataSync())).toBeGreaterThan(0.5);
  r.image.dispose();
  const layerNorm = deepDream(model, x, { layer: LAYER, ...norm, octaves: 1 });
  // ½·mean(A²) of the whole layer, measured 0.56 → 13.3 with one octave of 20 steps.
  expect(layerNorm.finalObjective).toBeGreaterThan(5 * layerNorm.objective[0]!);
  layerNorm.image.dispose();
  x.dispose();
}, 120_000);

test('gapnet inversion of features.8: the feature distance falls tenfold and the picture correlates with the target (fourier, not pixels)', () => {
  const { model, card, input } = loadBundledModel('gapnet');
  const norm = { mean: card.normalization.mean, std: card.normalization.std };
  const x = bootPicture(input);
  const steps = 60;
  const r = invertRepresentation(model, x, { layer: 'features.8', steps, ...norm });
  const target = x.dataSync();
  const rFourier = pearson(r.image.dataSync(), target);
  // Measured: relative feature distance 0.92 → 0.021, r 0.41 (60 Adam steps, lr 0.05).
  expect(r.finalObjective).toBeLessThan(0.1 * r.objective[0]!);
  expect(rFourier).toBeGreaterThan(0.3);
  // The same budget on raw pixels matches the features as closely (0.91 → 0.017), but the picture is noise (r 0.05).
  const px = invertRepresentation(model, x, { layer: 'features.8', steps, ...norm, parametrization: 'pixel' });
  expect(px.finalObjective).toBeLessThan(0.1 * px.objective[0]!);
  expect(pearson(px.image.dataSync(), target)).toBeLessThan(rFourier - 0.2);
  r.image.dispose();
  px.image.dispose();
  x.dispose();
}, 120_000);
