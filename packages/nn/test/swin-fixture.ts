/**
 * The reduced torchvision Swin of fixtures/swin (scripts/make-nn-swin-fixtures.py), shared by the nn, explain and
 * cli tests: its arrays, its configuration, and the model built from that configuration.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SwinTransformer } from '@gradlens/nn';
import { npzFixture } from './parity';

/** A reduced Swin fixture's configuration file (config.json, written by the fixture scripts). */
export interface SwinFixtureInfo {
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
}

/** A reduced Swin fixture folder's configuration (fixtures/swin for v1, fixtures/swin-v2 for v2). */
export const readSwinInfo = (dir: string): SwinFixtureInfo =>
  JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as SwinFixtureInfo;

export const SWIN_FIXTURES = path.join(__dirname, 'fixtures', 'swin');
/** The weights file of the reduced Swin (a torchvision state dict). */
export const SWIN_WEIGHTS = path.join(SWIN_FIXTURES, 'small.pth');
export const { arrays: swinArrays, arr: swinArray } = npzFixture(path.join(SWIN_FIXTURES, 'expected.npz'));
export const swinInfo = readSwinInfo(SWIN_FIXTURES);

/** The reduced Swin as a fixture script configures it (v1 unless `version` 2), without weights (load its small.pth). */
export function reducedSwin(info: SwinFixtureInfo = swinInfo, version: 1 | 2 = 1): SwinTransformer {
  const c = info.config;
  return new SwinTransformer(
    {
      patchSize: c.patch_size,
      embedDim: c.embed_dim,
      depths: c.depths,
      numHeads: c.num_heads,
      windowSize: c.window_size,
      stochasticDepthProb: 0.1,
      version,
    },
    { numClasses: c.num_classes, init: false },
  );
}
