import { readPth, readSafetensors } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { hasTokenGrid } from '@gradlens/explain';
import {
  bundledModels,
  createModel,
  defaultCamLayer,
  archInputOptions,
  archBuildOptions,
  isBundledModelName,
  isModelName,
  layers,
  VisionTransformer,
  vitImageSizeOf,
} from '@gradlens/nn';
import type { InputOptions, ModelOptions, Module } from '@gradlens/nn';
import { loadOnnx } from '@gradlens/onnx';
import type { OnnxModel } from '@gradlens/onnx';
import { noGrad, tidy, zeros } from '@gradlens/tensor';
import type { BundledCard, LayerRow, ModelSource } from '../protocol';

/** A model ready to explain, with what the page shows about it. */
export interface PageModel {
  name: string;
  model: Module;
  classes: string[];
  input: InputOptions & { size: number };
  layers: LayerRow[];
  defaultLayer: string;
}

const IMAGENET_NORM = { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };

/** Builds the model a source names, loads its weights (eval mode) and lists its layers. */
export function loadPageModel(source: ModelSource): PageModel {
  if (source.kind === 'bundled') return loadBundledBytes(source.name, source.weights, source.card);
  const lower = source.fileName.toLowerCase();
  if (lower.endsWith('.onnx')) {
    // the graph's own input size where it has one; the size field where its spatial dims are symbolic
    let model: OnnxModel;
    try {
      model = loadOnnx(source.bytes);
    } catch {
      model = loadOnnx(source.bytes, { inputShape: [1, 3, source.size || 224, source.size || 224] });
    }
    model.eval();
    const size = model.inputShape[2] ?? (source.size || 224);
    return describe(source.fileName, model, numbered(outputClasses(model, size)), { size, ...IMAGENET_NORM });
  }
  if (!isModelName(source.arch)) throw new Error(`${source.fileName}: unknown architecture '${source.arch}'`);
  let input = archInput(source);
  let model = createModel(source.arch, { numClasses: source.numClasses, ...archBuildOptions(source.arch, source.fileName, input.size) });
  let dict: Record<string, NdArray>;
  if (lower.endsWith('.safetensors')) dict = readSafetensors(source.bytes, { name: source.fileName }).tensors;
  else if (lower.endsWith('.pth') || lower.endsWith('.pt')) dict = readPth(source.bytes, { name: source.fileName });
  else throw new Error(`${source.fileName}: not a weights file this page reads (.safetensors, .pth, .pt, .onnx)`);
  // A ViT trained at another side (torchvision's SWAG weights) is built and fed at that side, as the CLI does.
  const vit = model instanceof VisionTransformer ? model : null;
  const side = vit === null ? null : vitImageSizeOf(dict, vit.config.patchSize);
  if (vit !== null && side !== null && side !== vit.config.imageSize) {
    if (source.size > 0 && source.size !== side)
      throw new Error(`${source.fileName}: its position embeddings are for ${side}×${side} pictures; leave the input side empty`);
    model = createModel(source.arch, { numClasses: source.numClasses, imageSize: side } as ModelOptions);
    if (input.size !== side) input = { size: side, mean: input.mean, std: input.std }; // a renamed SWAG file: the 256/224 rule
  }
  try {
    model.loadStateDict(dict);
  } catch (e) {
    throw new Error(`${source.fileName} does not fit ${source.arch}: ${(e as Error).message}`);
  }
  model.eval();
  return describe(source.fileName, model, numbered(source.numClasses), input);
}

type FileSource = Extract<ModelSource, { kind: 'file' }>;

/** The CLI's --arch rule (nn's archInputOptions): the side left empty (0) feeds the weights' evaluation transform. */
const archInput = (source: FileSource): InputOptions & { size: number } =>
  archInputOptions(source.arch, source.size > 0 ? source.size : undefined, source.fileName);

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
  const shape = [1, 3, input.size, input.size];
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
  return { name, model, classes, input, layers: rows, defaultLayer };
}

/** Class names "class 0" … "class n−1" for a model without a card. */
const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => `class ${i}`);

/** The number of classes an ONNX model outputs (its output's last dimension). */
function outputClasses(model: Module, size: number): number {
  return tidy(() =>
    noGrad(() => {
      const out = model.call(zeros([1, 3, size, size]));
      return out.shape[out.shape.length - 1] ?? 1;
    }),
  );
}
