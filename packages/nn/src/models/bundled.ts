import * as fs from 'fs';
import * as path from 'path';
import { flatten, Tensor } from '@gradlens/tensor';
import { FASHION_MNIST_CLASSES } from '../datasets/fashion-mnist';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import { loadCheckpoint } from '../train/checkpoint';
import { applyInit, convKaimingFanOut, type ModelOptions, numClassesOf, widthScaler } from './common';

/**
 * The two small models gradlens trains itself on cluttered Fashion-MNIST (3×64×64 inputs, 10
 * classes), sized to train on a 2-core CPU in under half an hour, with torchvision-style names:
 *
 * - `gapnet`, the CAM architecture (Zhou et al. 2016): convs → global average pooling → one
 *   linear layer, so the class activation map is exactly Σ_k w_ck·A_k over the last conv block
 *   (`features.7`, 8×8, 128 channels).
 * - `smallvgg`, VGG-style (Simonyan & Zisserman 2015): `features` of 3×3 conv/ReLU/max-pool blocks,
 *   `classifier` of Linear/ReLU/Dropout/Linear, no BatchNorm — for Grad-CAM, guided backprop and LRP
 *   as on AlexNet/VGG. Its last conv block's ReLU is `features.10` (8×8, 128 channels; `features.11` pools it to 4×4).
 */

/**
 * GAP network for CAM: `features` = conv 5×5/2 (3→32) → ReLU → max-pool → conv 3×3 (32→64) → ReLU →
 * max-pool → conv 3×3 (64→128) → ReLU (8×8 for a 64×64 input), `avgpool` (global), `classifier.0`
 * Linear(128 → numClasses). Input [N, 3, H, W] → logits [N, numClasses].
 */
export class GapNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(options: ModelOptions = {}) {
    super();
    const w = widthScaler(options, 'GapNet');
    const nc = numClassesOf({ numClasses: 10, ...options }, 'GapNet');
    const noInit = { init: false };
    this.features = this.registerModule('features', new Sequential(
      new Conv2d(3, w(32), 5, { stride: 2, padding: 2, ...noInit }), new ReLU(), new MaxPool2d(2, { stride: 2 }),
      new Conv2d(w(32), w(64), 3, { padding: 1, ...noInit }), new ReLU(), new MaxPool2d(2, { stride: 2 }),
      new Conv2d(w(64), w(128), 3, { padding: 1, ...noInit }), new ReLU(),
    ));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(w(128), nc, { generator: options.generator, init: options.init }),
    ));
    applyInit(this, options, { conv: convKaimingFanOut });
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}

/**
 * Small VGG: `features` = four blocks of conv 3×3 (3→16→32→64→128, padding 1) → ReLU → max-pool 2×2
 * (64 → 4 pixels), `classifier` = Linear(128·4·4 → 256) → ReLU → Dropout → Linear(256 → numClasses).
 * No BatchNorm, so LRP's rules apply layer by layer. Input [N, 3, 64, 64] → logits [N, numClasses].
 */
export class SmallVGG extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(options: ModelOptions = {}) {
    super();
    const w = widthScaler(options, 'SmallVGG');
    const nc = numClassesOf({ numClasses: 10, ...options }, 'SmallVGG');
    const p = options.dropout ?? 0.3;
    const noInit = { init: false };
    this.features = this.registerModule('features', new Sequential());
    let c = 3;
    for (const v of [16, 32, 64, 128]) {
      this.features.append(new Conv2d(c, w(v), 3, { padding: 1, ...noInit }));
      this.features.append(new ReLU());
      this.features.append(new MaxPool2d(2, { stride: 2 }));
      c = w(v);
    }
    const i = { generator: options.generator, init: options.init };
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(c * 4 * 4, w(256), i), new ReLU(), new Dropout(p),
      new Linear(w(256), nc, i),
    ));
    applyInit(this, options, { conv: convKaimingFanOut });
  }

  override forward(x: Tensor): Tensor {
    const f = this.features.call(x);
    if (f.shape[2] !== 4 || f.shape[3] !== 4) {
      throw new Error(`SmallVGG: expected a 64×64 input (4×4 features before the classifier), got input giving features [${f.shape.join(', ')}]`);
    }
    return this.classifier.call(flatten(f, 1));
  }
}

/** The CAM architecture for 3×64×64 inputs, 10 classes by default; see GapNet. */
export const gapnet = (o: ModelOptions = {}): GapNet => new GapNet(o);
/** The VGG-style architecture for 3×64×64 inputs, 10 classes by default; see SmallVGG. */
export const smallvgg = (o: ModelOptions = {}): SmallVGG => new SmallVGG(o);

/** What a bundled model is: how to build it, what it takes and which layers the explain methods want. */
export interface BundledModelInfo {
  build: (o?: ModelOptions) => Module;
  /** Input [C, H, W]. */
  inputSize: readonly [number, number, number];
  classes: readonly string[];
  /** The last conv block's output (after ReLU), where CAM and Grad-CAM read activations. */
  targetLayer: string;
  /** File names of the weights and card under the weights folder. */
  weights: string;
  card: string;
}

/** The bundled models by name. */
export const bundledModels = {
  gapnet: { build: gapnet, inputSize: [3, 64, 64], classes: FASHION_MNIST_CLASSES, targetLayer: 'features.7', weights: 'gapnet.safetensors', card: 'gapnet.json' },
  smallvgg: { build: smallvgg, inputSize: [3, 64, 64], classes: FASHION_MNIST_CLASSES, targetLayer: 'features.10', weights: 'smallvgg.safetensors', card: 'smallvgg.json' },
} as const satisfies Record<string, BundledModelInfo>;

/** A bundled model name. */
export type BundledModelName = keyof typeof bundledModels;

/** The repository's `weights/` folder (or $GRADLENS_WEIGHTS), where bundled weights and cards live. */
export function bundledWeightsDir(): string {
  return process.env.GRADLENS_WEIGHTS ?? path.resolve(__dirname, '..', '..', '..', '..', 'weights');
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

/**
 * Builds bundled model `name`, loads its trained weights and card from `dir` (default the weights
 * folder), and returns them with the model in eval mode.
 */
export function loadBundledModel(name: string, options: { dir?: string } = {}): { model: Module; card: BundledModelCard; info: BundledModelInfo } {
  if (!Object.prototype.hasOwnProperty.call(bundledModels, name)) {
    throw new Error(`loadBundledModel: unknown bundled model '${name}'; bundled models: ${Object.keys(bundledModels).join(', ')}`);
  }
  const info: BundledModelInfo = bundledModels[name as BundledModelName];
  const dir = options.dir ?? bundledWeightsDir();
  const weights = path.join(dir, info.weights);
  const cardFile = path.join(dir, info.card);
  if (!fs.existsSync(weights)) throw new Error(`loadBundledModel: ${weights} not found; train it with \`node weights/train.js --model ${name}\` or set GRADLENS_WEIGHTS`);
  const model = info.build({ init: false });
  loadCheckpoint(weights, model);
  model.eval();
  const card = JSON.parse(fs.readFileSync(cardFile, 'utf8')) as BundledModelCard;
  return { model, card, info };
}
