import * as fs from 'fs';
import * as path from 'path';
import { IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import type { ResizeFilter } from '@gradlens/io';
import {
  archInputOptions,
  archBuildOptions,
  inputProbeShape,
  bundledModels,
  bundledWeightsDir,
  createModel,
  defaultCamLayer,
  detectionBuilders,
  didYouMean,
  fileBuildOptions,
  isBundledModelName,
  isDetectionModelName,
  isModelName,
  loadCheckpoint,
  loadWeights,
  modelBuilders,
  readModelCard,
  readStateDict,
  weightsFileClassNames,
} from '@gradlens/nn';
import type { BundledModelCard, BundledModelInfo, FileBuildOptions, InputSize, Module, WeightFormat } from '@gradlens/nn';
import type { PictureFrame } from '@gradlens/io';
import type { ParsedOptions } from './args';
import { CliError, str } from './args';
import { normalizationOptions, withNormalization } from './normalization';
import { sizeOption } from './size-option';
import { isOnnxFile, loadOnnxModel, onnxForLayers } from './onnx-model';
import type { YoloModelInfo } from './yolo';
import { loadDetector, untrainedDetector } from './detector-model';

/** A model ready to explain, with what the command needs to feed it. */
export interface LoadedModel {
  model: Module;
  /** `gapnet`, `vgg16`, … */
  name: string;
  /** Whether it is one of the bundled models (then `card` is set when the card was found). */
  bundled: boolean;
  card: BundledModelCard | null;
  /**
   * Input side the model is fed (square), or with `height` and `width` the side its probes (layer lists) use; with
   * `crop: false`, the shorter side the whole picture is resized to.
   */
  size: number;
  /** An exact non-square input height × width (both set, or neither): the picture covers it (aspect kept) and is centre-cropped. */
  height?: number;
  width?: number;
  /** false: no crop, the whole picture is fed with its shorter side resized to `size` ([1, 3, h, w] at its aspect). */
  crop?: false;
  /**
   * The shorter side a picture is resized to (with `filter`) before the centre crop to `size`: the
   * architecture's own transform, set for `--arch` without `--size`; absent, round(size · 256 / 224), bilinear.
   */
  shorterSide?: number;
  filter?: ResizeFilter;
  mean: readonly number[];
  std: readonly number[];
  /** Class names when known (bundled models), else null. */
  classes: readonly string[] | null;
  /**
   * The layer CAM methods read when no --layer is given; null for an ONNX model with none (no top-level module
   * gives a 4-D map larger than 1×1): its gradient methods run, a CAM method needs --layer.
   */
  defaultLayer: string | null;
  /** Where the weights came from (a path), or 'random' for an untrained model. */
  weights: string;
  /**
   * Names for the output's entries after the last forward pass, where they change per picture (a detection model's
   * detections: `--target k` explains detection k); absent: `classes` name them.
   */
  outputNames?: (frame?: PictureFrame) => string[];
  /** Whether the model takes grayscale pictures (an ONNX graph of one channel, fed the pictures' luma). */
  grayscale?: boolean;
  /** How the pictures are adapted to the model's input when it is not an RGB NCHW picture (logged once). */
  inputNote?: string;
  /** An Ultralytics YOLO detection export: pictures are letterboxed, its detections listed, detection k explained. */
  yolo?: YoloModelInfo;
}

/** Names of the bundled models. */
export const BUNDLED_NAMES: readonly string[] = Object.keys(bundledModels);
/** torchvision architecture names `--arch` accepts: the classifiers and segmentation models, then the detectors. */
export const ARCH_NAMES: readonly string[] = [...Object.keys(modelBuilders), ...Object.keys(detectionBuilders)];

/** How a model is loaded. */
export interface LoadOptions {
  /** Input side or exact [h, w] (default: the architecture's crop size from its torchvision transform, or the bundled model's). */
  size?: InputSize;
  /** Refuse weights files with missing or unexpected keys (default true; the CLI's --no-strict sets false). */
  strict?: boolean;
  numClasses?: number;
  /**
   * Called with the built model, its default CAM layer and class names (null when unnamed) before any
   * weights are read, so that argument checks that need the model's structure (layer names) fail before
   * a large file loads. For an ONNX model (its weights are in the graph file) it runs once the file is read.
   */
  beforeWeights?: (model: Module, defaultLayer: string | null, classes: readonly string[] | null) => void;
}

/**
 * The default target layer of a model: nn's defaultCamLayer (the bundled model's `targetLayer`,
 * `layer4` for ResNets, `features` for SqueezeNet and MobileNetV2, the last ReLU of `features` for
 * AlexNet and VGG, else the last top-level module with a 4-D output), the same rule the library uses.
 */
export function defaultLayer(name: string, model: Module, size: number, width: number = size): string {
  try {
    return defaultCamLayer(model, [1, 3, size, width]);
  } catch (e) {
    throw new CliError(`${name}: ${(e as Error).message.replace(/^defaultCamLayer: /, '')}; give --layer`, 2);
  }
}

/** A loader's error as one line: `…does not fit ResNet: missing keys…; shape mismatches…`, with the CLI's flag in its hint. */
export function weightsError(e: unknown): CliError {
  const msg = (e as Error).message
    .replace(/pass \{ strict: false \} to load the matching keys only/, 'give --no-strict to load the matching keys only')
    .replace(/:\s*\n\s*/g, ': ')
    .replace(/\s*\n\s*/g, '; ');
  return new CliError(msg);
}

function weightFormat(file: string): WeightFormat | undefined {
  const lower = file.toLowerCase();
  if (/\.(pth|pt|bin|ckpt)$/.test(lower)) return 'pth';
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.npz')) return 'npz';
  return undefined;
}

function checkFile(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new CliError(`${what} not found: ${file}`, 2);
  if (!fs.statSync(file).isFile()) throw new CliError(`${what} is not a file: ${file}`, 2);
}

/** An unknown model name's error: the other family's flag when it names one, else the nearest names and the list. */
function unknownModel(name: string, flagName: '--arch' | '--model'): CliError {
  if (flagName === '--arch') {
    const hint =
      isBundledModelName(name) || isOnnxFile(name)
        ? ` ('${name}' is ${isOnnxFile(name) ? 'an ONNX file' : 'a bundled model'}: use --model ${name})`
        : didYouMean(name, ARCH_NAMES);
    return new CliError(`unknown architecture '${name}'${hint}; architectures: ${ARCH_NAMES.join(', ')}`, 2);
  }
  const hint = isModelName(name)
    ? ` ('${name}' is a torchvision architecture: use --arch ${name} --weights <file>)`
    : didYouMean(name, BUNDLED_NAMES);
  return new CliError(`unknown bundled model '${name}'${hint}; bundled models: ${BUNDLED_NAMES.join(', ')}`, 2);
}

/**
 * What the file says about the model beyond its names (nn's fileBuildOptions: class count, a ViT's side, MNASNet's
 * layout, aux heads), its errors as CliErrors naming the file and the CLI's flag.
 */
function optionsInFile(
  arch: string,
  model: Module,
  dict: Record<string, { shape: number[] }>,
  file: string,
  options: LoadOptions,
): FileBuildOptions {
  try {
    return fileBuildOptions(arch, model, dict, { size: options.size, numClasses: options.numClasses });
  } catch (e) {
    const msg = (e as Error).message;
    const size = /^size (\S+) does not fit (\S+) with these weights: (.*)$/.exec(msg);
    if (size) throw new CliError(`--size ${size[1]} does not fit ${size[2]} with ${file}: ${size[3]}; leave --size out`, 2);
    throw new CliError(msg.replace(/^weights /, `weights ${file} `));
  }
}

/** Loads a torchvision architecture with a weights file (.pth, .safetensors, .npz); the class count comes from the file. */
export function loadArch(arch: string, weights: string | undefined, options: LoadOptions = {}): LoadedModel {
  if (!isModelName(arch) && !isDetectionModelName(arch)) throw unknownModel(arch, '--arch');
  if (weights === undefined)
    throw new CliError(`--arch ${arch} needs --weights <file> (a torchvision state dict: .pth, .safetensors or .npz)`, 2);
  checkFile(weights, 'weights file');
  if (isDetectionModelName(arch)) return loadDetector(arch, weights, options);
  let input = archInputOptions(arch, options.size, weights);
  // InceptionOptions and MaxVitOptions: the other builders ignore transformInput and inputSize
  const [, , h, w] = inputProbeShape(input);
  const build = { init: false, numClasses: options.numClasses, ...archBuildOptions(arch, weights, h, w) };
  let model: Module;
  try {
    model = createModel(arch, build);
  } catch (e) {
    throw new CliError(`--arch ${(e as Error).message}`, 2); // createModel names the architecture
  }
  const layer = defaultLayer(arch, model, h, w);
  // torchvision's published segmentation files are known by name: their VOC classes (`--target person`)
  const classes = weightsFileClassNames(arch, weights);
  options.beforeWeights?.(model, layer, classes);
  const format = weightFormat(weights);
  let dict: ReturnType<typeof readStateDict>;
  try {
    dict = readStateDict(weights, format);
  } catch (e) {
    throw new CliError(`cannot read weights ${weights}: ${(e as Error).message}`);
  }
  const fromFile = optionsInFile(arch, model, dict, weights, options);
  if (Object.keys(fromFile).length > 0) {
    model = modelBuilders[arch]({ ...build, numClasses: options.numClasses, ...fromFile } as Parameters<
      (typeof modelBuilders)[typeof arch]
    >[0]);
  }
  // A ViT trained at another side than the transform's crop (a renamed SWAG file): that side, by the 256/224 rule.
  if (fromFile.imageSize !== undefined && fromFile.imageSize !== input.size) input = archInputOptions(arch, fromFile.imageSize);
  try {
    loadWeights(model, weights, { format, strict: options.strict, read: dict });
  } catch (e) {
    throw weightsError(e);
  }
  model.eval();
  return {
    model,
    name: arch,
    bundled: false,
    card: null,
    size: input.size,
    ...(input.height !== undefined && input.width !== undefined ? { height: input.height, width: input.width } : {}),
    ...(input.crop === false ? { crop: false as const } : {}),
    ...(input.shorterSide !== undefined ? { shorterSide: input.shorterSide } : {}),
    ...(input.filter !== undefined ? { filter: input.filter } : {}),
    mean: input.mean,
    std: input.std,
    classes,
    defaultLayer: layer,
    weights,
  };
}

/** Loads a bundled model: its trained weights and card from the weights folder, or the given weights file. */
export function loadBundled(name: string, weights?: string, options: LoadOptions = {}): LoadedModel {
  if (!isBundledModelName(name)) throw unknownModel(name, '--model');
  const info: BundledModelInfo = bundledModels[name];
  if (weights !== undefined) checkFile(weights, 'weights file');
  const dir = bundledWeightsDir();
  const file = weights ?? path.join(dir, info.weights);
  if (weights === undefined && !fs.existsSync(file)) {
    throw new CliError(
      `the bundled weights of ${name} are missing (${file}); train them with \`node weights/train.js --model ${name}\`, set GRADLENS_WEIGHTS to their folder, or give --weights <file>`,
    );
  }
  const model = info.build({ init: false });
  options.beforeWeights?.(model, info.targetLayer, info.classes);
  try {
    if (weightFormat(file) === 'safetensors') loadCheckpoint(file, model, { strict: options.strict });
    else loadWeights(model, file, { strict: options.strict });
  } catch (e) {
    throw weightsError(e);
  }
  model.eval();
  const cardFile = path.join(path.dirname(file), info.card);
  const card = fs.existsSync(cardFile) ? readCard(cardFile) : null;
  const own = card?.inputSize[1] ?? info.inputSize[1];
  const given = options.size;
  return {
    model,
    name,
    bundled: true,
    card,
    ...(given === undefined
      ? { size: own }
      : typeof given === 'number'
        ? { size: given }
        : { size: Math.min(...given), height: given[0], width: given[1] }),
    mean: card?.normalization.mean ?? IMAGENET_MEAN,
    std: card?.normalization.std ?? IMAGENET_STD,
    classes: card?.classes ?? info.classes,
    defaultLayer: info.targetLayer,
    weights: file,
  };
}

function readCard(file: string): BundledModelCard {
  try {
    return readModelCard(file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Loads the model the options name: `--model <bundled>` [`--weights`], `--model <file.onnx>`, or `--arch <name> --weights <file>`. */
export function loadModelFromOptions(command: string, o: ParsedOptions, options: LoadOptions = {}): LoadedModel {
  const model = str(o, 'model');
  const arch = str(o, 'arch');
  const weights = str(o, 'weights');
  const opts: LoadOptions = { ...options, strict: o['no-strict'] !== true };
  if (model !== undefined && arch !== undefined)
    throw new CliError(`${command}: give either --model <bundled name> or --arch <torchvision name>, not both`, 2);
  const normalization = normalizationOptions(command, o); // checked before any weights load
  if (model !== undefined && isOnnxFile(model)) return withNormalization(loadOnnxModel(model, weights, opts), normalization);
  if (model !== undefined) return withNormalization(loadBundled(model, weights, opts), normalization);
  if (arch !== undefined) return withNormalization(loadArch(arch, weights, opts), normalization);
  throw new CliError(`${command}: which model? give --model <${BUNDLED_NAMES.join('|')}> or --arch <torchvision name> --weights <file>`, 2);
}

/** Builds a model by name with random weights (for `layers`, which needs no weights). */
export function buildUntrained(
  command: string,
  o: ParsedOptions,
): { model: Module; name: string; size: number; width?: number; defaultLayer: string | null } {
  const model = str(o, 'model');
  const arch = str(o, 'arch');
  if (model !== undefined && arch !== undefined) throw new CliError(`${command}: give either --model or --arch, not both`, 2);
  const name = model ?? arch;
  if (name === undefined) throw new CliError(`${command}: give --arch <torchvision name> or --model <${BUNDLED_NAMES.join('|')}>`, 2);
  if (model !== undefined && isOnnxFile(model)) return onnxForLayers(model, sizeOption(command, o));
  if (model !== undefined) {
    if (!isBundledModelName(model)) throw unknownModel(model, '--model');
    const info: BundledModelInfo = bundledModels[model];
    const m = info.build({ init: false });
    m.eval();
    return { model: m, name: model, size: info.inputSize[1], defaultLayer: info.targetLayer };
  }
  if (isDetectionModelName(name)) return { name, ...untrainedDetector(name, sizeOption(command, o)) };
  if (!isModelName(name)) throw unknownModel(name, '--arch');
  const m = createModel(name, { init: false });
  m.eval();
  const size = archInputOptions(name).size;
  return { model: m, name, size, defaultLayer: defaultLayer(name, m, size) };
}

/** The usage error for a method that reads a layer, on a model without a default one (an ONNX model may have none). */
export function noDefaultLayer(modelName: string): string {
  return `${modelName} has no default CAM layer (no top-level module gives a 4-D map larger than 1×1; see gradlens layers); give --layer`;
}

/** Throws a CliError (exit 2) naming the nearest and the valid module paths unless `layer` is one of the model's modules. */
export function checkLayer(model: Module, layer: string, modelName: string): void {
  const paths = model
    .namedModules()
    .map(([p]) => p)
    .filter((p) => p !== '');
  if (!paths.includes(layer))
    throw new CliError(`no layer named '${layer}' in ${modelName}${didYouMean(layer, paths)}; valid layers: ${paths.join(', ')}`, 2);
}
