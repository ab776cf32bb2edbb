import type { Tensor } from '@gradlens/tensor';
import { add, crossEntropy, flatten, mean, mul } from '@gradlens/tensor';
import { FASHION_MNIST_CLASSES } from '../datasets/classes';
import { parseModelCard } from './card';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { BatchNorm, BatchNorm1d, BatchNorm2d } from '../layers/batchnorm';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import type { InputOptions } from '../input';
import { loadCheckpoint } from '../train/checkpoint';
import type { LossFn } from '../train/fit';
import { foldInto } from './fold';
import { type ConvStemConfig, foldConvStemBatchNorm, type VitConfig, VisionTransformer } from './vit';
import { applyInit, convKaimingFanOut, type ModelOptions, numClassesOf, widthScaler } from './common';

/**
 * The small models gradlens trains itself on cluttered Fashion-MNIST (3×64×64 inputs, 10
 * classes), sized to train on a 2-core CPU in under half an hour, with torchvision-style names:
 *
 * - `gapnet`, the CAM architecture (Zhou et al. 2016): convs → global average pooling → one
 *   linear layer, so the class activation map is exactly Σ_k w_ck·A_k over the last conv block
 *   (`features.13`, 8×8, 128 channels).
 * - `smallvgg`, VGG-style (Simonyan & Zisserman 2015): `features` of 3×3 conv/ReLU/max-pool blocks,
 *   `classifier` of Linear/ReLU/Dropout/Linear, no BatchNorm — for Grad-CAM, guided backprop and LRP
 *   as on AlexNet/VGG. Its last conv block's ReLU is `features.13` (8×8, 128 channels; `features.14`
 *   pools it to 4×4).
 * - `vit`, a vision transformer (`smallvit`, below): torchvision's VisionTransformer with a conv stem,
 *   for the attention methods; its CAM layer is the last encoder layer's `ln_1` (tokens on an 8×8 grid).
 */

/** Options of the bundled builders. */
export interface BundledOptions extends ModelOptions {
  /**
   * Training variant: a BatchNorm2d after every conv (indices shift, as in torchvision's `_bn`
   * VGGs), and for smallvgg a BatchNorm1d after its hidden linear layer `classifier.0`. The bundled
   * weights were trained this way and then folded into the plain layers with `foldBatchNorm`, so the
   * published models have no BatchNorm. Being for training, it is built for speed: convs and linears
   * before a BatchNorm have no bias (it cancels them) and max-pool runs before ReLU where one
   * follows the other (the same function, on a quarter of the values).
   */
  batchNorm?: boolean;
  /**
   * smallvgg only, for training: deep supervision, as GoogLeNet's auxiliary classifiers. Adds
   * `auxiliary`, a Linear(128 → numClasses) over the global average of the last features (gapnet's
   * head on smallvgg's 4×4 map); while training, each forward leaves its logits in
   * `auxiliaryLogits` and `auxiliaryLoss` adds their cross-entropy to the classifier's. It hands
   * every position of the features a gradient straight from the labels, as gapnet's pooling does,
   * where the fully connected head alone learned slower (weights/README.md, round 9). `foldBatchNorm`
   * drops it: the published model has none.
   */
  auxiliary?: boolean;
}

type LayerSpec = { conv: [number, number, number, number, number] } | 'relu' | 'pool';

/** Builds a features Sequential from [in, out, kernel, stride, padding] convs, ReLUs and 2×2 max pools. */
function buildFeatures(spec: readonly LayerSpec[], w: (c: number) => number, batchNorm: boolean): Sequential {
  const seq = new Sequential();
  for (let i = 0; i < spec.length; i++) {
    const l = spec[i]!;
    if (l === 'relu' && batchNorm && spec[i + 1] === 'pool') {
      // max-pool(ReLU(x)) = ReLU(max-pool(x)), gradients included (ReLU is monotone), so the training
      // variant pools first and runs its ReLU on a quarter of the values. Names of convs and BatchNorms
      // are unchanged, so folding still maps them onto the plain model (ReLU before pool, as published).
      seq.append(new MaxPool2d(2, { stride: 2 }));
      seq.append(new ReLU());
      i++;
    } else if (l === 'relu') seq.append(new ReLU());
    else if (l === 'pool') seq.append(new MaxPool2d(2, { stride: 2 }));
    else {
      const [cin, cout, k, stride, padding] = l.conv;
      // Before a BatchNorm a conv bias is dead weight (the batch mean cancels it; its gradient is 0), so
      // the training variant has none and skips its gradient's reduction; folding gives the plain conv one.
      seq.append(new Conv2d(cin === 3 ? 3 : w(cin), w(cout), k, { stride, padding, bias: !batchNorm, init: false }));
      if (batchNorm) seq.append(new BatchNorm2d(w(cout)));
    }
  }
  return seq;
}

const GAPNET_FEATURES: readonly LayerSpec[] = [
  { conv: [3, 32, 3, 2, 1] },
  'relu',
  { conv: [32, 32, 3, 1, 1] },
  'relu',
  'pool',
  { conv: [32, 64, 3, 1, 1] },
  'relu',
  { conv: [64, 64, 3, 1, 1] },
  'relu',
  'pool',
  { conv: [64, 128, 3, 1, 1] },
  'relu',
  { conv: [128, 128, 3, 1, 1] },
  'relu',
];
// gapnet's features and one more max-pool (8×8 → 4×4) before the fully connected classifier.
const SMALLVGG_FEATURES: readonly LayerSpec[] = [...GAPNET_FEATURES, 'pool'];

/**
 * GAP network for CAM: `features` = three blocks of two 3×3 convs, each followed by ReLU — (3→32,
 * the first with stride 2; 32→32) at 32×32, max-pool, (32→64, 64→64) at 16×16, max-pool, (64→128,
 * 128→128) at 8×8 for a 64×64 input — then `avgpool` (global) and `classifier.0` Linear(128 →
 * numClasses). Two convs per resolution, VGG's pattern, learned more per second of training than one
 * (see weights/README.md); the receptive field is 61 px, over the largest item's 46.
 * Input [N, 3, H, W] → logits [N, numClasses].
 */
export class GapNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  readonly options: BundledOptions;

  constructor(options: BundledOptions = {}) {
    super();
    this.options = { ...options };
    if (options.auxiliary)
      throw new Error("GapNet: auxiliary is a smallvgg option (gapnet's classifier already is one linear layer over the pooled features)");
    const w = widthScaler(options, 'GapNet');
    const nc = numClassesOf({ numClasses: 10, ...options }, 'GapNet');
    this.features = this.registerModule('features', buildFeatures(GAPNET_FEATURES, w, options.batchNorm ?? false));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new Linear(w(128), nc, { generator: options.generator, init: options.init })),
    );
    applyInit(this, options, { conv: convKaimingFanOut });
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}

/**
 * Small VGG: `features` = gapnet's three blocks of two 3×3 convs with ReLU (3→32/stride 2, 32→32 ·
 * max-pool · 32→64, 64→64 · max-pool · 64→128, 128→128) and a last max-pool (8×8 → 4×4),
 * `classifier` = Linear(128·4·4 → 256) → ReLU → Dropout → Linear(256 → numClasses): the same
 * features as gapnet under a VGG head instead of global average pooling and one linear layer, as the
 * CAM paper compares. (An average pool to 2×2 before the classifier, as torchvision's VGG has, trained
 * as well but halved Grad-CAM's localisation accuracy: weights/README.md, round 8.)
 * No BatchNorm, so LRP's rules apply layer by layer. Input [N, 3, 64, 64] → logits [N, numClasses].
 */
export class SmallVGG extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  /** With `auxiliary: true` (training only): Linear(128 → numClasses) over the globally averaged last features. */
  readonly auxiliary: Linear | null;
  /** The auxiliary head's logits from the last forward in training mode; null in eval mode or without the head. Read by auxiliaryLoss. */
  auxiliaryLogits: Tensor | null = null;

  readonly options: BundledOptions;

  constructor(options: BundledOptions = {}) {
    super();
    this.options = { ...options };
    const w = widthScaler(options, 'SmallVGG');
    const nc = numClassesOf({ numClasses: 10, ...options }, 'SmallVGG');
    const p = options.dropout ?? 0.3;
    this.features = this.registerModule('features', buildFeatures(SMALLVGG_FEATURES, w, options.batchNorm ?? false));
    const c = w(128);
    const i = { generator: options.generator, init: options.init };
    const hidden = w(256);
    const batchNorm = options.batchNorm ?? false;
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Linear(c * 4 * 4, hidden, { ...i, bias: !batchNorm }),
        // The training variant normalises the hidden layer too (folded into classifier.0 afterwards): a
        // hidden layer cost about 5 points per picture against gapnet's single linear one over the same
        // features in short trials, and the normalisation won back about 2 (weights/README.md, round 8).
        ...(batchNorm ? [new BatchNorm1d(hidden)] : []),
        new ReLU(),
        new Dropout(p),
        new Linear(hidden, nc, i),
      ),
    );
    this.auxiliary = options.auxiliary ? this.registerModule('auxiliary', new Linear(c, nc, i)) : null;
    applyInit(this, options, { conv: convKaimingFanOut });
  }

  override forward(x: Tensor): Tensor {
    const f = this.features.call(x);
    if (f.shape[2] !== 4 || f.shape[3] !== 4) {
      throw new Error(
        `SmallVGG: expected a 64×64 input (4×4 features before the classifier), got input giving features [${f.shape.join(', ')}]`,
      );
    }
    this.auxiliaryLogits = this.auxiliary && this.training ? this.auxiliary.call(mean(f, { dim: [2, 3] })) : null;
    return this.classifier.call(flatten(f, 1));
  }
}

/**
 * The training loss of a SmallVGG built with `auxiliary: true`: crossEntropy(logits, target) +
 * weight · crossEntropy(auxiliary logits, target) after a forward in training mode, and the plain
 * crossEntropy otherwise (evaluation). Pass it as fit's (or a DataParallel task's) lossFn; the
 * accuracy fit reports stays the classifier's.
 */
export function auxiliaryLoss(model: SmallVGG, weight = 1): LossFn {
  if (!model.auxiliary) throw new Error('auxiliaryLoss: the model has no auxiliary head; build it with smallvgg({ auxiliary: true })');
  if (!(weight >= 0 && Number.isFinite(weight))) throw new Error(`auxiliaryLoss: weight must be a finite number ≥ 0, got ${weight}`);
  return (output, target) => {
    const aux = model.auxiliaryLogits;
    if (aux === null) return crossEntropy(output, target);
    if (aux.shape[0] !== output.shape[0])
      throw new Error(
        `auxiliaryLoss: the auxiliary logits are from a batch of ${aux.shape[0]}, the output from ${output.shape[0]}; call the loss right after the model's forward`,
      );
    return add(crossEntropy(output, target), mul(crossEntropy(aux, target), weight));
  };
}

/** The shape of the bundled ViT: torchvision's VisionTransformer(image_size=64, patch_size=8, …) with a conv stem. */
export const SMALLVIT_CONFIG: VitConfig = { imageSize: 64, patchSize: 8, numLayers: 2, numHeads: 4, hiddenDim: 64, mlpDim: 128 };
/**
 * The bundled ViT's conv stem as [outChannels, stride] of 3×3 convs: two per resolution with gapnet's widths
 * (VGG's pattern) and stride 2 where the resolution halves (64 → 32 → 16 → 8), then torchvision's 1×1 `conv_last`.
 */
export const SMALLVIT_STEM: readonly (readonly [number, number])[] = [
  [32, 2],
  [32, 1],
  [64, 2],
  [64, 1],
  [128, 2],
  [128, 1],
];

/** Options of smallvit: the bundled options, and the transformer's shape (for trials; the bundled weights use SMALLVIT_CONFIG). */
export interface SmallVitOptions extends BundledOptions, Partial<Pick<VitConfig, 'numLayers' | 'numHeads' | 'hiddenDim' | 'mlpDim'>> {
  /** The stem's 3×3 convs as [outChannels, stride] (default SMALLVIT_STEM). */
  stem?: readonly (readonly [number, number])[];
}

/**
 * The bundled vision transformer for 3×64×64 inputs, 10 classes by default: torchvision's
 * VisionTransformer(image_size=64, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128)
 * with a convolutional stem (Xiao et al. 2021; SMALLVIT_STEM: 3×3 convs with ReLU, two per resolution,
 * stride 2 at each halving) and a 1×1 `conv_last` to 64, so 64 patch tokens on an 8×8 grid and a class token. `batchNorm: true` (training)
 * puts a BatchNorm2d in each stem conv (torchvision's ConvStemConfig default), folded away by
 * foldBatchNorm: the published model's stem convs have biases and no norm (ConvStemConfig(norm_layer=None)).
 */
export function smallvit(o: SmallVitOptions = {}): VisionTransformer {
  if (o.auxiliary) throw new Error('smallvit: auxiliary is a smallvgg option');
  const { stem = SMALLVIT_STEM, batchNorm = false, ...rest } = o;
  const convStemConfigs: ConvStemConfig[] = stem.map(([outChannels, stride]) => ({
    outChannels,
    kernelSize: 3,
    stride,
    normLayer: batchNorm ? 'batchnorm' : null,
    activationLayer: 'relu',
  }));
  const config: VitConfig = { ...SMALLVIT_CONFIG };
  for (const k of ['numLayers', 'numHeads', 'hiddenDim', 'mlpDim'] as const) if (o[k] !== undefined) config[k] = o[k];
  return new VisionTransformer(config, { numClasses: 10, ...rest, convStemConfigs });
}

/** The CAM architecture for 3×64×64 inputs, 10 classes by default; see GapNet. */
export const gapnet = (o: BundledOptions = {}): GapNet => new GapNet(o);
/** The VGG-style architecture for 3×64×64 inputs, 10 classes by default; see SmallVGG. */
export const smallvgg = (o: BundledOptions = {}): SmallVGG => new SmallVGG(o);

/**
 * Returns a copy of a bundled model trained with `batchNorm: true` with every BatchNorm folded into
 * the conv or linear layer before it (eval-mode statistics: W' = W·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β),
 * as a plain model of the same class whose outputs equal the original's in eval mode. A smallvgg's
 * training-only auxiliary head is left out; a ViT's conv stem is folded by foldConvStemBatchNorm.
 */
export function foldBatchNorm<M extends GapNet | SmallVGG | VisionTransformer>(model: M): M {
  if (model instanceof VisionTransformer) return foldConvStemBatchNorm(model) as M;
  return foldCnn(model as GapNet | SmallVGG) as M;
}

/** foldBatchNorm for gapnet and smallvgg. */
function foldCnn<M extends GapNet | SmallVGG>(model: M): M {
  const plain = (
    model instanceof GapNet
      ? new GapNet({ ...model.options, batchNorm: false, init: false })
      : new SmallVGG({ ...model.options, batchNorm: false, auxiliary: false, init: false })
  ) as M;
  for (const part of ['features', 'classifier'] as const) {
    const src = model[part].children().map(([, m]) => m);
    const weighted = src.filter((m): m is Conv2d | Linear => m instanceof Conv2d || m instanceof Linear);
    const targets = plain[part]
      .children()
      .map(([, m]) => m)
      .filter((m): m is Conv2d | Linear => m instanceof Conv2d || m instanceof Linear);
    if (weighted.length !== targets.length)
      throw new Error(`foldBatchNorm: ${part} has ${weighted.length} conv/linear layers, the plain model ${targets.length}`);
    weighted.forEach((layer, k) => {
      const next = src[src.indexOf(layer) + 1];
      foldInto(layer, next instanceof BatchNorm ? next : null, targets[k]!);
    });
  }
  return plain;
}

/** What a bundled model is: how to build it, what it takes and which layers the explain methods want. */
export interface BundledModelInfo {
  build: (o?: BundledOptions) => Module;
  /** Input [C, H, W]. */
  inputSize: readonly [number, number, number];
  classes: readonly string[];
  /** Where CAM and Grad-CAM read activations: the last conv block's output (after ReLU), a ViT's last encoder layer's `ln_1`. */
  targetLayer: string;
  /** File names of the weights and card under the weights folder. */
  weights: string;
  card: string;
}

/** The bundled models by name. */
export const bundledModels = {
  gapnet: {
    build: gapnet,
    inputSize: [3, 64, 64],
    classes: FASHION_MNIST_CLASSES,
    targetLayer: 'features.13',
    weights: 'gapnet.safetensors',
    card: 'gapnet.json',
  },
  smallvgg: {
    build: smallvgg,
    inputSize: [3, 64, 64],
    classes: FASHION_MNIST_CLASSES,
    targetLayer: 'features.13',
    weights: 'smallvgg.safetensors',
    card: 'smallvgg.json',
  },
  vit: {
    build: smallvit,
    inputSize: [3, 64, 64],
    classes: FASHION_MNIST_CLASSES,
    // the last encoder layer's input norm, pytorch-grad-cam's ViT choice; its [N, 65, C] tokens are laid on
    // the 8×8 patch grid (class token dropped) by the CAM methods' automatic reshape
    targetLayer: `encoder.layers.encoder_layer_${SMALLVIT_CONFIG.numLayers - 1}.ln_1`,
    weights: 'vit.safetensors',
    card: 'vit.json',
  },
} as const satisfies Record<string, BundledModelInfo>;

/** A bundled model name. */
export type BundledModelName = keyof typeof bundledModels;

/** Whether `name` names a bundled model (narrows a string to BundledModelName). */
export function isBundledModelName(name: string): name is BundledModelName {
  return Object.prototype.hasOwnProperty.call(bundledModels, name);
}

/** A bundled model's card (the JSON written beside its weights by weights/train.js). */
export interface BundledModelCard {
  name: string;
  architecture: string;
  classes: string[];
  inputSize: [number, number, number];
  normalization: { mean: [number, number, number]; std: [number, number, number] };
  testAccuracy: number;
  [key: string]: unknown;
}

/** What loadBundledModel returns. */
export interface LoadedBundledModel {
  /** The model, in eval mode. */
  model: Module;
  card: BundledModelCard;
  info: BundledModelInfo;
  /** How pictures become its input (size and normalisation from the card), for imageToInput. */
  input: InputOptions;
}

/**
 * Builds bundled model `name` from its weights' bytes (safetensors) and its card (the JSON text, or a
 * parsed card), in eval mode, with the input options for imageToInput: what a browser calls, having
 * fetched the two files (under Node, `loadBundledModel` reads them from the weights folder).
 */
export function bundledModelFromBytes(name: BundledModelName, weights: Uint8Array, card: string | BundledModelCard): LoadedBundledModel {
  if (!isBundledModelName(name)) {
    throw new Error(
      `bundledModelFromBytes: unknown bundled model '${String(name)}'; bundled models: ${Object.keys(bundledModels).join(', ')}`,
    );
  }
  const info: BundledModelInfo = bundledModels[name];
  const parsed = typeof card === 'string' ? parseModelCard(card, info.card) : card;
  const model = info.build({ init: false });
  loadCheckpoint(weights, model, { name: info.weights });
  model.eval();
  const input: InputOptions = { size: parsed.inputSize[1], mean: parsed.normalization.mean, std: parsed.normalization.std };
  return { model, card: parsed, info, input };
}
