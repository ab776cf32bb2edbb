import * as fs from 'fs';
import * as path from 'path';
import { FASHION_MNIST_CLASSES } from '../src/datasets';
import { SMALLVIT_CONFIG, SMALLVIT_STEM, smallvit } from '../src/models';

const weightsDir = path.resolve(__dirname, '..', '..', '..', 'weights');

/**
 * The bundled ViT's card (weights/vit.*, trained by weights/train.js --model vit) says the shape smallvit()
 * builds. The strict load (torchvision's keys only: no stem BatchNorm, no training-only auxiliary head) and
 * the samples classified as its test accuracy promises are bundled.test.ts's check of every bundled model.
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
});
