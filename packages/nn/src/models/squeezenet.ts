import type { Tensor } from '@gradlens/tensor';
import { cat, flatten } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { normal_, constant_, type InitOptions } from '../init';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, convKaimingUniform, numClassesOf, widthScaler } from './common';

const noInit: InitOptions = { init: false };

/**
 * SqueezeNet's Fire module, as torchvision.models.squeezenet.Fire: a 1×1 `squeeze` conv + ReLU, then
 * `expand1x1` and `expand3x3` convs + ReLUs whose outputs are concatenated along channels; the concat
 * runs in the Fire's own scope, so `features.12` is the module's output.
 */
export class Fire extends Module {
  readonly squeeze: Conv2d;
  readonly squeezeActivation: ReLU;
  readonly expand1x1: Conv2d;
  readonly expand1x1Activation: ReLU;
  readonly expand3x3: Conv2d;
  readonly expand3x3Activation: ReLU;

  constructor(inplanes: number, squeezePlanes: number, expand1x1Planes: number, expand3x3Planes: number) {
    super();
    this.squeeze = this.registerModule('squeeze', new Conv2d(inplanes, squeezePlanes, 1, noInit));
    this.squeezeActivation = this.registerModule('squeeze_activation', new ReLU());
    this.expand1x1 = this.registerModule('expand1x1', new Conv2d(squeezePlanes, expand1x1Planes, 1, noInit));
    this.expand1x1Activation = this.registerModule('expand1x1_activation', new ReLU());
    this.expand3x3 = this.registerModule('expand3x3', new Conv2d(squeezePlanes, expand3x3Planes, 3, { padding: 1, ...noInit }));
    this.expand3x3Activation = this.registerModule('expand3x3_activation', new ReLU());
  }

  override forward(x: Tensor): Tensor {
    const s = this.squeezeActivation.call(this.squeeze.call(x));
    return cat([this.expand1x1Activation.call(this.expand1x1.call(s)), this.expand3x3Activation.call(this.expand3x3.call(s))], 1);
  }
}

/**
 * SqueezeNet 1.0 or 1.1, as torchvision.models.SqueezeNet: `features` (convs, ceil-mode max pools and
 * Fire modules), `classifier` (Dropout, final 1×1 conv to numClasses, ReLU, adaptive average pool),
 * then flatten. Input [N, 3, H, W] → logits [N, numClasses].
 */
export class SqueezeNet extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(version: '1_0' | '1_1', options: ModelOptions = {}) {
    super();
    const w = widthScaler(options, 'SqueezeNet');
    const nc = numClassesOf(options, 'SqueezeNet');
    const pool = () => new MaxPool2d(3, { stride: 2, ceilMode: true });
    const fire = (i: number, s: number, e1: number, e3: number) => new Fire(w(i), w(s), w(e1), w(e3));
    if (version === '1_0') {
      this.features = new Sequential(
        new Conv2d(3, w(96), 7, { stride: 2, ...noInit }),
        new ReLU(),
        pool(),
        fire(96, 16, 64, 64),
        fire(128, 16, 64, 64),
        fire(128, 32, 128, 128),
        pool(),
        fire(256, 32, 128, 128),
        fire(256, 48, 192, 192),
        fire(384, 48, 192, 192),
        fire(384, 64, 256, 256),
        pool(),
        fire(512, 64, 256, 256),
      );
    } else if (version === '1_1') {
      this.features = new Sequential(
        new Conv2d(3, w(64), 3, { stride: 2, ...noInit }),
        new ReLU(),
        pool(),
        fire(64, 16, 64, 64),
        fire(128, 16, 64, 64),
        pool(),
        fire(128, 32, 128, 128),
        fire(256, 32, 128, 128),
        pool(),
        fire(256, 48, 192, 192),
        fire(384, 48, 192, 192),
        fire(384, 64, 256, 256),
        fire(512, 64, 256, 256),
      );
    } else {
      throw new Error(`SqueezeNet: unsupported version ${String(version)}: '1_0' or '1_1' expected`);
    }
    this.registerModule('features', this.features);
    const finalConv = new Conv2d(w(512), nc, 1, noInit);
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Dropout(options.dropout ?? 0.5, { generator: options.generator }),
        finalConv,
        new ReLU(),
        new AdaptiveAvgPool2d([1, 1]),
      ),
    );
    applyInit(this, options, {
      conv: (m, g) => {
        if (m !== finalConv) return convKaimingUniform(m, g);
        normal_(m.weight, 0, 0.01, g);
        if (m.bias) constant_(m.bias, 0);
      },
    });
  }

  override forward(x: Tensor): Tensor {
    return flatten(this.classifier.call(this.features.call(x)), 1);
  }
}

/** SqueezeNet 1.0, as torchvision.models.squeezenet1_0. */
export const squeezenet1_0 = (o: ModelOptions = {}) => new SqueezeNet('1_0', o);
/** SqueezeNet 1.1 (2.4× less computation than 1.0), as torchvision.models.squeezenet1_1. */
export const squeezenet1_1 = (o: ModelOptions = {}) => new SqueezeNet('1_1', o);
