import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamLayer, CamOptions, CamResult } from './cam-core';
import { buildCam, camLayer, perItem, withLayer } from './cam-core';
import { checkEval, checkInput, disposePass, disposeResult, passGrad, recordPass, valuesOf, Warnings } from './common';
import { principalProjection } from './eigencam';

/** How a CAM method weighs its activations A with the gradient g, element by element (for eigen_smooth). */
export type WeightedActivations =
  /** wₖ Aₖ with the method's channel weights (Grad-CAM, Grad-CAM++, XGrad-CAM, Score-CAM, Ablation-CAM). */
  | { kind: 'channel'; camFn: (model: Module, x: Tensor, options: CamOptions) => CamResult }
  /** g ⊙ A (HiResCAM). */
  | { kind: 'product' }
  /** ReLU(g) ⊙ A (Layer-CAM). */
  | { kind: 'positive-gradient' }
  /** ReLU(g ⊙ A) (Grad-CAM element-wise). */
  | { kind: 'positive-product' }
  /** The kinds without options, by name. */
  | 'product'
  | 'positive-gradient'
  | 'positive-product';

const KINDS = ['channel', 'product', 'positive-gradient', 'positive-product'];

/**
 * eigen_smooth (pytorch-grad-cam) for any CAM method: instead of summing the method's weighted
 * activations over channels, project them (centred) on their first principal component (Eigen-CAM's
 * sign rule: loadings sum ≥ 0), then ReLU (default, as pytorch-grad-cam). Removes noise that is not
 * on the dominant direction. `weights` of the result is the principal direction [N, K]. A token layer
 * (ViT) goes through the same reshape as the other CAM methods (`options.reshape`, or the model's token grid).
 */
export function eigenSmoothCam(model: Module, x: Tensor, spec: WeightedActivations, given: CamOptions = {}): CamResult {
  const method = 'eigenSmoothCam';
  checkInput(method, x);
  const how = typeof spec === 'string' ? { kind: spec } : spec;
  // An unknown kind would otherwise fall through to the last weighting without a word.
  if (!how || !KINDS.includes(how.kind) || (how.kind === 'channel' && typeof how.camFn !== 'function')) {
    throw new Error(
      `${method}: how must be { kind: 'channel', camFn }, 'product', 'positive-gradient' or 'positive-product', got ${JSON.stringify(spec)}`,
    );
  }
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  let channelWeights: Float64Array | null = null;
  if (how.kind === 'channel') {
    const r = how.camFn(model, x, { ...options, onWarning: () => undefined });
    try {
      if (!r.weights)
        throw new Error(`${method}: the method returned no channel weights; use kind 'product', 'positive-gradient' or 'positive-product'`);
      channelWeights = valuesOf(r.weights);
    } finally {
      disposeResult(r);
    }
  }
  const pass = recordPass(method, model, x, options.target);
  let layer: CamLayer | null = null;
  try {
    layer = camLayer(method, model, pass.tape, options, pass.output);
    const [g] = passGrad(pass, [layer.raw]);
    try {
      return buildCam(
        method,
        layer.a,
        layer.grid(g!),
        perItem((av, gv, k, hw, item) => {
          const wa = new Float64Array(k * hw);
          for (let c = 0; c < k; c++) {
            for (let j = 0; j < hw; j++) {
              const i = c * hw + j;
              const gi = gv![i]!;
              wa[i] =
                how.kind === 'channel'
                  ? channelWeights![item * k + c]! * av[i]!
                  : how.kind === 'product'
                    ? gi * av[i]!
                    : how.kind === 'positive-gradient'
                      ? Math.max(0, gi) * av[i]!
                      : Math.max(0, gi * av[i]!);
            }
          }
          const { map, direction } = principalProjection(wa, k, hw, true);
          return { map, weights: direction };
        }),
        options.relu ?? true,
        x.shape,
        pass.target,
        pass.scores,
        warnings,
      );
    } finally {
      g!.dispose();
    }
  } finally {
    layer?.dispose();
    disposePass(pass);
  }
}
