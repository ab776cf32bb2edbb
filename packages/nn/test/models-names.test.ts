import * as fs from 'fs';
import * as path from 'path';
import { createModel, type ModelName, modelBuilders } from '@gradlens/nn';

/**
 * Full-size models must have torchvision 0.14's state-dict names, order and shapes exactly, so that
 * torchvision's published weights load with no renaming. The list comes from torchvision itself
 * (scripts/make-nn-fixtures.py); models are built with init: false (no need for random weights here).
 */
const lists = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torchvision-state-dicts.json'), 'utf8')) as Record<
  string,
  [string, number[]][]
>;

test('the fixture covers every model this package builds', () => {
  expect(Object.keys(lists).sort()).toEqual(Object.keys(modelBuilders).sort());
});

test.each(Object.keys(lists))('%s: state dict names and shapes equal torchvision', (name) => {
  const model = createModel(name as ModelName, { init: false });
  const ours = Object.entries(model.stateDict()).map(([k, t]) => [k, [...t.shape]]);
  expect(ours).toEqual(lists[name]);
  for (const t of Object.values(model.stateDict())) t.dispose();
});
