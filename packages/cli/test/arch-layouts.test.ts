import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSafetensors } from '@gradlens/io';
import { GoogLeNet, Inception3, type MaxVit, MNASNet, saveCheckpoint } from '@gradlens/nn';
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

test('maxvit_t is built for the side it is fed: its transform crop (224), or --size', () => {
  // MaxViT's grid attention cuts its maps into fixed cells, so torchvision builds it for one input size.
  const file = path.join(dir, 'maxvit-head.safetensors');
  writeSafetensors(file, { 'classifier.5.weight': { dtype: 'float32', shape: [3, 512], data: new Float32Array(3 * 512) } });
  const plain = loadArch('maxvit_t', file, { strict: false });
  expect([plain.size, (plain.model as MaxVit).config.inputSize]).toEqual([224, [224, 224]]);
  const sized = loadArch('maxvit_t', file, { strict: false, size: 448 });
  expect([sized.size, (sized.model as MaxVit).config.inputSize]).toEqual([448, [448, 448]]);
  expect(sized.model.stateDict()['classifier.5.weight']!.shape).toEqual([3, 512]);
}, 60_000);
