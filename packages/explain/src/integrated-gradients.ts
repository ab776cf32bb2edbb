import { add, cat, expand, full, mul, sub, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { checkEval, checkInput, checkConstant, repeatTarget, scoreRows, valuesOf, Warnings } from './common';
import { batchGradient, cleanTarget } from './gradient-core';

/** Quadrature along the straight path from the baseline to the input. */
export type IntegrationMethod = 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'riemann-trapezoid' | 'gauss-legendre';

export interface IntegratedGradientsOptions extends BaseOptions {
  /** The baseline x′: a number, or a tensor broadcastable to the input (default 0, the black image after preprocessing is not 0!). */
  baseline?: number | Tensor;
  /** Number of points m on the path (default 50). */
  steps?: number;
  /** Quadrature (default 'riemann-right', the paper's Σₖ₌₁..ₘ ∇F(x′ + k/m (x − x′)) / m). */
  method?: IntegrationMethod;
  /** Path points per forward pass (rows = batchSize · N; default 16). */
  batchSize?: number;
  /** Backward rules for the path gradients (default vanilla). */
  rules?: RuleOverrides;
  /**
   * The reference script's version: the baseline is 0, the m + 1 points k/m for k = 0…m are summed
   * with weight 1/m each, and the result is NOT multiplied by (x − x′) (`baseline` and `method` are ignored).
   */
  reference?: boolean;
  onProgress?: ProgressCallback;
}

/** What `integratedGradients` returns; the caller owns the tensors. */
export interface IntegratedGradientsResult {
  /** (x − x′) ⊙ ∫ ∂F/∂x along the path, [N, C, H, W] (reference: the path integral alone). */
  attribution: Tensor;
  /**
   * Completeness gap per item: Σ attribution − (F(x) − F(x′)) (reference: Σ attribution ⊙ x − …);
   * it shrinks as `steps` grows.
   */
  delta: number[];
  /** F(x) and F(x′) per item. */
  scores: number[];
  baselineScores: number[];
  classes: number[] | null;
  warnings: string[];
}

/** Path points α ∈ [0, 1] and weights of a quadrature with `steps` points. */
export function quadrature(method: IntegrationMethod, steps: number): { alphas: number[]; weights: number[] } {
  const m = steps;
  const range = (f: (k: number) => number) => Array.from({ length: m }, (_, k) => f(k));
  switch (method) {
    case 'riemann-left':
      return { alphas: range((k) => k / m), weights: range(() => 1 / m) };
    case 'riemann-right':
      return { alphas: range((k) => (k + 1) / m), weights: range(() => 1 / m) };
    case 'riemann-middle':
      return { alphas: range((k) => (k + 0.5) / m), weights: range(() => 1 / m) };
    case 'riemann-trapezoid': {
      if (m < 2) throw new Error(`integratedGradients: the trapezoid rule needs steps ≥ 2, got ${m}`);
      return { alphas: range((k) => k / (m - 1)), weights: range((k) => (k === 0 || k === m - 1 ? 0.5 : 1) / (m - 1)) };
    }
    case 'gauss-legendre': {
      const { nodes, weights } = gaussLegendre(m);
      return { alphas: nodes.map((t) => (t + 1) / 2), weights: weights.map((w) => w / 2) };
    }
    default:
      throw new Error(
        `integratedGradients: unknown method '${String(method)}'; use riemann-left, riemann-right, riemann-middle, riemann-trapezoid or gauss-legendre`,
      );
  }
}

/** Gauss–Legendre nodes (ascending, on [−1, 1]) and weights, by Newton's method on Pₙ, in float64. */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n).fill(0);
  const weights = new Array<number>(n).fill(0);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = z;
      for (let j = 2; j <= n; j++) {
        const p2 = ((2 * j - 1) * z * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      if (n === 1) p0 = 1;
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-15) break;
    }
    // Recompute the derivative at the converged root for the weight.
    let p0 = 1;
    let p1 = z;
    for (let j = 2; j <= n; j++) {
      const p2 = ((2 * j - 1) * z * p1 - (j - 1) * p0) / j;
      p0 = p1;
      p1 = p2;
    }
    dp = n === 1 ? 1 : (n * (z * p1 - p0)) / (z * z - 1);
    const w = 2 / ((1 - z * z) * dp * dp);
    nodes[i] = -z;
    nodes[n - 1 - i] = z;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}

/**
 * Integrated gradients (Sundararajan et al. 2017): (x − x′) ⊙ Σₖ wₖ ∂F/∂x (x′ + αₖ (x − x′)), [N, C, H, W],
 * with the completeness gap Σ attribution − (F(x) − F(x′)) per item. Path points are batched.
 */
export function integratedGradients(model: Module, x: Tensor, options: IntegratedGradientsOptions = {}): IntegratedGradientsResult {
  const method = 'integratedGradients';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const steps = options.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${method}: steps must be a positive integer, got ${steps}`);
  const [n] = x.shape as [number];
  const reference = options.reference ?? false;
  const { alphas, weights } = reference
    ? { alphas: Array.from({ length: steps + 1 }, (_, k) => k / steps), weights: new Array<number>(steps + 1).fill(1 / steps) }
    : quadrature(options.method ?? 'riemann-right', steps);
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const baseline = tidy(() => {
    const b = options.baseline;
    if (reference || b === undefined || typeof b === 'number') return full(x.shape, typeof b === 'number' && !reference ? b : 0, x.dtype);
    try {
      const e = expand(b, x.shape);
      return e === b ? mul(b, 1) : e; // a copy: the caller keeps its baseline
    } catch {
      throw new Error(`${method}: baseline of shape [${b.shape.join(', ')}] does not broadcast to the input [${x.shape.join(', ')}]`);
    }
  });
  try {
    const { target, scores } = cleanTarget(method, model, x, options.target);
    const baselineScores = scoreRows(method, model, baseline, target, false);
    const diff = tidy(() => sub(x, baseline));
    const total = new Float64Array(x.size);
    try {
      for (let s0 = 0; s0 < alphas.length; s0 += batch) {
        const chunk = alphas.slice(s0, s0 + batch);
        const g = tidy(() => {
          const xs = cat(
            chunk.map((a) => add(baseline, mul(diff, a))),
            0,
          );
          const items = Array.from({ length: chunk.length * n }, (_, r) => r % n);
          return batchGradient(method, model, xs, repeatTarget(target, items), options.rules);
        });
        const gv = g.dataSync();
        g.dispose();
        chunk.forEach((_, c) => {
          const w = weights[s0 + c]!;
          for (let j = 0; j < x.size; j++) total[j] = total[j]! + w * Number(gv[c * x.size + j]);
        });
        options.onProgress?.(Math.min(s0 + batch, alphas.length), alphas.length);
      }
      const dv = valuesOf(diff);
      const xv = valuesOf(x);
      const per = x.size / n;
      const attr = new Float32Array(x.size);
      const delta: number[] = [];
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = i * per; j < (i + 1) * per; j++) {
          const a = reference ? total[j]! : total[j]! * dv[j]!;
          attr[j] = a;
          s += reference ? a * xv[j]! : a;
        }
        delta.push(s - (scores[i]! - baselineScores[i]!));
      }
      const attribution = tensor(attr, x.shape, x.dtype);
      checkConstant(attribution, target, warnings, 'the input equals the baseline, or no gradient reached the input');
      return {
        attribution,
        delta,
        scores: Array.from(scores),
        baselineScores: Array.from(baselineScores),
        classes: target.classes ? [...target.classes] : null,
        warnings: warnings.list,
      };
    } finally {
      diff.dispose();
    }
  } finally {
    baseline.dispose();
  }
}
