import * as fs from 'fs';
import * as path from 'path';
import { boxToPicture, IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import type { PictureFrame } from '@gradlens/io';
import type { InputSize } from '@gradlens/nn';
import { classNamesFromMetadata, isYoloMetadata, loadOnnx } from '@gradlens/onnx';
import type { OnnxModel } from '@gradlens/onnx';
import { noGrad, tidy, zeros } from '@gradlens/tensor';
import { CliError } from './args';
import { cliInputShape, onnxGeometry } from './onnx-input';
import { detectionNames, isDetectionOutputs } from './detections';
import type { Detection } from './detections';
import type { LoadedModel, LoadOptions } from './model';
import { loadYolo } from './yolo-model';
import { yoloDynamicSide, yoloGridLayer, yoloInfo } from './yolo';

export { detectionNames, isDetectionOutputs } from './detections';
export { cliInputShape } from './onnx-input';

/** Whether a `--model` value names an ONNX file (it ends in .onnx) rather than a bundled model. */
export function isOnnxFile(name: string): boolean {
  return /\.onnx$/i.test(name);
}

/**
 * Loads the ONNX model at `file` for the CLI's input shape; a missing file or a load error is one line. A detection
 * graph (isDetectionOutputs) taking one picture [3, H, W] is loaded as a model of its scores, fed batches of one.
 */
export function openOnnx(file: string, size: InputSize | undefined): OnnxModel {
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
    // check: false, as the forward pass on zeros runs in outputShape, where its error names the CLI's input;
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
    ...onnxGeometry(model, options.size, detecting),
    // torchvision's detection models take pictures in [0, 1] and normalise inside the graph; a grayscale model's
    // training normalisation cannot be guessed: [0, 1] unless --mean/--std say otherwise
    mean: detecting || grayscale ? [0, 0, 0] : IMAGENET_MEAN,
    std: detecting || grayscale ? [1, 1, 1] : IMAGENET_STD,
    grayscale,
    ...inputNote(model, path.basename(file)),
    classes,
    defaultLayer: layer,
    weights: file,
    ...(detecting ? { outputNames: (frame?: PictureFrame) => detectionNames(model, (d) => inPicture(d, frame)) } : {}),
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

/** A detection's box moved from the model input's pixels to the original picture's (unchanged without a frame). */
function inPicture(d: Detection, frame: PictureFrame | undefined): Detection {
  return frame && d.box ? { ...d, box: boxToPicture(d.box, frame) } : d;
}

/** `gradlens layers --model <file.onnx>`: the model (with its weights: they are one file), its input height (size) and width, and default layer. */
export function onnxForLayers(
  file: string,
  size: InputSize | undefined,
): { model: OnnxModel; name: string; size: number; width: number; defaultLayer: string | null } {
  const model = openOnnx(file, size);
  const yolo = yoloInfo(model, outputShape(model, file), file);
  // a YOLO model's: the stride-8 grid's layer, as explain's default
  const defaultLayer = yolo ? yoloGridLayer(yolo, 0) : defaultLayerOf(model);
  return { model, name: path.basename(file), size: model.inputShape[2]!, width: model.inputShape[3]!, defaultLayer };
}
