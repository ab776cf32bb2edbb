import type { Tensor } from '@gradlens/tensor';
import { adaptiveAvgPool2d, avgPool2d, cat, flatten, maxPool2d } from '@gradlens/tensor';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import { BasicConv2d, checkImageInput, transformInput } from './basic-conv';
import { applyInit, numClassesOf, widthScaler } from './common';
import { truncNormalWeight, type InceptionOptions } from './googlenet';

type Scale = (c: number) => number;
const pool3 = (x: Tensor) => avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 });

/** An Inception v3 block: BasicConv2d children `b` in registration order, run as chains; `outChannels` is its concatenated width. */
abstract class Mixed extends Module {
  abstract readonly outChannels: number;
  protected abstract readonly b: BasicConv2d[];

  /** x through b[from], …, b[to − 1] in turn. */
  protected chain(x: Tensor, from: number, to: number): Tensor {
    return this.b.slice(from, to).reduce((y, m) => m.call(y), x);
  }

  protected conv(
    name: string,
    i: number,
    o: number,
    k: number | [number, number],
    opts: ConstructorParameters<typeof BasicConv2d>[3] = {},
  ) {
    return this.registerModule(name, new BasicConv2d(i, o, k, opts));
  }
}

/** Inception v3's 35×35 block, as torchvision.models.inception.InceptionA: 1×1, 5×5, double 3×3 and pooled branches. */
export class InceptionA extends Mixed {
  readonly outChannels: number;
  protected readonly b: BasicConv2d[];

  constructor(inCh: number, poolFeatures: number, w: Scale) {
    super();
    this.b = [
      this.conv('branch1x1', inCh, w(64), 1),
      this.conv('branch5x5_1', inCh, w(48), 1),
      this.conv('branch5x5_2', w(48), w(64), 5, { padding: 2 }),
      this.conv('branch3x3dbl_1', inCh, w(64), 1),
      this.conv('branch3x3dbl_2', w(64), w(96), 3, { padding: 1 }),
      this.conv('branch3x3dbl_3', w(96), w(96), 3, { padding: 1 }),
      this.conv('branch_pool', inCh, poolFeatures, 1),
    ];
    this.outChannels = w(64) + w(64) + w(96) + poolFeatures;
  }

  override forward(x: Tensor): Tensor {
    return cat([this.chain(x, 0, 1), this.chain(x, 1, 3), this.chain(x, 3, 6), this.b[6]!.call(pool3(x))], 1);
  }
}

/** Inception v3's 35→17 reduction, as torchvision.models.inception.InceptionB: strided 3×3, double 3×3, max-pool. */
export class InceptionB extends Mixed {
  readonly outChannels: number;
  protected readonly b: BasicConv2d[];

  constructor(inCh: number, w: Scale) {
    super();
    this.b = [
      this.conv('branch3x3', inCh, w(384), 3, { stride: 2 }),
      this.conv('branch3x3dbl_1', inCh, w(64), 1),
      this.conv('branch3x3dbl_2', w(64), w(96), 3, { padding: 1 }),
      this.conv('branch3x3dbl_3', w(96), w(96), 3, { stride: 2 }),
    ];
    this.outChannels = w(384) + w(96) + inCh;
  }

  override forward(x: Tensor): Tensor {
    const [b3, d1, d2, d3] = this.b as [BasicConv2d, BasicConv2d, BasicConv2d, BasicConv2d];
    return cat([b3.call(x), d3.call(d2.call(d1.call(x))), maxPool2d(x, { kernelSize: 3, stride: 2 })], 1);
  }
}

/** Inception v3's 17×17 block, as torchvision.models.inception.InceptionC: 1×1, factorised 7×7, double factorised 7×7, pooled. */
export class InceptionC extends Mixed {
  readonly outChannels: number;
  protected readonly b: BasicConv2d[];

  constructor(inCh: number, c7: number, w: Scale) {
    super();
    const h = { padding: [0, 3] as [number, number] };
    const v = { padding: [3, 0] as [number, number] };
    this.b = [
      this.conv('branch1x1', inCh, w(192), 1),
      this.conv('branch7x7_1', inCh, c7, 1),
      this.conv('branch7x7_2', c7, c7, [1, 7], h),
      this.conv('branch7x7_3', c7, w(192), [7, 1], v),
      this.conv('branch7x7dbl_1', inCh, c7, 1),
      this.conv('branch7x7dbl_2', c7, c7, [7, 1], v),
      this.conv('branch7x7dbl_3', c7, c7, [1, 7], h),
      this.conv('branch7x7dbl_4', c7, c7, [7, 1], v),
      this.conv('branch7x7dbl_5', c7, w(192), [1, 7], h),
      this.conv('branch_pool', inCh, w(192), 1),
    ];
    this.outChannels = 4 * w(192);
  }

  override forward(x: Tensor): Tensor {
    return cat([this.chain(x, 0, 1), this.chain(x, 1, 4), this.chain(x, 4, 9), this.b[9]!.call(pool3(x))], 1);
  }
}

/** Inception v3's 17→8 reduction, as torchvision.models.inception.InceptionD: 1×1 + strided 3×3, 1×1 + 7×7 + strided 3×3, max-pool. */
export class InceptionD extends Mixed {
  readonly outChannels: number;
  protected readonly b: BasicConv2d[];

  constructor(inCh: number, w: Scale) {
    super();
    this.b = [
      this.conv('branch3x3_1', inCh, w(192), 1),
      this.conv('branch3x3_2', w(192), w(320), 3, { stride: 2 }),
      this.conv('branch7x7x3_1', inCh, w(192), 1),
      this.conv('branch7x7x3_2', w(192), w(192), [1, 7], { padding: [0, 3] }),
      this.conv('branch7x7x3_3', w(192), w(192), [7, 1], { padding: [3, 0] }),
      this.conv('branch7x7x3_4', w(192), w(192), 3, { stride: 2 }),
    ];
    this.outChannels = w(320) + w(192) + inCh;
  }

  override forward(x: Tensor): Tensor {
    return cat([this.chain(x, 0, 2), this.chain(x, 2, 6), maxPool2d(x, { kernelSize: 3, stride: 2 })], 1);
  }
}

/** Inception v3's 8×8 block, as torchvision.models.inception.InceptionE: 1×1, split 1×3 / 3×1 branches, pooled. */
export class InceptionE extends Mixed {
  readonly outChannels: number;
  protected readonly b: BasicConv2d[];

  constructor(inCh: number, w: Scale) {
    super();
    const h = { padding: [0, 1] as [number, number] };
    const v = { padding: [1, 0] as [number, number] };
    this.b = [
      this.conv('branch1x1', inCh, w(320), 1),
      this.conv('branch3x3_1', inCh, w(384), 1),
      this.conv('branch3x3_2a', w(384), w(384), [1, 3], h),
      this.conv('branch3x3_2b', w(384), w(384), [3, 1], v),
      this.conv('branch3x3dbl_1', inCh, w(448), 1),
      this.conv('branch3x3dbl_2', w(448), w(384), 3, { padding: 1 }),
      this.conv('branch3x3dbl_3a', w(384), w(384), [1, 3], h),
      this.conv('branch3x3dbl_3b', w(384), w(384), [3, 1], v),
      this.conv('branch_pool', inCh, w(192), 1),
    ];
    this.outChannels = w(320) + 4 * w(384) + w(192);
  }

  override forward(x: Tensor): Tensor {
    const [b1, s1, s2a, s2b, d1, d2, d3a, d3b, bp] = this.b as [
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
      BasicConv2d,
    ];
    const s = s1.call(x);
    const d = d2.call(d1.call(x));
    return cat([b1.call(x), cat([s2a.call(s), s2b.call(s)], 1), cat([d3a.call(d), d3b.call(d)], 1), bp.call(pool3(x))], 1);
  }
}

/**
 * Inception v3's auxiliary classifier, as torchvision.models.inception.InceptionAux: 5×5/3 average pool,
 * `conv0` (1×1 to 128), `conv1` (5×5 to 768), global average pool, `fc`. Built so that state dicts match;
 * Inception3 here never runs it (torchvision runs it only in training).
 */
export class InceptionAux extends Module {
  readonly conv0: BasicConv2d;
  readonly conv1: BasicConv2d;
  readonly fc: Linear;

  constructor(inCh: number, numClasses: number, w: Scale, init: { init?: boolean }) {
    super();
    this.conv0 = this.registerModule('conv0', new BasicConv2d(inCh, w(128), 1));
    this.conv1 = this.registerModule('conv1', new BasicConv2d(w(128), w(768), 5));
    this.fc = this.registerModule('fc', new Linear(w(768), numClasses, init));
  }

  override forward(x: Tensor): Tensor {
    const y = this.conv1.call(this.conv0.call(avgPool2d(x, { kernelSize: 5, stride: 3 })));
    return this.fc.call(flatten(adaptiveAvgPool2d(y, [1, 1]), 1));
  }
}

/**
 * Inception v3, as torchvision.models.Inception3: a stem of BasicConv2d (BN eps 0.001) and max-pools,
 * `Mixed_5b`–`Mixed_7c`, `AuxLogits` (built, not run), `avgpool`, `dropout`, flatten, `fc`. It expects
 * 299×299 input (the CLI's default for `inception_v3`; the smallest that runs is 75×75). Input
 * [N, 3, H, W] → logits [N, numClasses]; with transformInput the input is first renormalised (see
 * transformInput). widthDivisor scales every channel count (the parity fixtures' reduced copy).
 */
export class Inception3 extends Module {
  readonly transformInput: boolean;
  private readonly body: Module[] = [];
  readonly AuxLogits: InceptionAux | null = null;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropout: Dropout;
  readonly fc: Linear;

  constructor(options: InceptionOptions = {}) {
    super();
    const w = widthScaler(options, 'Inception3');
    const numClasses = numClassesOf(options, 'Inception3');
    this.transformInput = options.transformInput ?? false;
    const add = <M extends Module>(name: string, m: M): M => {
      this.body.push(this.registerModule(name, m));
      return m;
    };
    add('Conv2d_1a_3x3', new BasicConv2d(3, w(32), 3, { stride: 2 }));
    add('Conv2d_2a_3x3', new BasicConv2d(w(32), w(32), 3));
    add('Conv2d_2b_3x3', new BasicConv2d(w(32), w(64), 3, { padding: 1 }));
    add('maxpool1', new MaxPool2d(3, { stride: 2 }));
    add('Conv2d_3b_1x1', new BasicConv2d(w(64), w(80), 1));
    add('Conv2d_4a_3x3', new BasicConv2d(w(80), w(192), 3));
    add('maxpool2', new MaxPool2d(3, { stride: 2 }));
    let ch = w(192);
    const mixed = <M extends Mixed>(name: string, make: (inCh: number) => M): void => {
      ch = add(name, make(ch)).outChannels;
    };
    mixed('Mixed_5b', (c) => new InceptionA(c, w(32), w));
    mixed('Mixed_5c', (c) => new InceptionA(c, w(64), w));
    mixed('Mixed_5d', (c) => new InceptionA(c, w(64), w));
    mixed('Mixed_6a', (c) => new InceptionB(c, w));
    mixed('Mixed_6b', (c) => new InceptionC(c, w(128), w));
    mixed('Mixed_6c', (c) => new InceptionC(c, w(160), w));
    mixed('Mixed_6d', (c) => new InceptionC(c, w(160), w));
    mixed('Mixed_6e', (c) => new InceptionC(c, w(192), w));
    const init = { init: options.init, generator: options.generator };
    if (options.auxLogits ?? true) this.AuxLogits = this.registerModule('AuxLogits', new InceptionAux(ch, numClasses, w, init));
    mixed('Mixed_7a', (c) => new InceptionD(c, w));
    mixed('Mixed_7b', (c) => new InceptionE(c, w));
    mixed('Mixed_7c', (c) => new InceptionE(c, w));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.dropout = this.registerModule('dropout', new Dropout(options.dropout ?? 0.5, { generator: options.generator }));
    this.fc = this.registerModule('fc', new Linear(ch, numClasses, init));
    // std 0.1, except the aux fc's 0.001 (torchvision's `stddev` attribute; its conv1's is set on the BasicConv2d, so unused).
    const aux = this.AuxLogits?.fc;
    const rule = truncNormalWeight((m) => (m === aux ? 0.001 : 0.1));
    applyInit(this, options, { conv: rule, linear: rule });
  }

  override forward(x: Tensor): Tensor {
    checkImageInput(x, 'Inception3', 75, 'it expects 299×299');
    let y = this.transformInput ? transformInput(x, 'Inception3') : x;
    for (const m of this.body) y = m.call(y);
    return this.fc.call(flatten(this.dropout.call(this.avgpool.call(y)), 1));
  }
}

/** Inception v3, as torchvision.models.inception_v3 (transformInput false and AuxLogits built, as with weights=None); expects 299×299. */
export const inceptionV3 = (o: InceptionOptions = {}) => new Inception3(o);
