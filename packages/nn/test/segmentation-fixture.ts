/**
 * The reduced segmentation models of scripts/make-nn-segmentation-fixtures.py, built with this package's builders,
 * and their weights drawn as that script draws them: every state-dict entry but num_batches_tracked, in sorted name
 * order, from Generator(0) (conv weights U(±√(3 / fan_in)), biases and running means U(±0.2), BatchNorm weights and
 * running variances 0.5 + U(0, 1)), so no weights file is needed.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Generator } from '@gradlens/tensor';
import { createModel, type Module, type ModelName, type SegmentationOptions } from '@gradlens/nn';

export const SEG_DIR = path.join(__dirname, 'fixtures', 'segmentation');

export interface SegModelInfo {
  options: SegmentationOptions;
  layer: string;
  secondLayer: string;
  params: number;
  aux: boolean;
  stateDictNames: string;
}

export const segManifest = JSON.parse(fs.readFileSync(path.join(SEG_DIR, 'models.json'), 'utf8')) as {
  numClasses: number;
  widthDivisor: number;
  headDivisor: number;
  widthMult: number;
  inputShape: number[];
  models: Record<string, SegModelInfo>;
};

/** The reduced model `name` with random weights (init: false; fill them with seedStateDict). */
export function reducedSegModel(name: string): Module {
  const m = segManifest;
  const info = m.models[name]!;
  const mobile = name.includes('mobilenet');
  return createModel(
    name as ModelName,
    {
      ...info.options,
      numClasses: m.numClasses,
      // ResNet backbones narrow with widthDivisor (heads too); MobileNetV3 ones take widthMult, heads widthDivisor.
      widthDivisor: mobile ? m.headDivisor : m.widthDivisor,
      ...(mobile ? { widthMult: m.widthMult } : {}),
      init: false,
    } as SegmentationOptions,
  );
}

/** SHA-256 of the sorted state-dict names joined by newlines (the fixture's `stateDictNames`). */
export function stateDictNamesHash(model: Module): string {
  const sd = model.stateDict();
  return createHash('sha256').update(Object.keys(sd).sort().join('\n')).digest('hex');
}

/** Loads the values the fixture script drew from Generator(seed) into every entry of the model's state dict. */
export function seedStateDict(model: Module, seed = 0): void {
  const g = new Generator(seed);
  const sd = model.stateDict();
  const values: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const name of Object.keys(sd).sort()) {
    const shape = [...sd[name]!.shape];
    if (name.endsWith('num_batches_tracked')) continue;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = Math.sqrt(3 / (n / shape[0]!));
    for (let i = 0; i < n; i++) {
      const u = g.uniform();
      if (name.endsWith('running_var') || (shape.length === 1 && name.endsWith('weight'))) data[i] = 0.5 + u;
      else if (name.endsWith('running_mean') || name.endsWith('bias')) data[i] = 0.2 * (2 * u - 1);
      else data[i] = (2 * u - 1) * scale;
    }
    values[name] = { shape, data };
  }
  // not strict: num_batches_tracked keeps its value
  model.loadStateDict(values, { strict: false });
}

/** The fixture's input drawn again: Generator(1), U(±1), [2, 3, 41, 37]. */
export function seededInput(): { shape: number[]; data: Float32Array } {
  const shape = segManifest.inputShape;
  const n = shape.reduce((a, b) => a * b, 1);
  const g = new Generator(1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 2 * g.uniform() - 1;
  return { shape, data };
}
