/**
 * The reduced torchvision Swin of fixtures/swin (scripts/make-nn-swin-fixtures.py), shared by the nn, explain and
 * cli tests: its arrays, its configuration, and the model built from that configuration.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SwinTransformer } from '@gradlens/nn';
import { npzFixture } from './parity';

export const SWIN_FIXTURES = path.join(__dirname, 'fixtures', 'swin');
/** The weights file of the reduced Swin (a torchvision state dict). */
export const SWIN_WEIGHTS = path.join(SWIN_FIXTURES, 'small.pth');
export const { arrays: swinArrays, arr: swinArray } = npzFixture(path.join(SWIN_FIXTURES, 'expected.npz'));
export const swinInfo = JSON.parse(fs.readFileSync(path.join(SWIN_FIXTURES, 'config.json'), 'utf8')) as {
  config: {
    patch_size: [number, number];
    embed_dim: number;
    depths: number[];
    num_heads: number[];
    window_size: [number, number];
    num_classes: number;
  };
  camLayer: string;
  params: number;
};

/** The reduced Swin as the fixture script configures it, without weights (load SWIN_WEIGHTS into it). */
export function reducedSwin(): SwinTransformer {
  const c = swinInfo.config;
  return new SwinTransformer(
    {
      patchSize: c.patch_size,
      embedDim: c.embed_dim,
      depths: c.depths,
      numHeads: c.num_heads,
      windowSize: c.window_size,
      stochasticDepthProb: 0.1,
    },
    { numClasses: c.num_classes, init: false },
  );
}
