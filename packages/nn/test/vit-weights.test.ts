import * as fs from 'fs';
import * as path from 'path';
import { readImage } from '@gradlens/io';
import { noGrad, numTensors, tensor, tidy } from '@gradlens/tensor';
import { FASHION_MNIST_CLASSES } from '../src/datasets';
import { SMALLVIT_CONFIG, SMALLVIT_STEM, smallvit } from '../src/models';
import { loadCheckpoint } from '../src/train';

const weightsDir = path.resolve(__dirname, '..', '..', '..', 'weights');

/**
 * The bundled ViT (weights/vit.*, trained by weights/train.js --model vit): a strict load into smallvit()
 * (torchvision's keys only: no stem BatchNorm, no training-only auxiliary head), a card that says the
 * shape smallvit() builds, and the 12 bundled samples classified as well as its test accuracy promises.
 */
describe('the bundled ViT weights', () => {
  const card = JSON.parse(fs.readFileSync(path.join(weightsDir, 'vit.json'), 'utf8')) as {
    name: string;
    architecture: string;
    classes: string[];
    parameters: number;
    testAccuracy: number;
    testPictures: number;
    normalization: { mean: number[]; std: number[] };
  };
  const meta = JSON.parse(fs.readFileSync(path.join(weightsDir, 'samples', 'samples.json'), 'utf8')) as {
    samples: { file: string; label: number }[];
  };

  test('card: smallvit()’s shape, torchvision’s constructor, accuracy on the whole test split', () => {
    expect(card.name).toBe('vit');
    expect(card.classes).toEqual(FASHION_MNIST_CLASSES);
    const c = SMALLVIT_CONFIG;
    expect(card.architecture).toContain(
      `VisionTransformer(image_size=64, patch_size=8, num_layers=${c.numLayers}, num_heads=${c.numHeads}, hidden_dim=${c.hiddenDim}, mlp_dim=${c.mlpDim}, num_classes=10, conv_stem_configs=[`,
    );
    for (const [ch, stride] of SMALLVIT_STEM)
      expect(card.architecture).toContain(`ConvStemConfig(out_channels=${ch}, kernel_size=3, stride=${stride}, norm_layer=None)`);
    expect(card.parameters).toBe(
      smallvit({ init: false })
        .parameters()
        .reduce((a, p) => a + p.size, 0),
    );
    expect(card.testPictures).toBe(10000);
    expect(fs.statSync(path.join(weightsDir, 'vit.safetensors')).size).toBeLessThan(1.5 * 1024 * 1024);
  });

  test('the weights load strictly into smallvit() and classify the samples', () => {
    const before = numTensors();
    const model = smallvit({ init: false });
    loadCheckpoint(path.join(weightsDir, 'vit.safetensors'), model, { strict: true });
    model.eval();
    const { mean, std } = card.normalization;
    const n = meta.samples.length;
    const x = new Float32Array(n * 3 * 4096);
    meta.samples.forEach((s, i) => {
      const img = readImage(path.join(weightsDir, 'samples', s.file));
      for (let k = 0; k < 4096; k++)
        for (let c = 0; c < 3; c++) x[i * 12288 + c * 4096 + k] = (img.data[3 * k + c]! / 255 - mean[c]!) / std[c]!;
    });
    const predicted = noGrad(() =>
      tidy(() => {
        const out = model.call(tensor(x, [n, 3, 64, 64])).values();
        return meta.samples.map((_, i) => {
          let best = 0;
          for (let j = 1; j < 10; j++) if (out[i * 10 + j]! > out[i * 10 + best]!) best = j;
          return best;
        });
      }),
    );
    const correct = predicted.filter((p, i) => p === meta.samples[i]!.label).length;
    // With test accuracy a, fewer than ⌈(a − 0.25)·n⌉ right out of n would be very unlikely (as bundled.test.ts).
    expect(correct).toBeGreaterThanOrEqual(Math.ceil((card.testAccuracy - 0.25) * n));
    for (const t of Object.values(model.stateDict())) t.dispose();
    expect(numTensors()).toBe(before);
  });
});
