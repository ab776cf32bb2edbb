import type { Generator, Tensor } from '@gradlens/tensor';
import { adaptiveAvgPool2d, cat, flatten, relu } from '@gradlens/tensor';
import { truncNormal_ } from '../init';
import { Sequential } from '../layers/container';
import type { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import { BasicConv2d, checkImageInput, transformInput } from './basic-conv';
import type { ModelOptions } from './common';
import { applyInit, numClassesOf, widthScaler } from './common';

/**
 * GoogLeNet's Inception block, as torchvision.models.googlenet.Inception: `branch1` (1×1),
 * `branch2` (1×1, 3×3), `branch3` (1×1, 3×3: torchvision's, not the paper's 5×5), `branch4` (3×3/1
 * max-pool, 1×1), concatenated along channels.
 */
export class GoogLeNetInception extends Module {
  readonly branch1: BasicConv2d;
  readonly branch2: Sequential;
  readonly branch3: Sequential;
  readonly branch4: Sequential;
  readonly outChannels: number;

  constructor(inCh: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = this.registerModule('branch1', new BasicConv2d(inCh, ch1x1, 1));
    this.branch2 = this.registerModule(
      'branch2',
      new Sequential(new BasicConv2d(inCh, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 })),
    );
    this.branch3 = this.registerModule(
      'branch3',
      new Sequential(new BasicConv2d(inCh, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 })),
    );
    this.branch4 = this.registerModule(
      'branch4',
      new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inCh, poolProj, 1)),
    );
    this.outChannels = ch1x1 + ch3x3 + ch5x5 + poolProj;
  }

  override forward(x: Tensor): Tensor {
    return cat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 1);
  }
}

/**
 * GoogLeNet's auxiliary classifier, as torchvision.models.googlenet.InceptionAux: 4×4 adaptive average
 * pool, `conv` (1×1 to 128), flatten, `fc1` (to 1024), ReLU, dropout, `fc2`. Built so that state dicts
 * match; GoogLeNet here never runs it (torchvision runs it only in training).
 */
export class GoogLeNetAux extends Module {
  readonly conv: BasicConv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly dropout: Dropout;

  constructor(inCh: number, numClasses: number, w: (c: number) => number, options: ModelOptions) {
    super();
    const init = { init: options.init, generator: options.generator };
    this.conv = this.registerModule('conv', new BasicConv2d(inCh, w(128), 1));
    this.fc1 = this.registerModule('fc1', new Linear(w(128) * 16, w(1024), init));
    this.fc2 = this.registerModule('fc2', new Linear(w(1024), numClasses, init));
    this.dropout = this.registerModule('dropout', new Dropout(0.7, { generator: options.generator }));
  }

  override forward(x: Tensor): Tensor {
    const y = flatten(this.conv.call(adaptiveAvgPool2d(x, [4, 4])), 1);
    return this.fc2.call(this.dropout.call(relu(this.fc1.call(y))));
  }
}

export interface InceptionOptions extends ModelOptions {
  /**
   * Map an ImageNet-normalised input to the (x − 0.5) / 0.5 normalisation of the ported weights
   * (torchvision's transform_input: False by default, True when it loads its pretrained weights).
   */
  transformInput?: boolean;
  /** Build the auxiliary classifier(s), whose weights torchvision's state dicts hold (default true). */
  auxLogits?: boolean;
}

/** trunc_normal_(std, a = −2, b = 2) on a conv or Linear weight; a Linear's bias keeps torch's default. */
export const truncNormalWeight =
  (std: (m: Conv2d | Linear) => number) =>
  (m: Conv2d | Linear, g: Generator | undefined): void => {
    truncNormal_(m.weight, 0, std(m), -2, 2, g);
  };

// torchvision's Inception block settings: in, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool proj.
const BLOCKS = {
  inception3a: [64, 96, 128, 16, 32, 32],
  inception3b: [128, 128, 192, 32, 96, 64],
  inception4a: [192, 96, 208, 16, 48, 64],
  inception4b: [160, 112, 224, 24, 64, 64],
  inception4c: [128, 128, 256, 24, 64, 64],
  inception4d: [112, 144, 288, 32, 64, 64],
  inception4e: [256, 160, 320, 32, 128, 128],
  inception5a: [256, 160, 320, 32, 128, 128],
  inception5b: [384, 192, 384, 48, 128, 128],
} as const;
type BlockName = keyof typeof BLOCKS;

/**
 * GoogLeNet (Inception v1), as torchvision.models.GoogLeNet: `conv1` (7×7/2), `maxpool1`, `conv2`,
 * `conv3`, `maxpool2`, Inception blocks 3a–5b with ceil-mode max-pools between, `aux1` / `aux2`
 * (built, not run), `avgpool`, flatten, `dropout`, `fc`; every conv a BasicConv2d (BN eps 0.001).
 * Input [N, 3, H, W] → logits [N, numClasses]; with transformInput the input is first renormalised
 * (see transformInput). widthDivisor scales every channel count (the parity fixtures' reduced copy).
 */
export class GoogLeNet extends Module {
  readonly transformInput: boolean;
  private readonly blocks: Record<BlockName, GoogLeNetInception>;
  private readonly stem: Module[];
  private readonly pools: [MaxPool2d, MaxPool2d];
  readonly aux1: GoogLeNetAux | null = null;
  readonly aux2: GoogLeNetAux | null = null;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropout: Dropout;
  readonly fc: Linear;

  constructor(options: InceptionOptions = {}) {
    super();
    const w = widthScaler(options, 'GoogLeNet');
    const numClasses = numClassesOf(options, 'GoogLeNet');
    this.transformInput = options.transformInput ?? false;
    const pool = (k: number) => new MaxPool2d(k, { stride: 2, ceilMode: true });
    this.stem = [
      this.registerModule('conv1', new BasicConv2d(3, w(64), 7, { stride: 2, padding: 3 })),
      this.registerModule('maxpool1', pool(3)),
      this.registerModule('conv2', new BasicConv2d(w(64), w(64), 1)),
      this.registerModule('conv3', new BasicConv2d(w(64), w(192), 3, { padding: 1 })),
      this.registerModule('maxpool2', pool(3)),
    ];
    let ch = w(192);
    const block = (name: BlockName) => {
      const m = new GoogLeNetInception(ch, ...(BLOCKS[name].map(w) as [number, number, number, number, number, number]));
      ch = m.outChannels;
      return this.registerModule(name, m);
    };
    const b3a = block('inception3a');
    const b3b = block('inception3b');
    const maxpool3 = this.registerModule('maxpool3', pool(3));
    const b4a = block('inception4a');
    const aux1In = ch;
    const b4b = block('inception4b');
    const b4c = block('inception4c');
    const b4d = block('inception4d');
    const aux2In = ch;
    const b4e = block('inception4e');
    const maxpool4 = this.registerModule('maxpool4', pool(2));
    const b5a = block('inception5a');
    const b5b = block('inception5b');
    this.blocks = {
      inception3a: b3a,
      inception3b: b3b,
      inception4a: b4a,
      inception4b: b4b,
      inception4c: b4c,
      inception4d: b4d,
      inception4e: b4e,
      inception5a: b5a,
      inception5b: b5b,
    };
    this.pools = [maxpool3, maxpool4];
    if (options.auxLogits ?? true) {
      this.aux1 = this.registerModule('aux1', new GoogLeNetAux(aux1In, numClasses, w, options));
      this.aux2 = this.registerModule('aux2', new GoogLeNetAux(aux2In, numClasses, w, options));
    }
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.dropout = this.registerModule('dropout', new Dropout(options.dropout ?? 0.2, { generator: options.generator }));
    this.fc = this.registerModule('fc', new Linear(ch, numClasses, { init: options.init, generator: options.generator }));
    const init = truncNormalWeight(() => 0.01);
    applyInit(this, options, { conv: init, linear: init });
  }

  override forward(x: Tensor): Tensor {
    checkImageInput(x, 'GoogLeNet', 15, 'its pretrained weights expect 224×224');
    let y = this.transformInput ? transformInput(x, 'GoogLeNet') : x;
    for (const m of this.stem) y = m.call(y);
    const b = this.blocks;
    y = this.pools[0].call(b.inception3b.call(b.inception3a.call(y)));
    y = b.inception4d.call(b.inception4c.call(b.inception4b.call(b.inception4a.call(y))));
    y = this.pools[1].call(b.inception4e.call(y));
    y = b.inception5b.call(b.inception5a.call(y));
    return this.fc.call(this.dropout.call(flatten(this.avgpool.call(y), 1)));
  }
}

/** GoogLeNet, as torchvision.models.googlenet (transformInput false and the aux classifiers built, as with weights=None). */
export const googlenet = (o: InceptionOptions = {}) => new GoogLeNet(o);
