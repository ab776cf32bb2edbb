import type { Generator, Tensor } from '@gradlens/tensor';
import { add, cat, interpolate, mul, withScope } from '@gradlens/tensor';
import { ReLU, Sigmoid } from '../layers/activation';
import { BatchNorm2d } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Module } from '../module';

/** How the heads' layers are initialised: PyTorch's defaults (no init loop in torchvision's heads), or not at all. */
export interface HeadInit {
  init?: boolean;
  generator?: Generator;
}

/** Bilinear resize of [N, C, h, w] to `size` with align_corners=False, as torchvision's segmentation models. */
export const upsampleTo = (x: Tensor, size: readonly [number, number]): Tensor =>
  interpolate(x, { size: [size[0], size[1]], mode: 'bilinear', alignCorners: false });

const spatial = (x: Tensor): [number, number] => [x.shape[2]!, x.shape[3]!];

/**
 * torchvision's FCNHead (segmentation/fcn.py): 3×3 conv to inChannels / 4 (no bias), BatchNorm, ReLU,
 * Dropout(0.1), 1×1 conv to `channels` (the classes).
 */
export class FCNHead extends Sequential {
  constructor(inChannels: number, channels: number, o: HeadInit = {}) {
    super();
    const inter = Math.floor(inChannels / 4);
    if (inter < 1) throw new Error(`FCNHead: inChannels must be at least 4, got ${inChannels}`);
    this.append(new Conv2d(inChannels, inter, 3, { padding: 1, bias: false, ...o }));
    this.append(new BatchNorm2d(inter));
    this.append(new ReLU());
    this.append(new Dropout(0.1, { generator: o.generator }));
    this.append(new Conv2d(inter, channels, 1, o));
  }
}

/** torchvision's ASPPConv: a 3×3 conv dilated (and padded) by `dilation`, no bias, BatchNorm, ReLU. */
export class ASPPConv extends Sequential {
  constructor(inChannels: number, outChannels: number, dilation: number, o: HeadInit = {}) {
    super();
    if (!Number.isInteger(dilation) || dilation < 1) throw new Error(`ASPPConv: dilation must be a positive integer, got ${dilation}`);
    this.append(new Conv2d(inChannels, outChannels, 3, { padding: dilation, dilation, bias: false, ...o }));
    this.append(new BatchNorm2d(outChannels));
    this.append(new ReLU());
  }
}

/** torchvision's ASPPPooling: global average pool, 1×1 conv (no bias), BatchNorm, ReLU, then bilinear back to the input's size. */
export class ASPPPooling extends Sequential {
  constructor(inChannels: number, outChannels: number, o: HeadInit = {}) {
    super();
    this.append(new AdaptiveAvgPool2d([1, 1]));
    this.append(new Conv2d(inChannels, outChannels, 1, { bias: false, ...o }));
    this.append(new BatchNorm2d(outChannels));
    this.append(new ReLU());
  }

  override forward(x: Tensor): Tensor {
    return upsampleTo(super.forward(x), spatial(x));
  }
}

/**
 * torchvision's ASPP: `convs` (a ModuleList: a 1×1 conv branch, one ASPPConv per atrous rate, ASPPPooling), each run
 * on the input, concatenated on channels, then `project` (1×1 conv, BatchNorm, ReLU, Dropout(0.5)).
 */
export class ASPP extends Module {
  /** torchvision's ModuleList, held in a Sequential for its names; never run as a chain. */
  readonly convs: Sequential;
  readonly project: Sequential;

  constructor(inChannels: number, atrousRates: readonly number[], outChannels = 256, o: HeadInit = {}) {
    super();
    this.convs = this.registerModule(
      'convs',
      new Sequential(
        new Sequential(new Conv2d(inChannels, outChannels, 1, { bias: false, ...o }), new BatchNorm2d(outChannels), new ReLU()),
        ...atrousRates.map((r) => new ASPPConv(inChannels, outChannels, r, o)),
        new ASPPPooling(inChannels, outChannels, o),
      ),
    );
    const n = this.convs.length;
    this.project = this.registerModule(
      'project',
      new Sequential(
        new Conv2d(n * outChannels, outChannels, 1, { bias: false, ...o }),
        new BatchNorm2d(outChannels),
        new ReLU(),
        new Dropout(0.5, { generator: o.generator }),
      ),
    );
  }

  override forward(x: Tensor): Tensor {
    // Each branch runs under `convs.<i>`, the path PyTorch gives it.
    const branches = withScope('convs', () => this.convs.children().map(([, m]) => m.call(x)));
    return this.project.call(cat(branches, 1));
  }
}

/**
 * torchvision's DeepLabHead: ASPP (atrous rates 12, 24, 36; 256 channels), 3×3 conv (no bias), BatchNorm, ReLU,
 * 1×1 conv to the classes. `channels` (256) and `atrousRates` are torchvision's fixed values unless given.
 */
export class DeepLabHead extends Sequential {
  constructor(inChannels: number, numClasses: number, channels = 256, atrousRates: readonly number[] = [12, 24, 36], o: HeadInit = {}) {
    super();
    this.append(new ASPP(inChannels, atrousRates, channels, o));
    this.append(new Conv2d(channels, channels, 3, { padding: 1, bias: false, ...o }));
    this.append(new BatchNorm2d(channels));
    this.append(new ReLU());
    this.append(new Conv2d(channels, numClasses, 1, o));
  }
}

/**
 * torchvision's LRASPPHead: `cbr` (1×1 conv, BatchNorm, ReLU) on the high features times `scale` (global pool,
 * 1×1 conv, Sigmoid), resized to the low features' size, through `high_classifier`, plus `low_classifier` of the
 * low features. It takes two maps, so it runs through `run(low, high)`, not `call`.
 */
export class LRASPPHead extends Module {
  readonly cbr: Sequential;
  readonly scale: Sequential;
  readonly lowClassifier: Conv2d;
  readonly highClassifier: Conv2d;

  constructor(lowChannels: number, highChannels: number, numClasses: number, interChannels = 128, o: HeadInit = {}) {
    super();
    this.cbr = this.registerModule(
      'cbr',
      new Sequential(new Conv2d(highChannels, interChannels, 1, { bias: false, ...o }), new BatchNorm2d(interChannels), new ReLU()),
    );
    this.scale = this.registerModule(
      'scale',
      new Sequential(new AdaptiveAvgPool2d([1, 1]), new Conv2d(highChannels, interChannels, 1, { bias: false, ...o }), new Sigmoid()),
    );
    this.lowClassifier = this.registerModule('low_classifier', new Conv2d(lowChannels, numClasses, 1, o));
    this.highClassifier = this.registerModule('high_classifier', new Conv2d(interChannels, numClasses, 1, o));
  }

  /** The head on the backbone's low (output stride 8) and high (16) features; call it inside the head's scope. */
  run(low: Tensor, high: Tensor): Tensor {
    const x = upsampleTo(mul(this.cbr.call(high), this.scale.call(high)), spatial(low));
    return add(this.lowClassifier.call(low), this.highClassifier.call(x));
  }

  override forward(): Tensor {
    throw new Error('LRASPPHead: takes the backbone’s low and high features; use run(low, high)');
  }
}
