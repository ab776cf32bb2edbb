/**
 * The bundled models' files under Node: where the weights folder is, and loading a model and its card
 * from it (the browser entry has `bundledModelFromBytes` instead).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readRegularFile } from '@gradlens/io';
import { loadCheckpoint } from '../train/checkpoint';
import type { InputOptions } from '../input';
import {
  bundledModels,
  isBundledModelName,
  type BundledModelCard,
  type BundledModelInfo,
  type BundledModelName,
  type LoadedBundledModel,
} from './bundled';
import { parseModelCard } from './card';

/** Cards are small JSON files; anything larger is not a card. */
const MAX_CARD_BYTES = 1024 * 1024;

/**
 * Where bundled weights and cards live: $GRADLENS_WEIGHTS (when set and not empty), else the installed `@gradlens/weights`
 * package's folder, else (a checkout without it linked) the repository's `weights/` folder.
 */
export function bundledWeightsDir(): string {
  return (process.env.GRADLENS_WEIGHTS || undefined) ?? weightsPackageDir() ?? path.resolve(__dirname, '..', '..', '..', '..', 'weights');
}

/** The `weightsDir` of the optional peer `@gradlens/weights`, or undefined when it is not installed. */
function weightsPackageDir(): string | undefined {
  try {
    // a plain require: the package is an optional peer, loaded only if installed
    const pkg = require('@gradlens/weights') as { weightsDir?: unknown };
    return typeof pkg.weightsDir === 'string' ? pkg.weightsDir : undefined;
  } catch {
    return undefined;
  }
}

/** Reads and validates a model card file (a regular file of at most 1 MiB). */
export function readModelCard(file: string): BundledModelCard {
  if (!fs.existsSync(file)) throw new Error(`cannot read the model card ${file}: no such file`);
  const bytes = readRegularFile(file, { maxFileBytes: MAX_CARD_BYTES });
  return parseModelCard(Buffer.from(bytes).toString('utf8'), file);
}

/**
 * Builds bundled model `name`, loads its trained weights and card from `dir` (default the weights
 * folder), and returns them with the model in eval mode and the input options for imageToInput.
 */
export function loadBundledModel(name: BundledModelName, options: { dir?: string } = {}): LoadedBundledModel {
  if (!isBundledModelName(name)) {
    throw new Error(`loadBundledModel: unknown bundled model '${String(name)}'; bundled models: ${Object.keys(bundledModels).join(', ')}`);
  }
  const info: BundledModelInfo = bundledModels[name];
  const dir = options.dir ?? bundledWeightsDir();
  const weights = path.join(dir, info.weights);
  const cardFile = path.join(dir, info.card);
  if (!fs.existsSync(weights))
    throw new Error(
      `loadBundledModel: ${weights} not found; train it with \`node weights/train.js --model ${name}\` or set GRADLENS_WEIGHTS`,
    );
  const model = info.build({ init: false });
  loadCheckpoint(weights, model);
  model.eval();
  const card = readModelCard(cardFile);
  const input: InputOptions = { size: card.inputSize[1], mean: card.normalization.mean, std: card.normalization.std };
  return { model, card, info, input };
}
