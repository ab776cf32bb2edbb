import type { GradRule, OpName, RuleOverrides, Tensor } from '@gradlens/tensor';
import { gradRules, inputsOf } from '@gradlens/tensor';
import type { AttentionRule } from './transformer';
import { layerNormRelevance, matmulRelevance, softmaxRelevance } from './transformer';
import type { LrpLayerRule, Stabiliser } from './rules';
import { batchNormRelevance, layerRelevance, passThrough, proportional, scaleByConstant, shareSum } from './rules';

/**
 * Which LRP rule each layer uses: by layer type, for the pixel layer, and by module path
 * (the most specific wins: `layers` > `input` > `conv2d`/`linear`).
 */
export interface LrpComposite {
  conv2d?: LrpLayerRule;
  linear?: LrpLayerRule;
  /** The layer that reads the input pixels (zᴮ is the usual choice). */
  input?: LrpLayerRule;
  /** Per module path (`features.0`, `classifier.6`): overrides the rules above. */
  layers?: Record<string, LrpLayerRule>;
  /** ε for parameter-free ops (pooling, sums, residual additions); default 1e-9. */
  epsilon?: number;
  /**
   * Attention in transformers (layer norm always takes the LN-rule): 'ah' (default), Ali et al.'s
   * (2022) conservative AH-rule, attention probabilities held constant; 'attnlrp', AttnLRP's softmax
   * and uniform matrix-product rules (Achtibat et al. 2024).
   */
  attention?: AttentionRule;
}

/** Named composites: LRP-0, LRP-ε, LRP-γ, LRP-αβ, and the mix recommended by Montavon et al. (2019). */
export const lrpPresets = {
  zero: { conv2d: { rule: 'epsilon', epsilon: 0 }, linear: { rule: 'epsilon', epsilon: 0 } },
  epsilon: { conv2d: { rule: 'epsilon', epsilon: 0.25 }, linear: { rule: 'epsilon', epsilon: 0.25 } },
  gamma: { conv2d: { rule: 'gamma', gamma: 0.25 }, linear: { rule: 'gamma', gamma: 0.25 } },
  alphaBeta: { conv2d: { rule: 'alphaBeta', alpha: 2, beta: 1 }, linear: { rule: 'alphaBeta', alpha: 2, beta: 1 } },
  montavon: { conv2d: { rule: 'gamma', gamma: 0.25 }, linear: { rule: 'epsilon', epsilon: 0.25 } },
  /** Transformers, conservative (Ali et al. 2022): LRP-0 on linear layers, the LN-rule and the AH-rule. */
  conservative: { conv2d: { rule: 'epsilon', epsilon: 0 }, linear: { rule: 'epsilon', epsilon: 0 }, attention: 'ah' },
  /** Transformers, AttnLRP (Achtibat et al. 2024): LRP-ε on linear layers, its softmax and matrix-product rules. */
  attnlrp: { conv2d: { rule: 'epsilon', epsilon: 1e-6 }, linear: { rule: 'epsilon', epsilon: 1e-6 }, attention: 'attnlrp' },
} satisfies Record<string, LrpComposite>;

type Treatment<K extends OpName> = GradRule<K> | 'moves data' | 'unsupported';

const unsupported = 'unsupported' as const;
const moves = 'moves data' as const;

/**
 * How every op of the table treats relevance. A mapped type over the op names, so an op added to
 * the tensor package must be classified here before LRP compiles.
 */
function treatments(
  layerRule: (op: 'conv2d' | 'linear') => GradRule<'conv2d' | 'linear'>,
  stabilise: Stabiliser,
  eps: number,
  attention: AttentionRule,
  probabilities: ReadonlySet<Tensor>,
  gates: ReadonlySet<Tensor>,
): { [K in OpName]: Treatment<K> } {
  const share = shareSum(stabilise, eps, false);
  return {
    conv2d: layerRule('conv2d'),
    linear: layerRule('linear'),
    // GELU passes relevance through like ReLU (AttnLRP's identity rule for elementwise activations).
    relu: passThrough(),
    clamp: passThrough(),
    cast: passThrough(),
    gelu: passThrough(),
    add: share,
    sub: shareSum(stabilise, eps, true),
    mul: scaleByConstant('mul', gates),
    div: scaleByConstant('div'),
    batchNorm: batchNormRelevance(stabilise, eps),
    avgPool2d: proportional(stabilise, eps),
    adaptiveAvgPool2d: proportional(stabilise, eps),
    sum: proportional(stabilise, eps),
    mean: proportional(stabilise, eps),
    upsampleNearest2d: proportional(stabilise, eps),
    upsampleBilinear2d: proportional(stabilise, eps),
    roiAlign: proportional(stabilise, eps),
    // Winner-take-all pooling and pure data movement route relevance as they route gradients.
    maxPool2d: moves,
    adaptiveMaxPool2d: moves,
    gatherPlanes: moves,
    scatterPlanes: moves,
    reshape: moves,
    permute: moves,
    expand: moves,
    slice: moves,
    unslice: moves,
    pad: moves,
    cat: moves,
    indexSelect: moves,
    indexAdd: moves,
    pow: unsupported,
    maximum: unsupported,
    minimum: unsupported,
    where: unsupported,
    eq: unsupported,
    ne: unsupported,
    lt: unsupported,
    le: unsupported,
    gt: unsupported,
    ge: unsupported,
    neg: unsupported,
    exp: unsupported,
    unaryMath: unsupported,
    log: unsupported,
    sqrt: unsupported,
    abs: unsupported,
    sign: unsupported,
    layerNorm: layerNormRelevance(stabilise, eps),
    matmul: matmulRelevance(attention, stabilise, eps, probabilities),
    softmax: softmaxRelevance(attention),
    sigmoid: unsupported,
    tanh: unsupported,
    erf: unsupported,
    logSoftmax: unsupported,
    max: unsupported,
    min: unsupported,
    argmax: unsupported,
    argmin: unsupported,
    var: unsupported,
    conv2dBackwardInput: unsupported,
    conv2dBackwardWeight: unsupported,
    avgPool2dBackward: unsupported,
    adaptiveAvgPool2dBackward: unsupported,
    batchNormBackward: unsupported,
    upsampleNearest2dBackward: unsupported,
    upsampleBilinear2dBackward: unsupported,
    roiAlignBackward: unsupported,
    reluBackward: unsupported,
    clampBackward: unsupported,
    geluBackward: unsupported,
    softmaxBackward: unsupported,
    layerNormBackward: unsupported,
  };
}

/**
 * The rule overrides that turn `tape.grad` into relevance propagation for `composite`; `input` is
 * the tensor of pixels, so the layer reading it can use the input rule.
 */
export function lrpRules(
  composite: LrpComposite,
  input: Tensor,
  stabilise: Stabiliser,
  probabilities: ReadonlySet<Tensor> = new Set(),
  gates: ReadonlySet<Tensor> = new Set(),
): RuleOverrides {
  const eps = composite.epsilon ?? 1e-9;
  const pick = (op: 'conv2d' | 'linear', scope: string, reads: Tensor): LrpLayerRule => {
    const layers = composite.layers ?? {};
    const byPath = Object.entries(layers)
      .filter(([p]) => scope === p || scope.startsWith(p + '.'))
      .sort((a, b) => b[0].length - a[0].length)[0];
    if (byPath) return byPath[1];
    if (reads === input && composite.input) return composite.input;
    return composite[op] ?? { rule: 'epsilon', epsilon: 0 };
  };
  const layerRule =
    (op: 'conv2d' | 'linear'): GradRule<'conv2d' | 'linear'> =>
    (R, ctx) => {
      const relevance = layerRelevance(R, ctx, pick(op, ctx.scope, inputsOf(ctx).x), stabilise);
      return ctx.inputs.map((_, i) => (i === 0 ? relevance : null));
    };
  const table = treatments(layerRule, stabilise, eps, composite.attention ?? 'ah', probabilities, gates);
  const overrides: Record<string, GradRule<OpName>> = {};
  for (const [op, t] of Object.entries(table) as [OpName, Treatment<OpName>][]) {
    if (t === moves) overrides[op] = gradRules[op] as GradRule<OpName>;
    else if (t === unsupported) {
      overrides[op] = (_R, ctx) => {
        throw new Error(
          `LRP has no relevance rule for op '${op}'${ctx.scope ? ` (module '${ctx.scope}')` : ''}; supported layers: conv2d, linear, ReLU, GELU, pooling, batch norm, layer norm, attention, residual additions`,
        );
      };
    } else overrides[op] = t;
  }
  return overrides as RuleOverrides;
}
