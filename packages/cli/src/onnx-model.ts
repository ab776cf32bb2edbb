import * as fs from 'fs';
import * as path from 'path';
import { IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import { classNamesFromMetadata, isYoloMetadata, loadOnnx, pictureLayout } from '@gradlens/onnx';
import type { OnnxModel } from '@gradlens/onnx';
import { noGrad, tidy, zeros } from '@gradlens/tensor';
import { CliError } from './args';
import { detectionNames, isDetectionOutputs } from './detections';
import type { LoadedModel, LoadOptions } from './model';
import { loadYolo } from './yolo-model';
import { yoloDynamicSide, yoloGridLayer, yoloInfo } from './yolo';

export { detectionNames, isDetectionOutputs } from './detections';

/** Whether a `--model` value names an ONNX file (it ends in .onnx) rather than a bundled model. */
export function isOnnxFile(name: string): boolean {
  return /\.onnx$/i.test(name);
}

/** The input side the CLI feeds when the model's height and width are dynamic and no --size is given. */
const DYNAMIC_SIDE = 224;

/**
 * The input shape the graph is fed, in its own layout, from its declared input and `--size`: a picture of 1 or 3
 * channels, channels first or last (pictureLayout: the model is loaded with pictureInput, so the CLI feeds RGB
 * pictures whatever the layout), at the model's own side when fixed, else `size` or 224. Refused in one line: inputs
 * that are not such a picture, a fixed batch other than 1, non-square fixed sizes, a `--size` other than a fixed side.
 */
export function cliInputShape(file: string, declared: readonly (number | string)[], size: number | undefined): number[] {
  const shown = `[${declared.join(', ')}]`;
  const fixed = (d: number | string | undefined): number | undefined => (typeof d === 'number' ? d : undefined);
  if (declared.length !== 4)
    throw new CliError(
      `${file}: the model's input is ${shown}; the CLI feeds pictures as [1, C, H, W] or [1, H, W, C] (use loadOnnx from @gradlens/onnx for other inputs)`,
      2,
    );
  const layout = pictureLayout(declared);
  if (layout === null)
    throw new CliError(
      `${file}: the model's input ${shown} is not a picture of 1 or 3 channels, first or last; the CLI feeds grayscale or RGB pictures`,
      2,
    );
  const [n, h, w] = (layout.channelsLast ? [declared[0], declared[1], declared[2]] : [declared[0], declared[2], declared[3]]).map(fixed);
  if (n !== undefined && n !== 1)
    throw new CliError(`${file}: the model's input ${shown} has a fixed batch of ${n}; the CLI feeds one picture at a time`, 2);
  if (h !== undefined && w !== undefined && h !== w)
    throw new CliError(`${file}: the model's input ${shown} is not square (${h}×${w}); the CLI feeds square pictures`, 2);
  const side = h ?? w;
  if (side !== undefined && size !== undefined && size !== side)
    throw new CliError(`${file}: --size ${size} differs from the model's fixed input side ${side} (${shown})`, 2);
  const s = side ?? size ?? DYNAMIC_SIDE;
  return layout.channelsLast ? [1, s, s, layout.channels] : [1, layout.channels, s, s];
}

/**
 * Loads the ONNX model at `file` for the CLI's input shape; a missing file or a load error is one line. A detection
 * graph (isDetectionOutputs) taking one picture [3, H, W] is loaded as a model of its scores, fed batches of one.
 */
export function openOnnx(file: string, size: number | undefined): OnnxModel {
  if (!fs.existsSync(file)) throw new CliError(`ONNX model not found: ${file}`, 2);
  if (!fs.statSync(file).isFile()) throw new CliError(`ONNX model is not a file: ${file}`, 2);
  let refused: CliError | null = null;
  let detection = false;
  const unbatched = (declared: readonly (number | string)[]): boolean => detection && declared.length === 3;
  const inputShape = (declared: readonly (number | string)[]): number[] => {
    try {
      return unbatched(declared) ? cliInputShape(file, [1, ...declared], size).slice(1) : cliInputShape(file, declared, size);
    } catch (e) {
      refused = e as CliError;
      throw e;
    }
  };
  const output = (names: readonly string[]): string | undefined => {
    detection = isDetectionOutputs(names);
    return detection ? 'scores' : undefined;
  };
  try {
    // check: false, as the forward pass on zeros runs in outputShape, where its error names the CLI's input
    // an Ultralytics YOLO export reshapes to a batch of one: run batches item by item
    return loadOnnx(file, { inputShape, check: false, output, unbatched, pictureInput: true, itemwise: isYoloMetadata });
  } catch (e) {
    if (refused) throw refused;
    throw new CliError((e as Error).message.replace(/^loadOnnx /, 'cannot load the ONNX model '), 2);
  }
}

/** The model's output shape on one picture (one forward pass on zeros, which also checks every node's shapes). */
function outputShape(model: OnnxModel, file: string): number[] {
  const shape = [...model.inputShape];
  try {
    return tidy(() => noGrad(() => [...model.call(zeros(shape)).shape]));
  } catch (e) {
    throw new CliError(`${file} does not run on a [${shape.join(', ')}] input: ${(e as Error).message.replace(/\n\s*/g, '; ')}`);
  }
}

/** Class names from the model's metadata_props (keys in CLASS_NAME_KEYS), checked against the output size. */
function classesOf(model: OnnxModel, file: string, k: number): readonly string[] | null {
  let found: ReturnType<typeof classNamesFromMetadata>;
  try {
    found = classNamesFromMetadata(model.metadata);
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`, 2);
  }
  if (!found) return null;
  if (found.names.length !== k)
    throw new CliError(`${file}: metadata '${found.key}' names ${found.names.length} classes, the model gives ${k} outputs`, 2);
  return found.names;
}

/** The default CAM layer of an ONNX model, or null when it has none (a CAM method then needs --layer). */
function defaultLayerOf(model: OnnxModel): string | null {
  try {
    return model.defaultCamLayer();
  } catch {
    return null;
  }
}

/**
 * `--model <file.onnx>`: the graph replayed on gradlens ops, fed as the torchvision architectures are
 * (ImageNet mean and std, the evaluation transform at the model's input side), with class names from
 * its metadata. `--weights` does not apply (the weights are in the file); `beforeWeights` runs once the
 * graph is known, before any picture is read or method runs.
 */
export function loadOnnxModel(file: string, weights: string | undefined, options: LoadOptions = {}): LoadedModel {
  if (weights !== undefined) throw new CliError(`--weights does not apply to an ONNX model: its weights are in ${file}`, 2);
  let model = openOnnx(file, options.size);
  // a YOLO export with dynamic height and width is fed at its metadata's imgsz (640), not 224
  const side = options.size === undefined ? yoloDynamicSide(model) : undefined;
  if (side !== undefined && side !== model.inputShape[2]) model = openOnnx(file, side);
  const shape = outputShape(model, file);
  const yolo = yoloInfo(model, shape, file);
  if (yolo) return loadYolo(yolo, file, options);
  const k = shape.slice(1).reduce((a, b) => a * b, 1);
  const detecting = model.unbatched && isDetectionOutputs(model.outputNames);
  // a detection model's outputs are its detections, which differ per picture: named after each forward pass
  const classes = detecting ? null : classesOf(model, file, k);
  const layer = defaultLayerOf(model);
  options.beforeWeights?.(model, layer, classes);
  const grayscale = model.pictureLayout?.channels === 1;
  return {
    model,
    name: path.basename(file),
    bundled: false,
    card: null,
    size: model.inputShape[2]!,
    // torchvision's detection models take pictures in [0, 1] and normalise inside the graph; a grayscale model's
    // training normalisation cannot be guessed: [0, 1] unless --mean/--std say otherwise
    mean: detecting || grayscale ? [0, 0, 0] : IMAGENET_MEAN,
    std: detecting || grayscale ? [1, 1, 1] : IMAGENET_STD,
    grayscale,
    ...inputNote(model, path.basename(file)),
    classes,
    defaultLayer: layer,
    weights: file,
    // a detection picture keeps its scale: its shorter side to the graph's side, the longer centre-cropped (no 256/224 zoom)
    ...(detecting ? { outputNames: () => detectionNames(model), shorterSide: model.inputShape[2]! } : {}),
  };
}

/** What the CLI tells of a graph that does not take RGB pictures channels first: how the pictures are adapted to it. */
function inputNote(model: OnnxModel, name: string): { inputNote?: string } {
  const layout = model.pictureLayout;
  if (layout === null || (layout.channels === 3 && !layout.channelsLast)) return {};
  const what = layout.channels === 1 ? "each picture's luma (ITU-R 601-2, as PIL's convert('L'))" : 'each RGB picture';
  const order = layout.channelsLast ? ', channels last' : '';
  return { inputNote: `${name} takes [${model.graphInputShape.join(', ')}]: it is fed ${what}${order}; the maps lie on the picture` };
}

/** `gradlens layers --model <file.onnx>`: the model (with its weights: they are one file) and its input side and default layer. */
export function onnxForLayers(
  file: string,
  size: number | undefined,
): { model: OnnxModel; name: string; size: number; defaultLayer: string | null } {
  const model = openOnnx(file, size);
  const yolo = yoloInfo(model, outputShape(model, file), file);
  // a YOLO model's: the stride-8 grid's layer, as explain's default
  const defaultLayer = yolo ? yoloGridLayer(yolo, 0) : defaultLayerOf(model);
  return { model, name: path.basename(file), size: model.inputShape[2]!, defaultLayer };
}
