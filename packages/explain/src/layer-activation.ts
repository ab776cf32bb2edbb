import { record, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions } from './common';
import { checkConstant, checkEval, checkInput, layerActivation, valuesOf, Warnings } from './common';
import { guidedRules } from './rules';

export interface LayerActivationOptions extends Omit<BaseOptions, 'target'> {
  /** Module path of the layer (`features.10`). */
  layer: string;
  /** The filter (channel) of a [N, K, h, w] layer, or the unit of a [N, K] layer. */
  filter: number;
  /** One position [row, col] of the filter's map (default: the sum over all its positions). */
  unit?: [number, number];
  /** Backward rules (default `guidedRules`; pass `{}` for the vanilla gradient). */
  rules?: RuleOverrides;
  /** The reference script's objective: Σ |A| over the filter's map (instead of Σ A). */
  reference?: boolean;
}

/** What `layerActivationGradient` returns; the caller owns the tensor. */
export interface LayerActivationResult {
  /** ∂(objective)/∂x under the rules: [N, C, H, W]. */
  attribution: Tensor;
  /** The objective's value per item. */
  scores: number[];
  warnings: string[];
}

/**
 * Layer activation with guided backprop: the gradient [N, C, H, W], under guided rules by default,
 * of one filter's activation summed over its map (or of one unit) of a named layer, from one recorded
 * pass. `reference: true` differentiates Σ |A| as the reference script does.
 */
export function layerActivationGradient(model: Module, x: Tensor, options: LayerActivationOptions): LayerActivationResult {
  const method = 'layerActivationGradient';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const { output, tape } = record(() => model.call(x));
  try {
    const a = layerActivation(method, model, tape, options.layer);
    if (a.rank !== 4 && a.rank !== 2)
      throw new Error(`${method}: layer '${options.layer}' gives [${a.shape.join(', ')}]; expected [N, K, h, w] or [N, K]`);
    const [n, k] = a.shape as [number, number];
    const f = options.filter;
    if (!Number.isInteger(f) || f < 0 || f >= k)
      throw new Error(`${method}: filter ${f} is out of range: layer '${options.layer}' has ${k} channels (0…${k - 1})`);
    const plane = a.rank === 4 ? a.shape[2]! * a.shape[3]! : 1;
    const positions: number[] = [];
    if (options.unit) {
      if (a.rank !== 4)
        throw new Error(`${method}: unit [row, col] needs a [N, K, h, w] layer; '${options.layer}' gives [${a.shape.join(', ')}]`);
      const [r, c] = options.unit;
      const [h, w] = [a.shape[2]!, a.shape[3]!];
      if (!Number.isInteger(r) || !Number.isInteger(c) || r < 0 || r >= h || c < 0 || c >= w) {
        throw new Error(`${method}: unit [${r}, ${c}] is outside the ${h}×${w} map of layer '${options.layer}'`);
      }
      positions.push(r * w + c);
    } else for (let j = 0; j < plane; j++) positions.push(j);
    const av = valuesOf(a);
    const seed = new Float32Array(a.size);
    const scores: number[] = [];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const j of positions) {
        const idx = (i * k + f) * plane + j;
        const v = av[idx]!;
        seed[idx] = options.reference ? Math.sign(v) : 1;
        s += options.reference ? Math.abs(v) : v;
      }
      scores.push(s);
    }
    const attribution = tidy(() => {
      const g = tensor(seed, a.shape, a.dtype);
      return tape.grad([a], [x], { rules: options.rules ?? guidedRules, gradOutputs: [g] })[0]!;
    });
    checkConstant(
      attribution,
      { classes: null, fn: null },
      warnings,
      `filter ${f} of '${options.layer}' passes no gradient to the input (inactive, or switched off by the rules)`,
    );
    return { attribution, scores, warnings: warnings.list };
  } finally {
    tape.dispose();
    output.dispose();
  }
}
