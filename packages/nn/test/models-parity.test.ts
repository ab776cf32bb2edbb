import * as fs from 'fs';
import * as path from 'path';
import { numTensors, record } from '@gradlens/tensor';
import { createModel, loadWeights, type ModelName, type ModelOptions } from '@gradlens/nn';
import { asTensor, npzFixture, relError } from './parity';

/**
 * Width-reduced torchvision models with random weights (scripts/make-nn-fixtures.py): loading their
 * .pth state dicts and running them must reproduce PyTorch's logits and the activation found by module path.
 */
const FIX = path.join(__dirname, 'fixtures');
const manifest = JSON.parse(fs.readFileSync(path.join(FIX, 'models.json'), 'utf8')) as {
  numClasses: number;
  models: Record<string, { options: ModelOptions; activation: string; params: number }>;
};
const { arr } = npzFixture(path.join(FIX, 'expected.npz'));

const errors: Record<string, { logits: number; activation: number }> = {};

afterAll(() => {
  // Shown in the test log so the parity margin is visible, not only pass/fail.
  console.log(
    Object.entries(errors)
      .map(([n, e]) => `${n.padEnd(15)} logits ${e.logits.toExponential(2)}  activation ${e.activation.toExponential(2)}`)
      .join('\n'),
  );
});

describe.each(Object.entries(manifest.models))('%s', (name, info) => {
  test('loads the torchvision .pth and matches PyTorch logits and the activation by path (rel. error ≤ 1e-4)', () => {
    const model = createModel(name as ModelName, { ...info.options, numClasses: manifest.numClasses, init: false });
    const result = loadWeights(model, path.join(FIX, `${name}.pth`));
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
    model.eval();
    const before = numTensors();
    const x = asTensor(arr('input'));
    const { output, tape } = record(() => model.call(x));
    const logits = relError(output, arr(`${name}.logits`));
    const activation = relError(tape.activation(info.activation), arr(`${name}.activation`));
    errors[name] = { logits, activation };
    expect(logits).toBeLessThanOrEqual(1e-4);
    expect(activation).toBeLessThanOrEqual(1e-4);
    tape.dispose();
    output.dispose();
    x.dispose();
    expect(numTensors()).toBe(before);
  });
});

test('a float16 .pth state dict is decoded (logits of the same weights rounded to half precision)', () => {
  const model = createModel('squeezenet1_1', { widthDivisor: 8, numClasses: manifest.numClasses, init: false }).eval();
  loadWeights(model, path.join(FIX, 'squeezenet1_1_fp16.pth'));
  const x = asTensor(arr('input'));
  const y = model.call(x);
  expect(relError(y, arr('squeezenet1_1_fp16.logits'))).toBeLessThanOrEqual(1e-4);
  x.dispose();
  y.dispose();
});
