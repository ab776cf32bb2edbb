import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GoogLeNet, Inception3, MNASNet, saveCheckpoint } from '@gradlens/nn';
import { loadArch } from '../src/model';

/**
 * `--arch` reads what a weights file says beyond its names: MNASNet checkpoints in torchvision's version 1 layout
 * (a fixed 32 → 16 stem, as the published mnasnet0_5 weights) are built in that layout; version 2 ones as before.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-arch-layouts-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each([
  [1, [32, 3, 3, 3]],
  [2, [16, 3, 3, 3]],
] as const)(
  'mnasnet0_5 weights in the version %i layout load into that layout',
  (version, stem) => {
    const file = path.join(dir, `mnasnet0_5-v${version}.safetensors`);
    saveCheckpoint(file, new MNASNet(0.5, { version, numClasses: 7, init: false }));
    const loaded = loadArch('mnasnet0_5', file);
    expect(loaded.model.stateDict()['layers.0.weight']!.shape).toEqual(stem);
    expect(loaded.model.stateDict()['classifier.1.weight']!.shape).toEqual([7, 1280]);
    expect(loaded.size).toBe(224);
  },
  60_000,
);

test.each([
  ['googlenet', () => new GoogLeNet({ auxLogits: false, numClasses: 5, init: false }), 'aux1.conv.conv.weight'],
  ['inception_v3', () => new Inception3({ auxLogits: false, numClasses: 5, init: false }), 'AuxLogits.conv0.conv.weight'],
] as const)(
  '%s weights saved without the auxiliary classifiers (aux_logits=False) load',
  (arch, build, auxKey) => {
    const file = path.join(dir, `${arch}-noaux.safetensors`);
    saveCheckpoint(file, build());
    const loaded = loadArch(arch, file);
    expect(loaded.model.stateDict()[auxKey]).toBeUndefined();
    expect(loaded.model.stateDict()['fc.weight']!.shape[0]).toBe(5);
  },
  60_000,
);
