import type { Generator } from '@gradlens/tensor';
import { constant_, kaimingNormal_, kaimingUniform_, normal_ } from '../init';
import { BatchNorm2d } from '../layers/batchnorm';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import type { Module } from '../module';

/** Options every torchvision-compatible model takes. */
export interface ModelOptions {
  /** Size of the output layer (default 1000, ImageNet). */
  numClasses?: number;
  /**
   * Divides every channel count and hidden width by this integer (`max(1, floor(c / d))`), giving a
   * structurally identical, width-reduced copy with the same parameter names (default 1: full size).
   * Used by the parity fixtures; `scripts/make-nn-fixtures.py` builds the same models in PyTorch.
   */
  widthDivisor?: number;
  /** Dropout probability of the classifier (torchvision's default for each model when omitted). */
  dropout?: number;
  /** Where the random initial weights and the dropout masks come from (default: the default generator). */
  generator?: Generator;
  /** Set false to skip random initialisation, e.g. when loading weights right after. */
  init?: boolean;
}

/** A function that scales a full-size channel count by the width divisor. */
export function widthScaler(options: ModelOptions, model: string): (c: number) => number {
  const d = options.widthDivisor ?? 1;
  if (!Number.isInteger(d) || d < 1) throw new Error(`${model}: widthDivisor must be a positive integer, got ${d}`);
  return (c) => Math.max(1, Math.floor(c / d));
}

/** Checks numClasses and returns it (default 1000). */
export function numClassesOf(options: ModelOptions, model: string): number {
  const n = options.numClasses ?? 1000;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${model}: numClasses must be a positive integer, got ${n}`);
  return n;
}

/** What a torchvision model does to each kind of layer in its constructor's init loop. */
export interface TorchvisionInit {
  conv?: (m: Conv2d, g: Generator | undefined) => void;
  linear?: (m: Linear, g: Generator | undefined) => void;
}

/** Applies a torchvision model's weight-initialisation loop (BatchNorm: weight 1, bias 0) unless init is false. */
export function applyInit(model: Module, options: ModelOptions, rules: TorchvisionInit): void {
  if (options.init === false) return;
  const g = options.generator;
  for (const [, m] of model.namedModules()) {
    if (m instanceof Conv2d && rules.conv) rules.conv(m, g);
    else if (m instanceof Linear && rules.linear) rules.linear(m, g);
    else if (m instanceof BatchNorm2d) {
      if (m.weight) constant_(m.weight, 1);
      if (m.bias) constant_(m.bias, 0);
    }
  }
}

/** kaiming_normal_(mode='fan_out', nonlinearity='relu') on a conv weight, bias 0 (VGG, ResNet, MobileNetV2). */
export function convKaimingFanOut(m: Conv2d, g: Generator | undefined): void {
  kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu', generator: g });
  if (m.bias) constant_(m.bias, 0);
}

/** kaiming_uniform_ with torch's defaults (a=0, fan_in), bias 0 (SqueezeNet). */
export function convKaimingUniform(m: Conv2d, g: Generator | undefined): void {
  kaimingUniform_(m.weight, { generator: g });
  if (m.bias) constant_(m.bias, 0);
}

/** normal_(0, 0.01) weight, bias 0 (VGG and MobileNetV2 classifiers). */
export function linearNormal(m: Linear, g: Generator | undefined): void {
  normal_(m.weight, 0, 0.01, g);
  if (m.bias) constant_(m.bias, 0);
}
