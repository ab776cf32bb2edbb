import type { Tensor } from '@gradlens/tensor';
import { flatten, Generator, relu } from '@gradlens/tensor';
import { AdaptiveAvgPool2d, Conv2d, Dropout, Linear, MaxPool2d, Module, ReLU, Sequential } from '@gradlens/nn';

/** Conv + functional ReLU in one module (so a functional ReLU sits inside `features`). */
export class ConvRelu extends Module {
  readonly conv: Conv2d;
  constructor(cin: number, cout: number) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(cin, cout, 3, { padding: 1 }));
  }
  override forward(x: Tensor): Tensor {
    return relu(this.conv.call(x));
  }
}

/**
 * A small VGG-like net (the fixture script builds the same in PyTorch): input [N, 3, 16, 16];
 * features: 0 conv 3→8, 1 ReLU, 2 max pool, 3 conv 8→16 + functional ReLU, 4 max pool → [16, 4, 4];
 * classifier: 0 linear 256→32, 1 ReLU, 2 dropout, 3 linear 32→10.
 */
export class SmallVGG extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  forwardRuns = 0;
  constructor() {
    super();
    this.features = this.registerModule(
      'features',
      new Sequential(new Conv2d(3, 8, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2), new ConvRelu(8, 16), new MaxPool2d(2)),
    );
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new Linear(256, 32), new ReLU(), new Dropout(0.5), new Linear(32, 10)),
    );
  }
  override forward(x: Tensor): Tensor {
    this.forwardRuns++;
    return this.classifier.call(flatten(this.features.call(x), 1));
  }
}

/**
 * A small GAP net: features: 0 conv 3→8, 1 ReLU, 2 max pool, 3 conv 8→16, 4 ReLU → [16, 8, 8] for a
 * 16×16 input; avgpool (global average); fc 16→10.
 */
export class GapNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  constructor(options: { relu?: boolean } = {}) {
    super();
    const act = () => (options.relu === false ? new Sequential() : new ReLU());
    this.features = this.registerModule(
      'features',
      new Sequential(new Conv2d(3, 8, 3, { padding: 1 }), act(), new MaxPool2d(2), new Conv2d(8, 16, 3, { padding: 1 }), act()),
    );
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new Linear(16, 10));
  }
  override forward(x: Tensor): Tensor {
    return this.fc.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}

/** A small seeded GAP CNN with torchvision-style names: features (two convs) → avgpool → classifier, 3 classes. */
export class Tiny extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Linear;
  constructor(seed = 1) {
    super();
    const generator = new Generator(seed);
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(3, 6, 3, { padding: 1, generator }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(6, 8, 3, { padding: 1, generator }),
        new ReLU(),
      ),
    );
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.classifier = this.registerModule('classifier', new Linear(8, 3, { generator }));
  }
  forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}
