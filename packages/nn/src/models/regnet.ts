import type { Generator, Tensor } from '@gradlens/tensor';
import { add, flatten } from '@gradlens/tensor';
import { normal_, uniform_ } from '../init';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import type { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Conv2dNormActivation, SqueezeExcitation } from '../layers/vision-ops';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, linearNormal, numClassesOf } from './common';
import { makeDivisible } from './mobilenet';

/** Per-stage settings of a RegNet, as torchvision.models.regnet.BlockParams. */
export interface RegNetBlockParams {
  depths: number[];
  widths: number[];
  groupWidths: number[];
  bottleneckMultipliers: number[];
  strides: number[];
  /** Squeeze-and-excitation ratio of the block's input width (RegNetY: 0.25); undefined for none (RegNetX). */
  seRatio?: number;
}

/** The RegNet design-space parameters torchvision's BlockParams.from_init_params takes. */
export interface RegNetInitParams {
  depth: number;
  w0: number;
  wA: number;
  wM: number;
  groupWidth: number;
  bottleneckMultiplier?: number;
  seRatio?: number;
}

const f32 = Math.fround;

/** Rounds half to even, as torch.round. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Per-stage settings from the design-space parameters, as torchvision's BlockParams.from_init_params:
 * block widths w0 + i·wA quantised in log space (base wM) to multiples of 8, split into stages of equal
 * width, each stage's width and group width then made compatible with its bottleneck width. The
 * arithmetic is float32 as torch's (Math.fround at each step), so the rounding lands where torch's does.
 */
export function regNetBlockParams(p: RegNetInitParams): RegNetBlockParams {
  const { depth, w0, wA, wM, groupWidth } = p;
  const bm = p.bottleneckMultiplier ?? 1;
  if (wA < 0 || w0 <= 0 || wM <= 1 || w0 % 8 !== 0 || !Number.isInteger(depth) || depth < 1) {
    throw new Error(
      `regNetBlockParams: invalid RegNet settings (depth ${depth}, w0 ${w0}, wA ${wA}, wM ${wM}; w0 must be a multiple of 8)`,
    );
  }
  const logWm = f32(Math.log(wM));
  const blockWidths: number[] = [];
  for (let i = 0; i < depth; i++) {
    const cont = f32(f32(i * f32(wA)) + w0);
    const capacity = roundHalfEven(f32(f32(Math.log(f32(cont / w0))) / logWm));
    blockWidths.push(roundHalfEven(f32(f32(w0 * f32(Math.pow(f32(wM), capacity))) / 8)) * 8);
  }
  // A stage starts wherever the width changes; its depth is the run length.
  const widths: number[] = [];
  const depths: number[] = [];
  for (const w of blockWidths) {
    if (widths[widths.length - 1] === w) depths[depths.length - 1]!++;
    else {
      widths.push(w);
      depths.push(1);
    }
  }
  // _adjust_widths_groups_compatibilty: the bottleneck width must be a multiple of the group width.
  const groupWidths = widths.map((w) => Math.min(groupWidth, Math.trunc(w * bm)));
  const adjusted = widths.map((w, i) => Math.trunc(makeDivisible(Math.trunc(w * bm), groupWidths[i]!) / bm));
  return {
    depths,
    widths: adjusted,
    groupWidths,
    bottleneckMultipliers: widths.map(() => bm),
    strides: widths.map(() => 2),
    seRatio: p.seRatio,
  };
}

const relu = () => new ReLU();

/**
 * RegNet's residual block, as torchvision.models.regnet.ResBottleneckBlock: `f` (a Sequential named
 * a, b, se, c: 1×1, grouped 3×3 with stride and widthOut·bm / groupWidth groups, optional
 * squeeze-and-excitation to round(seRatio · widthIn), linear 1×1) plus the input, or its `proj`
 * (1×1 conv + BN with the stride) when the shape changes; then ReLU.
 */
export class ResBottleneckBlock extends Module {
  readonly proj: Conv2dNormActivation | null;
  readonly f: Sequential;
  readonly activation: ReLU;

  constructor(widthIn: number, widthOut: number, stride: number, groupWidth: number, bottleneckMultiplier: number, seRatio?: number) {
    super();
    const proj = widthIn !== widthOut || stride !== 1;
    this.proj = proj ? this.registerModule('proj', new Conv2dNormActivation(widthIn, widthOut, 1, { stride, activation: null })) : null;
    const wB = Math.round(widthOut * bottleneckMultiplier);
    const groups = Math.floor(wB / groupWidth);
    this.f = this.registerModule('f', new Sequential());
    this.f.append(new Conv2dNormActivation(widthIn, wB, 1, { activation: relu }), 'a');
    this.f.append(new Conv2dNormActivation(wB, wB, 3, { stride, groups, activation: relu }), 'b');
    if (seRatio) this.f.append(new SqueezeExcitation(wB, Math.round(seRatio * widthIn), relu), 'se');
    this.f.append(new Conv2dNormActivation(wB, widthOut, 1, { activation: null }), 'c');
    this.activation = this.registerModule('activation', new ReLU());
  }

  override forward(x: Tensor): Tensor {
    const y = this.f.call(x);
    return this.activation.call(add(this.proj ? this.proj.call(x) : x, y));
  }
}

/** conv weight N(0, 2 / (k·k·out)) as RegNet's ResNet-style init; the conv bias (SE only) keeps torch's default U(±1/√fan_in). */
function regNetConvInit(m: Conv2d, g: Generator | undefined): void {
  normal_(m.weight, 0, Math.sqrt(2 / (m.kernelSize[0] * m.kernelSize[1] * m.outChannels)), g);
  if (m.bias) {
    const r = 1 / Math.sqrt((m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1]);
    uniform_(m.bias, -r, r, g);
  }
}

/**
 * RegNet, as torchvision.models.RegNet: `stem` (3×3/2 conv, BN, ReLU to stemWidth), `trunk_output`
 * (stages `block1`, `block2`, … of blocks `block{s}-{i}`, the first of each with stride 2), `avgpool`,
 * flatten, `fc`. Input [N, 3, H, W] → logits [N, numClasses].
 */
export class RegNet extends Module {
  readonly stem: Conv2dNormActivation;
  readonly trunkOutput: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;

  constructor(params: RegNetBlockParams, options: ModelOptions & { stemWidth?: number } = {}) {
    super();
    const stemWidth = options.stemWidth ?? 32;
    this.stem = this.registerModule('stem', new Conv2dNormActivation(3, stemWidth, 3, { stride: 2, activation: relu }));
    this.trunkOutput = this.registerModule('trunk_output', new Sequential());
    let width = stemWidth;
    params.widths.forEach((widthOut, s) => {
      const stage = new Sequential();
      const depth = params.depths[s] ?? 0;
      for (let i = 0; i < depth; i++) {
        const block = new ResBottleneckBlock(
          i === 0 ? width : widthOut,
          widthOut,
          i === 0 ? (params.strides[s] ?? 2) : 1,
          params.groupWidths[s] ?? 1,
          params.bottleneckMultipliers[s] ?? 1,
          params.seRatio,
        );
        stage.append(block, `block${s + 1}-${i}`);
      }
      this.trunkOutput.append(stage, `block${s + 1}`);
      width = widthOut;
    });
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.fc = this.registerModule('fc', new Linear(width, numClassesOf(options, 'RegNet'), { init: false }));
    applyInit(this, options, { conv: regNetConvInit, linear: linearNormal });
  }

  override forward(x: Tensor): Tensor {
    return this.fc.call(flatten(this.avgpool.call(this.trunkOutput.call(this.stem.call(x))), 1));
  }
}

type Init = [depth: number, w0: number, wA: number, wM: number, groupWidth: number];
const regnet =
  (y: boolean, [depth, w0, wA, wM, groupWidth]: Init) =>
  (o: ModelOptions = {}) =>
    new RegNet(regNetBlockParams({ depth, w0, wA, wM, groupWidth, seRatio: y ? 0.25 : undefined }), o);

/** RegNetY-400MF, as torchvision.models.regnet_y_400mf; the other RegNetY (squeeze-and-excitation) and RegNetX sizes below. */
export const regnetY400mf = regnet(true, [16, 48, 27.89, 2.09, 8]);
export const regnetY800mf = regnet(true, [14, 56, 38.84, 2.4, 16]);
export const regnetY1_6gf = regnet(true, [27, 48, 20.71, 2.65, 24]);
export const regnetY3_2gf = regnet(true, [21, 80, 42.63, 2.66, 24]);
export const regnetY8gf = regnet(true, [17, 192, 76.82, 2.19, 56]);
export const regnetY16gf = regnet(true, [18, 200, 106.23, 2.48, 112]);
export const regnetY32gf = regnet(true, [20, 232, 115.89, 2.53, 232]);
export const regnetY128gf = regnet(true, [27, 456, 160.83, 2.52, 264]);
export const regnetX400mf = regnet(false, [22, 24, 24.48, 2.54, 16]);
export const regnetX800mf = regnet(false, [16, 56, 35.73, 2.28, 16]);
export const regnetX1_6gf = regnet(false, [18, 80, 34.01, 2.25, 24]);
export const regnetX3_2gf = regnet(false, [25, 88, 26.31, 2.25, 48]);
export const regnetX8gf = regnet(false, [23, 80, 49.56, 2.88, 120]);
export const regnetX16gf = regnet(false, [22, 216, 55.59, 2.1, 128]);
export const regnetX32gf = regnet(false, [23, 320, 69.86, 2.0, 168]);
