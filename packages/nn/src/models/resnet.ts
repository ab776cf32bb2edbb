import type { Tensor } from '@gradlens/tensor';
import { add, flatten } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { BatchNorm2d } from '../layers/batchnorm';
import { FrozenBatchNorm2d } from '../layers/frozen-batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import type { InitOptions } from '../init';
import type { ModelOptions } from './common';
import { applyInit, convKaimingFanOut, numClassesOf, widthScaler } from './common';

/** The residual blocks' shared shape: built from (inplanes, planes, stride, downsample). */
export interface ResidualBlockClass {
  /** Output channels per `planes` (1 for BasicBlock, 4 for Bottleneck). */
  readonly expansion: number;
  new (
    inplanes: number,
    planes: number,
    stride: number,
    downsample: Sequential | null,
    shape?: BottleneckShape,
    dilation?: number,
    norm?: NormFactory,
  ): Module;
}

/** Makes a block's norm layer for a channel count: BatchNorm2d, or FrozenBatchNorm2d in the detection backbones. */
export type NormFactory = (channels: number) => BatchNorm2d;

const batchNorm2d: NormFactory = (c) => new BatchNorm2d(c);

/** ResNet's options beyond every model's: torchvision's replace_stride_with_dilation. */
export interface ResNetOptions extends ModelOptions {
  /**
   * For layer2, layer3 and layer4: keep the map's size and dilate the 3×3 convolutions instead of striding, as
   * torchvision's `replace_stride_with_dilation` (default all false; its segmentation models use
   * `[false, true, true]`, output stride 8). Bottleneck blocks only, as in torchvision.
   */
  replaceStrideWithDilation?: readonly [boolean, boolean, boolean];
  /** torchvision's norm_layer=FrozenBatchNorm2d (the detection models' backbones): no num_batches_tracked. */
  frozenBatchNorm?: boolean;
}

/** torchvision's groups and width_per_group: ResNeXt's cardinality and Wide ResNet's doubled bottleneck. */
export interface BottleneckShape {
  /** Groups of the 3×3 convolution (default 1; ResNeXt 32 or 64). */
  groups?: number;
  /** Bottleneck width per group at 64 planes (default 64; ResNeXt 4 or 8, Wide ResNet 128). */
  widthPerGroup?: number;
}

const noInit: InitOptions = { init: false };

/**
 * ResNet-18/34's block, as torchvision.models.resnet.BasicBlock: conv1 3×3 (stride), bn1, relu,
 * conv2 3×3, bn2, plus the shortcut (`downsample` when shapes change), then relu. One `relu` module
 * is called twice, as in torchvision; the residual add and the final ReLU run inside the block's
 * scope, so the block's activation (`layer4.1`) is its output after the final ReLU.
 */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(
    inplanes: number,
    planes: number,
    stride: number,
    downsample: Sequential | null,
    shape: BottleneckShape = {},
    dilation = 1,
    norm: NormFactory = batchNorm2d,
  ) {
    super();
    if ((shape.groups ?? 1) !== 1 || (shape.widthPerGroup ?? 64) !== 64) {
      throw new Error('BasicBlock: only groups=1 and widthPerGroup=64 are supported (as torchvision)');
    }
    if (dilation > 1) throw new Error('BasicBlock: dilation > 1 is not supported (as torchvision; use Bottleneck)');
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false, ...noInit }));
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false, ...noInit }));
    this.bn2 = this.registerModule('bn2', norm(planes));
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(add(out, identity));
  }
}

/**
 * ResNet-50's block (ResNet v1.5: stride on the 3×3 conv), as torchvision.models.resnet.Bottleneck:
 * conv1 1×1, conv2 3×3 (stride, `groups`), conv3 1×1 to 4·planes, each with BN, ReLU after the first
 * two and after the residual add (inside the block's scope). The bottleneck is
 * ⌊planes · widthPerGroup / 64⌋ · groups wide (ResNeXt, Wide ResNet); `dilation` dilates (and pads) the 3×3 conv.
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;

  constructor(
    inplanes: number,
    planes: number,
    stride: number,
    downsample: Sequential | null,
    shape: BottleneckShape = {},
    dilation = 1,
    norm: NormFactory = batchNorm2d,
  ) {
    super();
    const groups = shape.groups ?? 1;
    const width = Math.floor(planes * ((shape.widthPerGroup ?? 64) / 64)) * groups;
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, width, 1, { bias: false, ...noInit }));
    this.bn1 = this.registerModule('bn1', norm(width));
    this.conv2 = this.registerModule(
      'conv2',
      new Conv2d(width, width, 3, { stride, padding: dilation, dilation, groups, bias: false, ...noInit }),
    );
    this.bn2 = this.registerModule('bn2', norm(width));
    this.conv3 = this.registerModule('conv3', new Conv2d(width, planes * Bottleneck.expansion, 1, { bias: false, ...noInit }));
    this.bn3 = this.registerModule('bn3', norm(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(add(out, identity));
  }
}

/**
 * ResNet as torchvision.models.ResNet: conv1 7×7/2, bn1, relu, maxpool 3×3/2, layer1..layer4 (blocks
 * named '0', '1', …), avgpool (adaptive 1×1), flatten, fc. Input [N, 3, H, W] → logits [N, numClasses].
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;

  constructor(
    block: ResidualBlockClass,
    layers: readonly [number, number, number, number],
    options: ResNetOptions = {},
    shape: BottleneckShape = {},
  ) {
    super();
    const w = widthScaler(options, 'ResNet');
    const nc = numClassesOf(options, 'ResNet');
    const dilate = options.replaceStrideWithDilation ?? [false, false, false];
    if (dilate.length !== 3) throw new Error(`ResNet: replaceStrideWithDilation must have 3 entries, got ${dilate.length}`);
    let inplanes = w(64);
    let dilation = 1;
    const norm: NormFactory = options.frozenBatchNorm === true ? (c) => new FrozenBatchNorm2d(c) : batchNorm2d;
    // torchvision's _make_layer: a dilated layer keeps stride 1; its first block keeps the previous dilation.
    const makeLayer = (planes: number, blocks: number, stride: number, dilated = false): Sequential => {
      const previousDilation = dilation;
      if (dilated) {
        dilation *= stride;
        stride = 1;
      }
      let downsample: Sequential | null = null;
      if (stride !== 1 || inplanes !== planes * block.expansion) {
        downsample = new Sequential(
          new Conv2d(inplanes, planes * block.expansion, 1, { stride, bias: false, ...noInit }),
          norm(planes * block.expansion),
        );
      }
      const seq = new Sequential(new block(inplanes, planes, stride, downsample, shape, previousDilation, norm));
      inplanes = planes * block.expansion;
      for (let i = 1; i < blocks; i++) seq.append(new block(inplanes, planes, 1, null, shape, dilation, norm));
      return seq;
    };
    this.conv1 = this.registerModule('conv1', new Conv2d(3, inplanes, 7, { stride: 2, padding: 3, bias: false, ...noInit }));
    this.bn1 = this.registerModule('bn1', norm(inplanes));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    this.layer1 = this.registerModule('layer1', makeLayer(w(64), layers[0], 1));
    this.layer2 = this.registerModule('layer2', makeLayer(w(128), layers[1], 2, dilate[0]));
    this.layer3 = this.registerModule('layer3', makeLayer(w(256), layers[2], 2, dilate[1]));
    this.layer4 = this.registerModule('layer4', makeLayer(w(512), layers[3], 2, dilate[2]));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    // fc keeps nn.Linear's default initialisation, as in torchvision.
    this.fc = this.registerModule('fc', new Linear(w(512) * block.expansion, nc, { generator: options.generator, init: options.init }));
    applyInit(this, options, { conv: convKaimingFanOut });
  }

  override forward(x: Tensor): Tensor {
    let y = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    y = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(y))));
    return this.fc.call(flatten(this.avgpool.call(y), 1));
  }
}

/** ResNet-18, as torchvision.models.resnet18; `layer4` is the usual Grad-CAM target. */
export const resnet18 = (o: ResNetOptions = {}) => new ResNet(BasicBlock, [2, 2, 2, 2], o);
/** ResNet-34, as torchvision.models.resnet34. */
export const resnet34 = (o: ResNetOptions = {}) => new ResNet(BasicBlock, [3, 4, 6, 3], o);
/** ResNet-50 (v1.5), as torchvision.models.resnet50. */
export const resnet50 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], o);
/** ResNet-101, as torchvision.models.resnet101. */
export const resnet101 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 23, 3], o);
/** ResNet-152, as torchvision.models.resnet152. */
export const resnet152 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 8, 36, 3], o);
/** ResNeXt-50 32×4d, as torchvision.models.resnext50_32x4d. */
export const resnext50_32x4d = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], o, { groups: 32, widthPerGroup: 4 });
/** ResNeXt-101 32×8d, as torchvision.models.resnext101_32x8d. */
export const resnext101_32x8d = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 23, 3], o, { groups: 32, widthPerGroup: 8 });
/** ResNeXt-101 64×4d, as torchvision.models.resnext101_64x4d. */
export const resnext101_64x4d = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 23, 3], o, { groups: 64, widthPerGroup: 4 });
/** Wide ResNet-50-2, as torchvision.models.wide_resnet50_2 (bottlenecks twice as wide). */
export const wide_resnet50_2 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], o, { widthPerGroup: 128 });
/** Wide ResNet-101-2, as torchvision.models.wide_resnet101_2. */
export const wide_resnet101_2 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 23, 3], o, { widthPerGroup: 128 });
