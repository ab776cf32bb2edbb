import type { Generator, Tensor } from '@gradlens/tensor';
import { add, mean } from '@gradlens/tensor';
import { constant_, kaimingNormal_, uniform_ } from '../init';
import { ReLU } from '../layers/activation';
import { BatchNorm2d } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, numClassesOf } from './common';

/** torchvision's _BN_MOMENTUM: MNASNet's BatchNorm momentum (TensorFlow's decay 0.9997). */
const BN = { momentum: 1 - 0.9997 };
const noInit = { init: false } as const;

/**
 * MNASNet's block, as torchvision.models.mnasnet._InvertedResidual: `layers` holds a 1×1 expansion
 * (BN, ReLU), a depthwise k×k with stride (BN, ReLU) and a linear 1×1 projection (BN); the input is
 * added when the stride is 1 and the channels match.
 */
export class MNASNetBlock extends Module {
  readonly layers: Sequential;
  readonly applyResidual: boolean;

  constructor(inCh: number, outCh: number, kernel: number, stride: number, expansion: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`MNASNetBlock: stride should be 1 or 2, got ${stride}`);
    if (kernel !== 3 && kernel !== 5) throw new Error(`MNASNetBlock: kernel size should be 3 or 5, got ${kernel}`);
    const mid = inCh * expansion;
    this.applyResidual = inCh === outCh && stride === 1;
    this.layers = this.registerModule(
      'layers',
      new Sequential(
        new Conv2d(inCh, mid, 1, { bias: false, ...noInit }),
        new BatchNorm2d(mid, BN),
        new ReLU(),
        new Conv2d(mid, mid, kernel, { padding: kernel >> 1, stride, groups: mid, bias: false, ...noInit }),
        new BatchNorm2d(mid, BN),
        new ReLU(),
        new Conv2d(mid, outCh, 1, { bias: false, ...noInit }),
        new BatchNorm2d(outCh, BN),
      ),
    );
  }

  override forward(x: Tensor): Tensor {
    const y = this.layers.call(x);
    return this.applyResidual ? add(y, x) : y;
  }
}

/** A stack of `repeats` blocks, the first with the stride, as torchvision's mnasnet._stack. */
function stack(inCh: number, outCh: number, kernel: number, stride: number, expansion: number, repeats: number): Sequential {
  const seq = new Sequential(new MNASNetBlock(inCh, outCh, kernel, stride, expansion));
  for (let i = 1; i < repeats; i++) seq.append(new MNASNetBlock(outCh, outCh, kernel, 1, expansion));
  return seq;
}

/** val rounded to a multiple of divisor, upwards unless within 10% above the lower one, as torchvision's _round_to_multiple_of. */
function roundToMultipleOf(val: number, divisor: number): number {
  const v = Math.max(divisor, Math.floor(Math.trunc(val + divisor / 2) / divisor) * divisor);
  return v >= 0.9 * val ? v : v + divisor;
}

/** MNASNet's channel counts scaled by alpha, as torchvision's mnasnet._get_depths. */
export function mnasnetDepths(alpha: number): number[] {
  return [32, 16, 24, 40, 80, 96, 192, 320].map((d) => roundToMultipleOf(d * alpha, 8));
}

/** MNASNet's init: convs kaiming_normal_(fan_out, relu), the Linear kaiming_uniform_(fan_out, sigmoid) with bias 0. */
function linearInit(m: Linear, g: Generator | undefined): void {
  const bound = Math.sqrt(3 / m.outFeatures);
  uniform_(m.weight, -bound, bound, g);
  if (m.bias) constant_(m.bias, 0);
}

/** MNASNet's options: the model options and the checkpoint layout. */
export interface MNASNetOptions extends ModelOptions {
  /**
   * torchvision's layout (default 2). Version 1 (checkpoints saved before torchvision 0.9, among them the published
   * mnasnet0_5 weights) has a fixed 32 → 16 channel stem whatever alpha; for alpha 1 both are the same.
   */
  version?: 1 | 2;
}

/**
 * The layout of an MNASNet state dict for `alpha` (what to pass as `version`): 1 when its stem has version 1's fixed
 * widths (`layers.0` 32 filters, `layers.6` 32 → 16) and those differ from version 2's for alpha, else 2.
 */
export function mnasnetVersionOf(dict: Readonly<Record<string, { shape: readonly number[] }>>, alpha: number): 1 | 2 {
  const d = mnasnetDepths(alpha);
  if (d[0] === 32 && d[1] === 16) return 2;
  const shape = (key: string) => (dict[key] ?? dict[`module.${key}`])?.shape.join(',');
  return shape('layers.0.weight') === '32,3,3,3' && shape('layers.6.weight') === '16,32,1,1' ? 1 : 2;
}

/**
 * MNASNet (B1), as torchvision.models.MNASNet: `layers` (3×3/2 stem, depthwise-separable conv, six stacks of
 * inverted residuals, 1×1 conv to 1280, BN, ReLU), the spatial mean, `classifier` (Dropout, Linear). BatchNorm
 * momentum 1 − 0.9997. Input [N, 3, H, W] → logits [N, numClasses]. torchvision's version 2 layout unless
 * `version: 1` (mnasnetVersionOf tells them apart).
 */
export class MNASNet extends Module {
  readonly layers: Sequential;
  readonly classifier: Sequential;

  constructor(
    readonly alpha: number,
    options: MNASNetOptions = {},
  ) {
    super();
    if (!(alpha > 0)) throw new Error(`MNASNet: alpha should be greater than 0, got ${alpha}`);
    const version = options.version ?? 2;
    if (version !== 1 && version !== 2) throw new Error(`MNASNet: version should be 1 or 2, got ${String(version)}`);
    const d = mnasnetDepths(alpha) as [number, number, number, number, number, number, number, number];
    // Version 1's stem is 32 → 16 channels whatever alpha (torchvision's _load_from_state_dict patches it in).
    const [stem, sep] = version === 1 ? [32, 16] : [d[0], d[1]];
    this.layers = this.registerModule(
      'layers',
      new Sequential(
        new Conv2d(3, stem, 3, { padding: 1, stride: 2, bias: false, ...noInit }),
        new BatchNorm2d(stem, BN),
        new ReLU(),
        new Conv2d(stem, stem, 3, { padding: 1, groups: stem, bias: false, ...noInit }),
        new BatchNorm2d(stem, BN),
        new ReLU(),
        new Conv2d(stem, sep, 1, { bias: false, ...noInit }),
        new BatchNorm2d(sep, BN),
        stack(sep, d[2], 3, 2, 3, 3),
        stack(d[2], d[3], 5, 2, 3, 3),
        stack(d[3], d[4], 5, 2, 6, 3),
        stack(d[4], d[5], 3, 1, 6, 2),
        stack(d[5], d[6], 5, 2, 6, 4),
        stack(d[6], d[7], 3, 1, 6, 1),
        new Conv2d(d[7], 1280, 1, { bias: false, ...noInit }),
        new BatchNorm2d(1280, BN),
        new ReLU(),
      ),
    );
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Dropout(options.dropout ?? 0.2, { generator: options.generator }),
        new Linear(1280, numClassesOf(options, 'MNASNet'), noInit),
      ),
    );
    applyInit(this, options, {
      conv: (m, g) => kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu', generator: g }),
      linear: linearInit,
    });
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(mean(this.layers.call(x), { dim: [2, 3] }));
  }
}

/** MNASNet 0.5, as torchvision.models.mnasnet0_5; 0.75, 1.0 and 1.3 below. */
export const mnasnet0_5 = (o: MNASNetOptions = {}) => new MNASNet(0.5, o);
export const mnasnet0_75 = (o: MNASNetOptions = {}) => new MNASNet(0.75, o);
export const mnasnet1_0 = (o: MNASNetOptions = {}) => new MNASNet(1.0, o);
export const mnasnet1_3 = (o: MNASNetOptions = {}) => new MNASNet(1.3, o);
