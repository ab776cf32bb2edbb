import type { Tensor } from '@gradlens/tensor';
import { cat, mean, narrow, reshape, transpose } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { BatchNorm2d } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf } from './common';

/**
 * Interleaves the channels of `groups` equal groups, as torchvision's channel_shuffle: [N, C, H, W]
 * viewed as [N, groups, C / groups, H, W], dims 1 and 2 swapped, viewed back as [N, C, H, W].
 */
export function channelShuffle(x: Tensor, groups: number): Tensor {
  const [n, c, h, w] = x.shape;
  if (x.rank !== 4 || c === undefined || c % groups !== 0) {
    throw new Error(`channelShuffle: expected [N, C, H, W] with C divisible by ${groups}, got [${x.shape.join(', ')}]`);
  }
  return reshape(transpose(reshape(x, [n!, groups, c / groups, h!, w!]), 1, 2), [n!, c, h!, w!]);
}

/**
 * ShuffleNetV2's unit, as torchvision.models.shufflenetv2.InvertedResidual. Stride 1: the input's
 * second channel half goes through `branch2` (1×1, BN, ReLU, depthwise 3×3, BN, 1×1, BN, ReLU) and is
 * joined to the untouched first half. Stride > 1: `branch1` (depthwise 3×3/s, BN, 1×1, BN, ReLU) and
 * `branch2` both read the whole input. Either way the channels are then shuffled in two groups.
 */
export class ShuffleUnit extends Module {
  readonly branch1: Sequential;
  readonly branch2: Sequential;

  constructor(
    inp: number,
    oup: number,
    readonly stride: number,
    init: { init?: boolean; generator?: ModelOptions['generator'] } = {},
  ) {
    super();
    if (!(stride >= 1 && stride <= 3)) throw new Error(`ShuffleUnit: stride must be 1, 2 or 3, got ${stride}`);
    const bf = Math.floor(oup / 2);
    if (stride === 1 && inp !== bf * 2) {
      throw new Error(`ShuffleUnit: with stride 1 the input channels (${inp}) must equal 2·⌊out / 2⌋ (${bf * 2})`);
    }
    const conv = (i: number, o: number, k: number, s = 1, groups = 1) =>
      new Conv2d(i, o, k, { stride: s, padding: k === 3 ? 1 : 0, groups, bias: false, ...init });
    this.branch1 = this.registerModule('branch1', new Sequential());
    if (stride > 1) {
      this.branch1.append(conv(inp, inp, 3, stride, inp));
      this.branch1.append(new BatchNorm2d(inp));
      this.branch1.append(conv(inp, bf, 1));
      this.branch1.append(new BatchNorm2d(bf));
      this.branch1.append(new ReLU());
    }
    this.branch2 = this.registerModule(
      'branch2',
      new Sequential(
        conv(stride > 1 ? inp : bf, bf, 1),
        new BatchNorm2d(bf),
        new ReLU(),
        conv(bf, bf, 3, stride, bf),
        new BatchNorm2d(bf),
        conv(bf, bf, 1),
        new BatchNorm2d(bf),
        new ReLU(),
      ),
    );
  }

  override forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.stride === 1) {
      const half = Math.ceil((x.shape[1] ?? 0) / 2); // torch.chunk(2): the first chunk takes the larger half
      out = cat([narrow(x, 1, 0, half), this.branch2.call(narrow(x, 1, half, (x.shape[1] ?? 0) - half))], 1);
    } else {
      out = cat([this.branch1.call(x), this.branch2.call(x)], 1);
    }
    return channelShuffle(out, 2);
  }
}

/**
 * ShuffleNetV2, as torchvision.models.ShuffleNetV2: `conv1` (3×3/2 conv, BN, ReLU), `maxpool` (3×3/2),
 * `stage2`–`stage4` (a stride-2 unit, then repeats − 1 stride-1 units), `conv5` (1×1 conv, BN, ReLU),
 * the spatial mean, `fc`. Layers keep PyTorch's default initialisation, as torchvision's.
 * Input [N, 3, H, W] → logits [N, numClasses].
 */
export class ShuffleNetV2 extends Module {
  readonly conv1: Sequential;
  readonly maxpool: MaxPool2d;
  readonly stage2: Sequential;
  readonly stage3: Sequential;
  readonly stage4: Sequential;
  readonly conv5: Sequential;
  readonly fc: Linear;

  constructor(stagesRepeats: readonly number[], stagesOutChannels: readonly number[], options: ModelOptions = {}) {
    super();
    if (stagesRepeats.length !== 3) throw new Error('ShuffleNetV2: expected stagesRepeats as 3 positive integers');
    if (stagesOutChannels.length !== 5) throw new Error('ShuffleNetV2: expected stagesOutChannels as 5 positive integers');
    const init = { init: options.init, generator: options.generator };
    const convBnRelu = (i: number, o: number, k: number, s: number) =>
      new Sequential(new Conv2d(i, o, k, { stride: s, padding: k === 3 ? 1 : 0, bias: false, ...init }), new BatchNorm2d(o), new ReLU());
    let input = stagesOutChannels[0]!;
    this.conv1 = this.registerModule('conv1', convBnRelu(3, input, 3, 2));
    this.maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    const stages = (['stage2', 'stage3', 'stage4'] as const).map((name, s) => {
      const out = stagesOutChannels[s + 1]!;
      const seq = new Sequential(new ShuffleUnit(input, out, 2, init));
      for (let i = 1; i < stagesRepeats[s]!; i++) seq.append(new ShuffleUnit(out, out, 1, init));
      input = out;
      return this.registerModule(name, seq);
    });
    [this.stage2, this.stage3, this.stage4] = stages as [Sequential, Sequential, Sequential];
    const last = stagesOutChannels[4]!;
    this.conv5 = this.registerModule('conv5', convBnRelu(input, last, 1, 1));
    this.fc = this.registerModule('fc', new Linear(last, numClassesOf(options, 'ShuffleNetV2'), init));
  }

  override forward(x: Tensor): Tensor {
    const y = this.stage4.call(this.stage3.call(this.stage2.call(this.maxpool.call(this.conv1.call(x)))));
    return this.fc.call(mean(this.conv5.call(y), { dim: [2, 3] }));
  }
}

const shufflenet =
  (channels: number[]) =>
  (o: ModelOptions = {}) =>
    new ShuffleNetV2([4, 8, 4], channels, o);

/** ShuffleNetV2 ×0.5, as torchvision.models.shufflenet_v2_x0_5; ×1.0, ×1.5 and ×2.0 below. */
export const shufflenetV2X0_5 = shufflenet([24, 48, 96, 192, 1024]);
export const shufflenetV2X1_0 = shufflenet([24, 116, 232, 464, 1024]);
export const shufflenetV2X1_5 = shufflenet([24, 176, 352, 704, 1024]);
export const shufflenetV2X2_0 = shufflenet([24, 244, 488, 976, 2048]);
