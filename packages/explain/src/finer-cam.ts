import { add, div, mul, noGrad, reshape, softmax, sub, sum, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { releasingIntermediates, type Module } from '@gradlens/nn';
import type { CamOptions, CamResult } from './cam-core';
import { checkInput } from './common';
import { gradCam } from './gradcam';
import type { TargetFn } from './targets';

export interface FinerCamOptions extends Omit<CamOptions, 'target'> {
  /** The explained class per item (a number for all, or one each); default the top class. */
  target?: number | readonly number[];
  /** Ranks (by |y_j − y_main|, ascending; rank 0 is the class itself) of the classes compared against (default [1, 2, 3]). */
  comparisonRanks?: readonly number[];
  /** Comparison strength α (default 1). */
  alpha?: number;
  /** The CAM run with the comparison target (default `gradCam`); it must take a function target. */
  baseMethod?: (model: Module, x: Tensor, options: CamOptions) => CamResult;
}

export interface FinerCamResult extends CamResult {
  /** The explained class of each item. */
  mainClasses: number[];
  /** The compared classes of each item, most similar first. */
  comparisons: number[][];
}

/**
 * Finer-CAM (Zhang et al. 2025, pytorch-grad-cam's `FinerCAM`): the base CAM (Grad-CAM by default) of
 * the score Σⱼ pⱼ (y_main − α yⱼ) / (Σⱼ pⱼ + 1e-9), j over the classes whose logits are closest to
 * the explained class's (ranks `comparisonRanks` of |y_j − y_main|, ties by index), p = softmax(y)
 * (differentiated too) — what sets the class apart from its look-alikes.
 */
export function finerCam(model: Module, x: Tensor, options: FinerCamOptions = {}): FinerCamResult {
  const method = 'finerCam';
  checkInput(method, x);
  const alpha = options.alpha ?? 1;
  const ranks = [...(options.comparisonRanks ?? [1, 2, 3])];
  const logits = noGrad(() => {
    const y = releasingIntermediates(() => model.call(x));
    try {
      if (y.rank !== 2) throw new Error(`${method}: needs a model output [N, K], got [${y.shape.join(', ')}]`);
      return { v: Float64Array.from(y.dataSync(), Number), n: y.shape[0]!, k: y.shape[1]! };
    } finally {
      y.dispose();
    }
  });
  const { v, n, k } = logits;
  for (const r of ranks)
    if (!Number.isInteger(r) || r < 0 || r >= k) throw new Error(`${method}: comparison ranks must be integers in 0…${k - 1}, got ${r}`);
  const given = options.target;
  if (Array.isArray(given) && given.length !== n) throw new Error(`${method}: ${given.length} targets for ${n} items`);
  const mainClasses: number[] = [];
  const comparisons: number[][] = [];
  const mainHot = new Float32Array(n * k);
  const compHot = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = v.subarray(i * k, (i + 1) * k);
    let ref: number;
    const t = typeof given === 'number' ? given : (given as readonly number[] | undefined)?.[i];
    if (t === undefined) ref = Math.max(...row);
    else {
      if (!Number.isInteger(t) || t < 0 || t >= k) throw new Error(`${method}: target class ${t} is out of range for ${k} outputs`);
      ref = row[t]!;
    }
    const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => Math.abs(row[a]! - ref) - Math.abs(row[b]! - ref) || a - b);
    mainClasses.push(order[0]!);
    comparisons.push(ranks.map((r) => order[r]!));
    mainHot[i * k + order[0]!] = 1;
    for (const r of ranks) compHot[i * k + order[r]!] = 1;
  }
  const targetFn: TargetFn = (out) =>
    tidy(() => {
      const main = sum(mul(out, tensor(mainHot, [n, k], out.dtype)), { dim: 1 });
      const p = mul(softmax(out, 1), tensor(compHot, [n, k], out.dtype));
      const diff = sub(reshape(main, [n, 1]), mul(out, alpha));
      return div(sum(mul(p, diff), { dim: 1 }), add(sum(p, { dim: 1 }), 1e-9));
    });
  const base = options.baseMethod ?? gradCam;
  const { target: _t, comparisonRanks: _r, alpha: _a, baseMethod: _b, ...rest } = options;
  const result = base(model, x, { ...rest, target: targetFn });
  return { ...result, mainClasses, comparisons };
}
