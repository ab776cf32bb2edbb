import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { createModel, loadWeights } from '@gradlens/nn';
import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import {
  internalInfluence,
  layerConductance,
  layerDeepLift,
  layerFeatureAblation,
  layerIntegratedGradients,
  neuronConductance,
  neuronIntegratedGradients,
} from '../src';
import { FIXTURES, relError } from './helpers';

/**
 * The layer and neuron methods on the nn package's width-reduced torchvision ResNet-18 (widthDivisor 16,
 * random weights) against PyTorch (scripts/make-layer-attr-fixtures.py, layer-attr-resnet.npz), ≤ 1e-5.
 */
const quiet = { onWarning: () => undefined };
let cache: Record<string, NdArray> | null = null;
const fx = (name: string): Tensor => {
  cache ??= readNpz(path.join(FIXTURES, 'layer-attr-resnet.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);
};
const matches = (t: Tensor, name: string, tol = 1e-5): void => {
  const want = fx(name);
  expect([...t.shape]).toEqual([...want.shape]);
  const err = relError(t, want.dataSync());
  if (!(err <= tol)) throw new Error(`${name}: relative error ${err.toExponential(2)} > ${tol}`);
};
const deltaMatches = (delta: number[], name: string): void => {
  const want = fx(name).dataSync();
  delta.forEach((d, i) => expect(Math.abs(d - Number(want[i]))).toBeLessThan(1e-5));
};

describe('layer and neuron attribution on a reduced ResNet-18', () => {
  const model = createModel('resnet18', { widthDivisor: 16, numClasses: 10, init: false });
  loadWeights(model, path.join(__dirname, '..', '..', 'nn', 'test', 'fixtures', 'resnet18.pth'));
  model.eval();
  const x = fx('x');
  const target = [2, 5];
  const common = { target, steps: 20, ...quiet };

  test("layer IG on a block's first conv (the skip path still fed by the input: delta ≠ 0) and on layer4 (delta ≈ 0)", () => {
    const conv = layerIntegratedGradients(model, x, { layer: 'layer3.0.conv1', ...common });
    matches(conv.attribution, 'lig_conv');
    deltaMatches(conv.delta, 'lig_conv_delta');
    expect(Math.max(...conv.delta.map(Math.abs))).toBeGreaterThan(1e-2);
    const l4 = layerIntegratedGradients(model, x, { layer: 'layer4', ...common, batchSize: 6 });
    matches(l4.attribution, 'lig_l4');
    l4.delta.forEach((d) => expect(Math.abs(d)).toBeLessThan(1e-5));
  });

  test('layer conductance, internal influence and channel ablation on layer3', () => {
    const c = layerConductance(model, x, { layer: 'layer3', ...common, batchSize: 8 });
    matches(c.attribution, 'lcond');
    deltaMatches(c.delta, 'lcond_delta');
    matches(internalInfluence(model, x, { layer: 'layer3', ...common }).attribution, 'infl');
    matches(layerFeatureAblation(model, x, { layer: 'layer3', target, layerMask: 'channel', ...quiet }).attribution, 'labl');
  });

  test('layer DeepLIFT on layer3: through residual blocks (a relu module used twice) and batch norm, summation-to-delta exact', () => {
    const r = layerDeepLift(model, x, { layer: 'layer3', target, ...quiet });
    matches(r.attribution, 'ldl');
    r.delta.forEach((d) => expect(Math.abs(d)).toBeLessThan(1e-5));
  });

  test("a module that runs twice per pass (a block's relu) cannot have its output set: one-line error; the gradient methods read its last output", () => {
    for (const run of [
      () => layerIntegratedGradients(model, x, { layer: 'layer1.0.relu', ...common, steps: 2 }),
      () => layerFeatureAblation(model, x, { layer: 'layer1.0.relu', target, layerMask: 'channel', ...quiet }),
    ])
      expect(run).toThrow(/^layer\w+: layer 'layer1\.0\.relu' runs more than once in one forward pass \(a module used twice\)[^\n]*$/);
    // the block's output (after the addition's relu) is what Grad-CAM and the gradient methods read there
    const c = layerConductance(model, x, { layer: 'layer1.0.relu', ...common, steps: 2 });
    expect(c.attribution.shape).toEqual([2, 4, 8, 8]);
  });

  test('neuron IG and neuron conductance of a layer2 neuron', () => {
    const neuron = Array.from(fx('neuron').dataSync(), Number);
    const ig = neuronIntegratedGradients(model, x, { layer: 'layer2', neuron, steps: 20, ...quiet });
    matches(ig.attribution, 'nig');
    deltaMatches(ig.delta, 'nig_delta');
    matches(neuronConductance(model, x, { layer: 'layer2', neuron, ...common }).attribution, 'ncond');
  });
});
