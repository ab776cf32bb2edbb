import { cast, gradRules, gt, lt, mul, relu } from '@gradlens/tensor';
import type { GradRule, RuleOverrides, Tensor } from '@gradlens/tensor';

const mask = (b: Tensor, like: Tensor): Tensor => cast(b, like.dtype);

/** Guided backprop's ReLU (Springenberg et al. 2015): pass positive gradient where the forward input was positive. */
export const guidedRelu: GradRule<'relu'> = (dy, { inputs: [x] }) => [mul(relu(dy), mask(gt(x!, 0), dy))];

/** Deconvnet's ReLU (Zeiler & Fergus 2014): pass positive gradient, whatever the forward input was. */
export const deconvnetRelu: GradRule<'relu'> = (dy) => [relu(dy)];

/**
 * Guided rule for `clamp`: a clamp with min 0 (ReLU6, as MobileNetV2 uses) is treated as a ReLU and
 * passes positive gradient where 0 < x < max (torch's ReLU6 backward mask); any other clamp keeps
 * its ordinary gradient.
 */
export const guidedClamp: GradRule<'clamp'> = (dy, ctx) => {
  const {
    inputs: [x],
    attrs: { min, max },
  } = ctx;
  if (min !== 0) return gradRules.clamp(dy, ctx);
  let g = mul(relu(dy), mask(gt(x!, 0), dy));
  if (max !== null) g = mul(g, mask(lt(x!, max), dy));
  return [g];
};

/** Deconvnet rule for `clamp`: a clamp with min 0 (ReLU6) passes positive gradient everywhere; other clamps keep their gradient. */
export const deconvnetClamp: GradRule<'clamp'> = (dy, ctx) => (ctx.attrs.min === 0 ? [relu(dy)] : gradRules.clamp(dy, ctx));

/**
 * Guided backprop as a rule set for `tape.grad`: every `relu` op (module or functional, in the
 * features or the classifier) and every ReLU6-like `clamp(min = 0)` passes only positive gradient
 * where its forward input was positive.
 */
export const guidedRules: RuleOverrides = { relu: guidedRelu, clamp: guidedClamp };

/** Deconvnet as a rule set for `tape.grad`: every `relu` op and ReLU6-like `clamp(min = 0)` passes only positive gradient. */
export const deconvnetRules: RuleOverrides = { relu: deconvnetRelu, clamp: deconvnetClamp };
