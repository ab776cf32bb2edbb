import * as fs from 'fs';
import * as path from 'path';
import { IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import {
  bundledModels, bundledWeightsDir, createModel, layers, loadBundledModel, loadCheckpoint, loadWeights, modelBuilders, readStateDict,
} from '@gradlens/nn';
import type { BundledModelCard, BundledModelInfo, Module, WeightFormat } from '@gradlens/nn';
import { CliError, ParsedOptions, str } from './args';

/** A model ready to explain, with what the command needs to feed it. */
export interface LoadedModel {
  model: Module;
  /** `gapnet`, `vgg16`, … */
  name: string;
  /** Whether it is one of the bundled models (then `card` is set when the card was found). */
  bundled: boolean;
  card: BundledModelCard | null;
  /** Input side (square) the model is fed. */
  size: number;
  mean: readonly number[];
  std: readonly number[];
  /** Class names when known (bundled models), else null. */
  classes: readonly string[] | null;
  /** The layer CAM methods read when no --layer is given. */
  defaultLayer: string;
  /** Where the weights came from (a path), or 'random' for an untrained model. */
  weights: string;
}

/** Names of the bundled models. */
export const BUNDLED_NAMES: readonly string[] = Object.keys(bundledModels);
/** torchvision architecture names `--arch` accepts. */
export const ARCH_NAMES: readonly string[] = Object.keys(modelBuilders);

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The default target layer of a model: the bundled model's `targetLayer`; `layer4` for ResNets;
 * `features` for SqueezeNet and MobileNetV2 (their last block's output); the last ReLU of `features`
 * for AlexNet and VGG (the last conv block's activation, before its max-pool, as the reference scripts
 * use: `features.11` for AlexNet, `features.29` for VGG16); otherwise the last module whose output is
 * 4-D, found by running the model once.
 */
export function defaultLayer(name: string, model: Module, size: number): string {
  if (has(bundledModels, name)) return (bundledModels as Record<string, BundledModelInfo>)[name]!.targetLayer;
  if (name.startsWith('resnet')) return 'layer4';
  if (name.startsWith('squeezenet') || name.startsWith('mobilenet')) return 'features';
  const mods = model.namedModules();
  if (name.startsWith('vgg') || name === 'alexnet') {
    const relus = mods.filter(([p, m]) => /^features\.\d+$/.test(p) && /^ReLU/.test(m.constructor.name));
    const last = relus[relus.length - 1];
    if (last) return last[0];
  }
  const rows = layers(model, [1, 3, size, size]).filter((r) => r.outputShape?.length === 4 && r.depth === 0);
  const last = rows[rows.length - 1];
  if (!last) throw new CliError(`${name}: found no module with a 4-D output to use as the CAM layer; give --layer`);
  return last.path;
}

function weightFormat(file: string): WeightFormat | undefined {
  const lower = file.toLowerCase();
  if (/\.(pth|pt|bin|ckpt)$/.test(lower)) return 'pth';
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.npz')) return 'npz';
  return undefined;
}

function checkFile(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new CliError(`${what} not found: ${file}`);
  if (!fs.statSync(file).isFile()) throw new CliError(`${what} is not a file: ${file}`);
}

/** The number of outputs a state dict's last weight gives (the classifier size), when it can tell. */
function classesInFile(model: Module, dict: Record<string, { shape: number[] }>): number | undefined {
  const keys = Object.keys(model.stateDict()).filter((k) => k.endsWith('.weight'));
  const last = keys[keys.length - 1];
  if (!last) return undefined;
  const entry = dict[last] ?? dict[`module.${last}`];
  return entry?.shape[0];
}

/** Loads a torchvision architecture with a weights file (.pth, .safetensors, .npz); the class count comes from the file. */
export function loadArch(arch: string, weights: string | undefined, options: { size?: number; numClasses?: number } = {}): LoadedModel {
  if (!has(modelBuilders, arch)) {
    const hint = has(bundledModels, arch) ? ` ('${arch}' is a bundled model: use --model ${arch})` : '';
    throw new CliError(`unknown architecture '${arch}'${hint}; architectures: ${ARCH_NAMES.join(', ')}`);
  }
  const size = options.size ?? 224;
  if (weights === undefined) throw new CliError(`--arch ${arch} needs --weights <file> (a torchvision state dict: .pth, .safetensors or .npz)`);
  checkFile(weights, 'weights file');
  let model = createModel(arch, { init: false, numClasses: options.numClasses });
  const format = weightFormat(weights);
  let dict: ReturnType<typeof readStateDict>;
  try {
    dict = readStateDict(weights, format);
  } catch (e) {
    throw new CliError(`cannot read weights ${weights}: ${(e as Error).message}`);
  }
  const n = classesInFile(model, dict);
  if (options.numClasses === undefined && n !== undefined && n !== 1000) model = createModel(arch, { init: false, numClasses: n });
  try {
    loadWeights(model, weights, { format });
  } catch (e) {
    throw new CliError((e as Error).message.replace(/\n\s*/g, '; '));
  }
  model.eval();
  return {
    model, name: arch, bundled: false, card: null, size, mean: IMAGENET_MEAN, std: IMAGENET_STD, classes: null,
    defaultLayer: defaultLayer(arch, model, size), weights,
  };
}

/** Loads a bundled model: its trained weights and card from the weights folder, or the given weights file. */
export function loadBundled(name: string, weights?: string): LoadedModel {
  if (!has(bundledModels, name)) {
    const hint = has(modelBuilders, name) ? ` ('${name}' is a torchvision architecture: use --arch ${name} --weights <file>)` : '';
    throw new CliError(`unknown bundled model '${name}'${hint}; bundled models: ${BUNDLED_NAMES.join(', ')}`);
  }
  const info = (bundledModels as Record<string, BundledModelInfo>)[name]!;
  let model: Module;
  let card: BundledModelCard | null = null;
  let from: string;
  if (weights === undefined) {
    const dir = bundledWeightsDir();
    const file = path.join(dir, info.weights);
    if (!fs.existsSync(file)) {
      throw new CliError(`the bundled weights of ${name} are missing (${file}); train them with \`node weights/train.js --model ${name}\`, set GRADLENS_WEIGHTS to their folder, or give --weights <file>`);
    }
    try {
      ({ model, card } = loadBundledModel(name));
    } catch (e) {
      throw new CliError((e as Error).message.replace(/\n\s*/g, '; '));
    }
    from = file;
  } else {
    checkFile(weights, 'weights file');
    model = info.build({ init: false });
    try {
      if (weightFormat(weights) === 'safetensors') loadCheckpoint(weights, model);
      else loadWeights(model, weights);
    } catch (e) {
      throw new CliError((e as Error).message.replace(/\n\s*/g, '; '));
    }
    model.eval();
    const cardFile = path.join(path.dirname(weights), info.card);
    if (fs.existsSync(cardFile)) card = readCard(cardFile);
    from = weights;
  }
  const size = card?.inputSize[1] ?? info.inputSize[1];
  return {
    model, name, bundled: true, card, size,
    mean: card?.normalization.mean ?? IMAGENET_MEAN, std: card?.normalization.std ?? IMAGENET_STD,
    classes: card?.classes ?? info.classes, defaultLayer: info.targetLayer, weights: from,
  };
}

function readCard(file: string): BundledModelCard {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as BundledModelCard;
  } catch (e) {
    throw new CliError(`cannot read the model card ${file}: ${(e as Error).message}`);
  }
}

/** Loads the model the options name: `--model <bundled>` [`--weights`], or `--arch <name> --weights <file>`. */
export function loadModelFromOptions(command: string, o: ParsedOptions, size?: number): LoadedModel {
  const model = str(o, 'model');
  const arch = str(o, 'arch');
  const weights = str(o, 'weights');
  if (model !== undefined && arch !== undefined) throw new CliError(`${command}: give either --model <bundled name> or --arch <torchvision name>, not both`, 2);
  if (model !== undefined) return loadBundled(model, weights);
  if (arch !== undefined) return loadArch(arch, weights, { size });
  throw new CliError(`${command}: which model? give --model <${BUNDLED_NAMES.join('|')}> or --arch <torchvision name> --weights <file>`, 2);
}

/** Builds a model by name with random weights (for `layers`, which needs no weights). */
export function buildUntrained(command: string, o: ParsedOptions): { model: Module; name: string; size: number; defaultLayer: string } {
  const model = str(o, 'model');
  const arch = str(o, 'arch');
  if (model !== undefined && arch !== undefined) throw new CliError(`${command}: give either --model or --arch, not both`, 2);
  const name = model ?? arch;
  if (name === undefined) throw new CliError(`${command}: give --arch <torchvision name> or --model <${BUNDLED_NAMES.join('|')}>`, 2);
  if (model !== undefined) {
    if (!has(bundledModels, model)) throw new CliError(`unknown bundled model '${model}'; bundled models: ${BUNDLED_NAMES.join(', ')}`);
    const info = (bundledModels as Record<string, BundledModelInfo>)[model]!;
    const m = info.build({ init: false });
    m.eval();
    return { model: m, name: model, size: info.inputSize[1], defaultLayer: info.targetLayer };
  }
  if (!has(modelBuilders, name)) {
    const hint = has(bundledModels, name) ? ` ('${name}' is a bundled model: use --model ${name})` : '';
    throw new CliError(`unknown architecture '${name}'${hint}; architectures: ${ARCH_NAMES.join(', ')}`);
  }
  const m = createModel(name, { init: false });
  m.eval();
  return { model: m, name, size: 224, defaultLayer: defaultLayer(name, m, 224) };
}

/** Throws a CliError listing the valid module paths unless `layer` is one of the model's modules. */
export function checkLayer(model: Module, layer: string, modelName: string): void {
  const paths = model.namedModules().map(([p]) => p).filter((p) => p !== '');
  if (!paths.includes(layer)) throw new CliError(`no layer named '${layer}' in ${modelName}; valid layers: ${paths.join(', ')}`);
}
