import { createModel, fileBuildOptions, mnasnetDepths, stateDictClassCount, VisionTransformer } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';

/**
 * fileBuildOptions on state dicts crafted from the models' own key names and shapes (only shapes are read):
 * each option it finds rebuilds a model whose state dict has exactly the file's names and shapes.
 */
type Shapes = Record<string, { shape: number[] }>;

const shapesOf = (m: Module): Shapes => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, { shape: [...t.shape] }]));

const sameShapes = (a: Shapes, b: Shapes): void => expect(a).toEqual(b);

test('a model that fits its file as built needs no options', () => {
  const m = createModel('resnet18', { init: false, widthDivisor: 16 });
  expect(fileBuildOptions('resnet18', m, shapesOf(m))).toEqual({});
});

test('the class count: a classifier’s other than 1000, unless given; under DataParallel’s module. prefix too', () => {
  const file = createModel('resnet18', { init: false, widthDivisor: 16, numClasses: 7 });
  const m = createModel('resnet18', { init: false, widthDivisor: 16 });
  expect(fileBuildOptions('resnet18', m, shapesOf(file))).toEqual({ numClasses: 7 });
  const prefixed = Object.fromEntries(Object.entries(shapesOf(file)).map(([k, v]) => [`module.${k}`, v]));
  expect(fileBuildOptions('resnet18', m, prefixed)).toEqual({ numClasses: 7 });
  expect(fileBuildOptions('resnet18', m, shapesOf(file), { numClasses: 1000 })).toEqual({});
});

test('a segmentation model: its class count against the one it was built with, and aux_classifier when the file has it', () => {
  const o = { init: false, widthDivisor: 16 } as const;
  const file = createModel('fcn_resnet50', { ...o, numClasses: 3, auxLoss: true });
  const m = createModel('fcn_resnet50', o);
  const found = fileBuildOptions('fcn_resnet50', m, shapesOf(file));
  expect(found).toEqual({ numClasses: 3, auxLoss: true });
  sameShapes(shapesOf(createModel('fcn_resnet50', { ...o, ...found })), shapesOf(file));
  expect(fileBuildOptions('fcn_resnet50', m, shapesOf(m))).toEqual({});
});

test('GoogLeNet and Inception v3 files without their aux heads', () => {
  for (const arch of ['googlenet', 'inception_v3'] as const) {
    const o = { init: false, widthDivisor: 16 } as const;
    const file = createModel(arch, { ...o, auxLogits: false });
    const m = createModel(arch, o);
    const found = fileBuildOptions(arch, m, shapesOf(file));
    expect(found).toEqual({ auxLogits: false });
    sameShapes(shapesOf(createModel(arch, { ...o, ...found })), shapesOf(file));
    expect(fileBuildOptions(arch, m, shapesOf(m))).toEqual({});
  }
});

test('MNASNet’s version 1 layout (alpha 0.5: stem widths that differ from version 2’s)', () => {
  expect(mnasnetDepths(0.5).slice(0, 2)).not.toEqual([32, 16]);
  const file = createModel('mnasnet0_5', { init: false, version: 1 });
  const m = createModel('mnasnet0_5', { init: false });
  const found = fileBuildOptions('mnasnet0_5', m, shapesOf(file));
  expect(found).toEqual({ version: 1 });
  sameShapes(shapesOf(createModel('mnasnet0_5', { init: false, ...found })), shapesOf(file));
  expect(fileBuildOptions('mnasnet0_5', m, shapesOf(m))).toEqual({});
});

describe('a ViT’s side from its position embeddings', () => {
  const config = { imageSize: 32, patchSize: 8, numLayers: 1, numHeads: 2, hiddenDim: 8, mlpDim: 8 };
  const m = new VisionTransformer(config, { init: false });
  const file = shapesOf(new VisionTransformer({ ...config, imageSize: 48 }, { init: false }));

  test('another side than the model’s is found; the model’s own is no option', () => {
    expect(fileBuildOptions('vit_b_16', m, file)).toEqual({ imageSize: 48 });
    expect(fileBuildOptions('vit_b_16', m, file, { size: 48 })).toEqual({ imageSize: 48 });
    expect(fileBuildOptions('vit_b_16', m, shapesOf(m))).toEqual({});
  });

  test('a given side other than the trained one, and embeddings that are no square grid, are one-line errors', () => {
    expect(() => fileBuildOptions('vit_b_16', m, file, { size: 32 })).toThrow(
      /^size 32 does not fit vit_b_16 with these weights: its position embeddings are for 48×48 pictures \(a ViT takes one size\)$/,
    );
    expect(() => fileBuildOptions('vit_b_16', m, shapesOf(m), { size: 48 })).toThrow(/^size 48 does not fit vit_b_16 .* 32×32 pictures/);
    const bad = { ...file, 'encoder.pos_embedding': { shape: [1, 11, 8] } };
    expect(() => fileBuildOptions('vit_b_16', m, bad)).toThrow(
      /^weights do not fit vit_b_16: encoder\.pos_embedding has shape \[1, 11, 8\]/,
    );
  });
});

test('stateDictClassCount: the classifier size of a model, or of a file for it', () => {
  const m = createModel('resnet18', { init: false, widthDivisor: 16, numClasses: 5 });
  expect(stateDictClassCount(m)).toBe(5);
  expect(stateDictClassCount(m, shapesOf(createModel('resnet18', { init: false, widthDivisor: 16, numClasses: 9 })))).toBe(9);
  expect(stateDictClassCount(m, {})).toBeUndefined();
});
