import { readPth, readSafetensors } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { hasTokenGrid } from '@gradlens/explain';
import {
  bundledModels,
  createModel,
  stateDictClassCount,
  weightsFileClassNames,
  defaultCamLayer,
  fileBuildOptions,
  archInputOptions,
  archBuildOptions,
  inputProbeShape,
  isBundledModelName,
  isModelName,
  layers,
} from '@gradlens/nn';
import type { FileBuildOptions, InputOptions, InputSize, ModelOptions, Module } from '@gradlens/nn';
import { isYoloMetadata, loadOnnx } from '@gradlens/onnx';
import { isDetectionOutputs } from '../../../cli/src/detections';
import { yoloGridLayer, yoloInfo } from '../../../cli/src/yolo';
import type { YoloModelInfo } from '../../../cli/src/yolo';
import { cliInputShape, onnxGeometry } from '../../../cli/src/onnx-input';
import { parseSize, sizeOverLimit } from '../../../cli/src/size-option';
import type { OnnxModel } from '@gradlens/onnx';
import { noGrad, tidy, zeros } from '@gradlens/tensor';
import type { BundledCard, LayerRow, ModelSource } from '../protocol';

/** A model ready to explain, with what the page shows about it. */
export interface PageModel {
  name: string;
  model: Module;
  classes: string[];
  input: InputOptions & { size: number };
  /** What the model is fed, for the status line: `224×224`, `320×480`, `the whole picture, shorter side 520`. */
  fed: string;
  layers: LayerRow[];
  defaultLayer: string;
  /** A detection model (its output the scores of its last call's detections, listed per picture), else absent. */
  detector?: OnnxModel;
  /** An Ultralytics YOLO export (pictures letterboxed, its detections listed, detection k explained), else absent. */
  yolo?: YoloModelInfo;
}

const IMAGENET_NORM = { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };

/** Builds the model a source names, loads its weights (eval mode) and lists its layers. */
export function loadPageModel(source: ModelSource): PageModel {
  if (source.kind === 'bundled') return loadBundledBytes(source.name, source.weights, source.card);
  const lower = source.fileName.toLowerCase();
  if (lower.endsWith('.onnx')) return loadOnnxBytes(source);
  if (!isModelName(source.arch)) throw new Error(`${source.fileName}: unknown architecture '${source.arch}'`);
  const size = sizeOf(source);
  let input = archInputOptions(source.arch, size, source.fileName);
  const [, , h, w] = inputProbeShape(input);
  const build = { numClasses: given(source), ...archBuildOptions(source.arch, source.fileName, h, w) };
  let model = createModel(source.arch, build);
  let dict: Record<string, NdArray>;
  if (lower.endsWith('.safetensors')) dict = readSafetensors(source.bytes, { name: source.fileName }).tensors;
  else if (lower.endsWith('.pth') || lower.endsWith('.pt')) dict = readPth(source.bytes, { name: source.fileName });
  else throw new Error(`${source.fileName}: not a weights file this page reads (.safetensors, .pth, .pt, .onnx)`);
  // What the file implies beyond its names (class count, a ViT's side, MNASNet v1, aux heads), as the CLI reads it.
  let fromFile: FileBuildOptions;
  try {
    fromFile = fileBuildOptions(source.arch, model, dict, { size, numClasses: given(source) });
  } catch (e) {
    throw new Error(
      `${source.fileName}: ${(e as Error).message}${/^size /.test((e as Error).message) ? '; leave the input side empty' : ''}`,
    );
  }
  if (Object.keys(fromFile).length > 0) model = createModel(source.arch, { ...build, ...fromFile } as ModelOptions);
  // a ViT trained at another side than the transform's crop (a renamed SWAG file): that side, by the 256/224 rule
  if (fromFile.imageSize !== undefined && fromFile.imageSize !== input.size) input = archInputOptions(source.arch, fromFile.imageSize);
  try {
    model.loadStateDict(dict);
  } catch (e) {
    throw new Error(`${source.fileName} does not fit ${source.arch}: ${(e as Error).message}`);
  }
  model.eval();
  // torchvision's published segmentation files are known by name: their VOC classes
  const names = weightsFileClassNames(source.arch, source.fileName);
  return describe(
    source.fileName,
    model,
    names ? [...names] : numbered(stateDictClassCount(model) ?? outputClasses(model, inputProbeShape(input), 1)),
    input,
  );
}

type FileSource = Extract<ModelSource, { kind: 'file' }>;

/** The class count the page was given; 0 (the field left empty): the weights file's own. */
const given = (source: FileSource): number | undefined => (source.numClasses > 0 ? source.numClasses : undefined);

/** The size field as the CLI's --size (N or HxW); empty: undefined (the architecture's own, as --arch without --size). */
function sizeOf(source: FileSource): InputSize | undefined {
  if (source.size.trim() === '') return undefined;
  const size = parseSize(source.size);
  if (size === null) throw new Error(`input size '${source.size}': give a side N or HxW (e.g. 224 or 320x480), or leave it empty`);
  const over = sizeOverLimit(size);
  if (over !== null) throw new Error(`input size ${over}`);
  return size;
}

/**
 * An ONNX graph from its bytes, fed as the CLI feeds it (onnx-input.ts): at its own input size where it has one
 * (square or not; the size field, a default for dynamic graphs, is then not used), else the field's (224 when empty). A detection graph (outputs boxes, labels, scores; one
 * picture [3, H, W]) is loaded as a model of its detections' scores, fed pictures in [0, 1] that keep their scale:
 * with dynamic H and W the whole picture, its shorter side at the field's side (224 when empty).
 */
function loadOnnxBytes(source: FileSource): PageModel {
  const size = sizeOf(source);
  let detection = false;
  const output = (names: readonly string[]): string | undefined => {
    detection = isDetectionOutputs(names);
    return detection ? 'scores' : undefined;
  };
  const unbatched = (declared: readonly (number | string)[]): boolean => detection && declared.length === 3;
  const open = (symbolic: boolean): OnnxModel =>
    loadOnnx(source.bytes, {
      output,
      unbatched,
      // the graph's own layout (channels first or last, 1 or 3 of them: cliInputShape) takes RGB pictures
      pictureInput: true,
      // an Ultralytics YOLO export reshapes to a batch of one: batches run item by item
      itemwise: isYoloMetadata,
      ...(symbolic
        ? {
            inputShape: (d: readonly (number | string)[]) =>
              unbatched(d) ? cliInputShape(source.fileName, [1, ...d], size).slice(1) : cliInputShape(source.fileName, d, size),
          }
        : {}),
    });
  let model: OnnxModel;
  try {
    // the graph's own input first: a fixed one (square or not) is fed at its size, whatever the field says
    model = open(false);
  } catch (first) {
    try {
      model = open(true); // its spatial dims are symbolic
    } catch {
      // name the file the user chose: loadOnnx only knows it was given bytes
      throw new Error(`${source.fileName}: ${(first as Error).message.replace(/^loadOnnx ONNX bytes: /, '')}`);
    }
  }
  model.eval();
  const detecting = model.unbatched && detection;
  const input = {
    ...onnxGeometry(model, size, detecting),
    // torchvision's detectors normalise inside; a grayscale graph's normalisation cannot be guessed: [0, 1], as the CLI
    ...(detecting || model.pictureLayout?.channels === 1 ? { mean: [0, 0, 0] as const, std: [1, 1, 1] as const } : IMAGENET_NORM),
  };
  if (detecting) return { ...describe(source.fileName, model, [], input), detector: model };
  // an Ultralytics YOLO export, read as the CLI reads it: letterboxed pictures in [0, 1], its detections listed
  const yolo = model.itemwise ? yoloInfo(model, outputShape(model, inputProbeShape(input)), source.fileName) : null;
  if (yolo) {
    const fed = { ...onnxGeometry(model, size, false), mean: [0, 0, 0] as const, std: [1, 1, 1] as const };
    const names = yolo.layout.names ?? numbered(yolo.layout.classes);
    return { ...describe(source.fileName, model, names, fed, yoloGridLayer(yolo, 0) ?? undefined), yolo };
  }
  return describe(source.fileName, model, numbered(outputClasses(model, inputProbeShape(input))), input);
}

/** A bundled model from its safetensors bytes and card, as nn's loadBundledModel builds it from files. */
function loadBundledBytes(name: string, weights: Uint8Array, card: BundledCard): PageModel {
  if (!isBundledModelName(name))
    throw new Error(`unknown bundled model '${name}'; bundled models: ${Object.keys(bundledModels).join(', ')}`);
  const model = bundledModels[name].build({ init: false });
  model.loadStateDict(readSafetensors(weights, { name: `${name}.safetensors` }).tensors);
  model.eval();
  const input = { size: card.inputSize[1], mean: card.normalization.mean, std: card.normalization.std };
  return describe(name, model, card.classes, input, bundledModels[name].targetLayer);
}

/**
 * The model with its layers; `camLayer` is the bundled model's CAM layer (else the model's default).
 * A layer is a CAM layer when its output is [N, C, h, w], or for a ViT (a model with a token grid)
 * [N, 1 + h·w, C] tokens, which the CAM methods lay on the patch grid.
 */
function describe(name: string, model: Module, classes: string[], input: InputOptions & { size: number }, camLayer?: string): PageModel {
  const shape = inputProbeShape(input);
  const grid = hasTokenGrid(model) ? model.tokenGrid : null;
  const tokens = grid ? 1 + grid[0] * grid[1] : -1;
  const isCam = (s: number[] | null): boolean => s?.length === 4 || (s?.length === 3 && s[1] === tokens);
  const rows = layers(model, shape).map((l) => ({ path: l.path, type: l.type, shape: l.outputShape, cam: isCam(l.outputShape) }));
  let defaultLayer = camLayer;
  if (defaultLayer === undefined) {
    try {
      defaultLayer = defaultCamLayer(model, shape);
    } catch {
      defaultLayer = rows.filter((r) => r.cam).pop()?.path ?? '';
    }
  }
  return { name, model, classes, input, fed: fedText(input), layers: rows, defaultLayer };
}

/** What a model is fed, in words: `224×224`, `320×480`, `the whole picture, shorter side 520`. */
function fedText(input: InputOptions & { size: number }): string {
  if (input.crop === false) return `the whole picture, shorter side ${input.shorterSide ?? input.size}`;
  const [, , h, w] = inputProbeShape(input);
  return `${h}×${w}`;
}

/** Class names "class 0" … "class n−1" for a model without a card. */
const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => `class ${i}`);

/** The number of classes an ONNX model outputs (its output's last dimension), or its dimension `dim`, on an input of `shape`. */
/** An ONNX model's output shape on a zero input of `shape` (one forward pass). */
function outputShape(model: Module, shape: readonly number[]): number[] {
  return tidy(() => noGrad(() => [...model.call(zeros([...shape])).shape]));
}

function outputClasses(model: Module, shape: readonly number[], dim = -1): number {
  return tidy(() =>
    noGrad(() => {
      const out = model.call(zeros([...shape]));
      return out.shape[dim < 0 ? out.shape.length + dim : dim] ?? 1;
    }),
  );
}
