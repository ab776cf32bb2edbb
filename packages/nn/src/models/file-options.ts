import type { Module } from '../module';
import { GoogLeNet } from './googlenet';
import { Inception3 } from './inception';
import { MNASNet, mnasnetVersionOf } from './mnasnet';
import { isSegmentationModel, SegmentationModel } from './segmentation';
import { VisionTransformer, vitImageSizeOf } from './vit';

/** Build options a weights file implies beyond its names (fileBuildOptions); each only where it differs from the model. */
export interface FileBuildOptions {
  /** The classifier's size: a classifier's when not 1000, a segmentation model's when not the count it was built with. */
  numClasses?: number;
  /** A ViT's side, read from its position embeddings (torchvision's SWAG weights: 384, 512, 518). */
  imageSize?: number;
  /** MNASNet's version 1 layout (torchvision's mnasnet0_5 and mnasnet1_0 files). */
  version?: 1;
  /** GoogLeNet's and Inception v3's auxiliary classifiers, absent from files saved with aux_logits=False. */
  auxLogits?: false;
  /** A segmentation model's aux_classifier, in torchvision's published files (aux_loss=True). */
  auxLoss?: true;
}

/** What the caller already chose: the input side (a ViT takes one only) and the class count (then not read from the file). */
export interface GivenBuildOptions {
  /** A side, or an exact [height, width]. */
  size?: number | readonly [number, number];
  numClasses?: number;
}

type Dict = Readonly<Record<string, { shape: readonly number[] }>>;

/**
 * The number of outputs the state dict's entry for the model's last weight gives (the classifier's size: a classifier's
 * classes, a segmentation model's), when it has one; `dict` defaults to the model's own.
 */
export function stateDictClassCount(model: Module, dict: Dict = model.stateDict()): number | undefined {
  const keys = Object.keys(model.stateDict()).filter((k) => k.endsWith('.weight'));
  const last = keys[keys.length - 1];
  if (!last) return undefined;
  return (dict[last] ?? dict[`module.${last}`])?.shape[0];
}

/**
 * The options to rebuild torchvision architecture `arch` with so that the state dict `dict` loads into it, given
 * `model` as built without them: the class count, a ViT's side, MNASNet's layout, aux heads absent (GoogLeNet,
 * Inception v3) or present (a segmentation model's aux_classifier). Empty when `model` fits as it is. Errors are one
 * line: a ViT's position embeddings that are not a square grid (`weights do not fit vit_b_16: …`), or a `given.size`
 * other than the side they were trained at (`size 224 does not fit vit_b_16 with these weights: …`).
 */
export function fileBuildOptions(arch: string, model: Module, dict: Dict, given: GivenBuildOptions = {}): FileBuildOptions {
  const found: FileBuildOptions = {};
  const n = stateDictClassCount(model, dict);
  const built = isSegmentationModel(model) ? stateDictClassCount(model) : 1000;
  if (given.numClasses === undefined && n !== undefined && n !== built) found.numClasses = n;
  if (model instanceof VisionTransformer) {
    const side = vitSide(arch, model, dict, given.size);
    if (side !== null) found.imageSize = side;
  }
  if (model instanceof MNASNet && mnasnetVersionOf(dict, model.alpha) === 1) found.version = 1;
  const keys = Object.keys(dict).map((k) => k.replace(/^module\./, ''));
  const auxPrefix = model instanceof GoogLeNet ? 'aux1.' : model instanceof Inception3 ? 'AuxLogits.' : null;
  if (auxPrefix !== null && !keys.some((k) => k.startsWith(auxPrefix))) found.auxLogits = false;
  if (model instanceof SegmentationModel && model.auxClassifier === null && keys.some((k) => k.startsWith('aux_classifier.')))
    found.auxLoss = true;
  return found;
}

/** The side a ViT's weights were trained at when it is not the model's, else null; a given side that differs throws. */
function vitSide(arch: string, model: VisionTransformer, dict: Dict, givenSize?: number | readonly [number, number]): number | null {
  let side: number | null;
  try {
    side = vitImageSizeOf(dict, model.config.patchSize);
  } catch (e) {
    throw new Error(`weights do not fit ${arch}: ${(e as Error).message}`);
  }
  const trained = side ?? model.config.imageSize;
  const given = givenSize === undefined || typeof givenSize === 'number' ? givenSize : givenSize.join('x');
  if (given !== undefined && given !== trained && given !== `${trained}x${trained}`) {
    throw new Error(
      `size ${given} does not fit ${arch} with these weights: its position embeddings are for ${trained}×${trained} pictures (a ViT takes one size)`,
    );
  }
  return side === model.config.imageSize ? null : side;
}
