import type { Tensor } from '@gradlens/tensor';
import { flatten } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf, widthScaler } from './common';

/**
 * AlexNet as torchvision.models.AlexNet (the one-GPU variant of "One weird trick"): `features`
 * (5 convs), `avgpool` (adaptive to 6×6), `classifier`. Layers keep PyTorch's default initialisation,
 * as torchvision's does. Input [N, 3, H, W] → logits [N, numClasses].
 */
export class AlexNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(options: ModelOptions = {}) {
    super();
    const w = widthScaler(options, 'AlexNet');
    const nc = numClassesOf(options, 'AlexNet');
    const p = options.dropout ?? 0.5;
    const i = { generator: options.generator, init: options.init };
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(3, w(64), 11, { stride: 4, padding: 2, ...i }),
        new ReLU(),
        new MaxPool2d(3, { stride: 2 }),
        new Conv2d(w(64), w(192), 5, { padding: 2, ...i }),
        new ReLU(),
        new MaxPool2d(3, { stride: 2 }),
        new Conv2d(w(192), w(384), 3, { padding: 1, ...i }),
        new ReLU(),
        new Conv2d(w(384), w(256), 3, { padding: 1, ...i }),
        new ReLU(),
        new Conv2d(w(256), w(256), 3, { padding: 1, ...i }),
        new ReLU(),
        new MaxPool2d(3, { stride: 2 }),
      ),
    );
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([6, 6]));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Dropout(p, { generator: options.generator }),
        new Linear(w(256) * 6 * 6, w(4096), i),
        new ReLU(),
        new Dropout(p, { generator: options.generator }),
        new Linear(w(4096), w(4096), i),
        new ReLU(),
        new Linear(w(4096), nc, i),
      ),
    );
  }

  override forward(x: Tensor): Tensor {
    const f = this.avgpool.call(this.features.call(x));
    return this.classifier.call(flatten(f, 1));
  }
}

/** AlexNet, as torchvision.models.alexnet; `features.11` is the last conv's ReLU. */
export const alexnet = (o: ModelOptions = {}) => new AlexNet(o);
