import { mul, noGrad, record, sub, sum, tidy } from '@gradlens/tensor';
import type { Tape, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamLayer, CamOptions, CamResult } from './cam-core';
import { buildCam, camLayer, withLayer } from './cam-core';
import { checkEval, checkInput, Warnings } from './common';
import { gradCamCombine } from './gradcam';
import type { Pass } from './pass';
import { disposePass, recordPass } from './pass';

/**
 * ShapleyCAM (Cai et al. 2024; pytorch-grad-cam's ShapleyCAM): Grad-CAM's map with the channel weights
 * wₖ = mean over positions of (∂s/∂A − ½·H·A)ₖ, H = ∂²s/∂A² — the second-order Taylor estimate of each channel's
 * Shapley value. H·A is a Hessian-vector product with A itself: the gradient is taken with `createGraph` on a tape
 * that also holds the forward pass, and ⟨∂s/∂A, A⟩ (A held constant) is differentiated again. With a logit target a
 * network of ReLUs and max pooling after the layer has H = 0 almost everywhere, and ShapleyCAM is Grad-CAM; a
 * softmax score (`target: (y) => …`) or smooth activations (GELU, SiLU) make them differ. [N, h, w] and [N, H, W].
 */
export function shapleyCam(model: Module, x: Tensor, given: CamOptions = {}): CamResult {
  const method = 'shapleyCam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  let pass: Pass | null = null;
  let layer: CamLayer | null = null;
  let outer: Tape | null = null;
  try {
    // One outer tape holds the forward pass (recorded on the pass's tape too) and the first backward pass.
    const second = record(() => {
      pass = recordPass(method, model, x, options.target);
      layer = camLayer(method, model, pass.tape, options, pass.output);
      const [g] = pass.tape.grad(pass.seedOutputs, [layer.raw], { gradOutputs: pass.gradOutputs, createGraph: true });
      const held = noGrad(() => mul(layer!.raw, 1)); // A as the vector of the product: a constant, as grad_outputs
      return { g: g!, product: sum(mul(g!, held)) };
    });
    outer = second.tape;
    const p = pass as Pass | null;
    const l = layer as CamLayer | null;
    if (p === null || l === null) throw new Error(`${method}: the recorded pass did not complete`);
    const [hv] = outer.grad(second.output.product, [l.raw]);
    const [gGrid, hvGrid] = [l.grid(second.output.g), l.grid(hv!)]; // freed by l.dispose when a reshape made them
    const shapleyGrad = tidy(() => sub(gGrid, mul(hvGrid, 0.5)));
    hv!.dispose();
    try {
      return buildCam(method, l.a, shapleyGrad, gradCamCombine(false), options.relu ?? true, x.shape, p.target, p.scores, warnings);
    } finally {
      shapleyGrad.dispose();
      second.output.product.dispose();
      second.output.g.dispose();
    }
  } finally {
    (layer as CamLayer | null)?.dispose();
    const p = pass as Pass | null;
    if (p !== null) disposePass(p);
    (outer as Tape | null)?.dispose();
  }
}
