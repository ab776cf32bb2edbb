import type { Tensor } from '@gradlens/tensor';
import { flatten } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/batchnorm';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, convKaimingFanOut, linearNormal, numClassesOf, widthScaler } from './common';

/** torchvision's VGG configurations: channel counts of 3×3 convs, 'M' for a 2×2 max pool. */
export const vggConfigs = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly (number | 'M')[]>;

export interface VGGOptions extends ModelOptions {
  /** BatchNorm after every conv (the `_bn` variants). */
  batchNorm?: boolean;
}

/**
 * VGG as torchvision.models.VGG: `features` (conv 3×3 [+ BN] + ReLU blocks and max pools),
 * `avgpool` (adaptive to 7×7), `classifier` (Linear 25088→4096, ReLU, Dropout, Linear 4096→4096, ReLU,
 * Dropout, Linear →numClasses). Input [N, 3, H, W] → logits [N, numClasses].
 */
export class VGG extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(config: readonly (number | 'M')[], options: VGGOptions = {}) {
    super();
    const w = widthScaler(options, 'VGG');
    const nc = numClassesOf(options, 'VGG');
    const p = options.dropout ?? 0.5;
    const noInit = { init: false };
    this.features = this.registerModule('features', new Sequential());
    let c = 3;
    for (const v of config) {
      if (v === 'M') {
        this.features.append(new MaxPool2d(2, { stride: 2 }));
        continue;
      }
      this.features.append(new Conv2d(c, w(v), 3, { padding: 1, ...noInit }));
      if (options.batchNorm) this.features.append(new BatchNorm2d(w(v)));
      this.features.append(new ReLU());
      c = w(v);
    }
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([7, 7]));
    const hidden = w(4096);
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Linear(w(512) * 7 * 7, hidden, noInit),
        new ReLU(),
        new Dropout(p, { generator: options.generator }),
        new Linear(hidden, hidden, noInit),
        new ReLU(),
        new Dropout(p, { generator: options.generator }),
        new Linear(hidden, nc, noInit),
      ),
    );
    applyInit(this, options, { conv: convKaimingFanOut, linear: linearNormal });
  }

  override forward(x: Tensor): Tensor {
    const f = this.avgpool.call(this.features.call(x));
    return this.classifier.call(flatten(f, 1));
  }
}

/** VGG-11 (configuration A), as torchvision.models.vgg11. */
export const vgg11 = (o: ModelOptions = {}) => new VGG(vggConfigs.A, o);
/** VGG-11 with BatchNorm, as torchvision.models.vgg11_bn. */
export const vgg11Bn = (o: ModelOptions = {}) => new VGG(vggConfigs.A, { ...o, batchNorm: true });
/** VGG-13 (configuration B), as torchvision.models.vgg13. */
export const vgg13 = (o: ModelOptions = {}) => new VGG(vggConfigs.B, o);
/** VGG-13 with BatchNorm, as torchvision.models.vgg13_bn. */
export const vgg13Bn = (o: ModelOptions = {}) => new VGG(vggConfigs.B, { ...o, batchNorm: true });
/** VGG-16 (configuration D), as torchvision.models.vgg16; `features.29` is the last conv block's ReLU. */
export const vgg16 = (o: ModelOptions = {}) => new VGG(vggConfigs.D, o);
/** VGG-16 with BatchNorm, as torchvision.models.vgg16_bn. */
export const vgg16Bn = (o: ModelOptions = {}) => new VGG(vggConfigs.D, { ...o, batchNorm: true });
/** VGG-19 (configuration E), as torchvision.models.vgg19. */
export const vgg19 = (o: ModelOptions = {}) => new VGG(vggConfigs.E, o);
/** VGG-19 with BatchNorm, as torchvision.models.vgg19_bn. */
export const vgg19Bn = (o: ModelOptions = {}) => new VGG(vggConfigs.E, { ...o, batchNorm: true });
