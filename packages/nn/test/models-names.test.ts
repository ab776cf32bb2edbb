import * as fs from 'fs';
import * as path from 'path';
import { createModel, type ModelName, modelBuilders, type SegmentationOptions } from '@gradlens/nn';

/**
 * Full-size models must have torchvision 0.14's state-dict names, order and shapes exactly, so that
 * torchvision's published weights load with no renaming. The list comes from torchvision itself
 * (scripts/make-nn-fixtures.py); models are built with init: false (no need for random weights here). The
 * segmentation models' lists are their published weights' (scripts/make-nn-segmentation-fixtures.py): with the
 * aux_classifier (auxLoss), but LR-ASPP has none.
 */
const lists = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torchvision-state-dicts.json'), 'utf8')) as Record<
  string,
  [string, number[]][]
>;

test('the fixture covers every model this package builds', () => {
  expect(Object.keys(lists).sort()).toEqual(Object.keys(modelBuilders).sort());
});

const withAux = new Set(['fcn_resnet50', 'fcn_resnet101', 'deeplabv3_resnet50', 'deeplabv3_resnet101', 'deeplabv3_mobilenet_v3_large']);
const namesAndShapes = (name: string, options: SegmentationOptions) => {
  const model = createModel(name as ModelName, { init: false, ...options });
  const ours = Object.entries(model.stateDict()).map(([k, t]) => [k, [...t.shape]]);
  for (const t of Object.values(model.stateDict())) t.dispose();
  return ours;
};

test.each(Object.keys(lists))('%s: state dict names and shapes equal torchvision', (name) => {
  expect(namesAndShapes(name, withAux.has(name) ? { auxLoss: true } : {})).toEqual(lists[name]);
});

test.each([...withAux])('%s without auxLoss: the published names less aux_classifier', (name) => {
  expect(namesAndShapes(name, {})).toEqual(lists[name]!.filter(([k]) => !(k as string).startsWith('aux_classifier.')));
});
