import { mul, reshape, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamLayer, CamResult } from './cam-core';
import { buildCam, camLayer, withLayer } from './cam-core';
import { checkConstant, checkEval, checkInput, disposePass, normalizeMaps, passGrad, recordPass, Warnings } from './common';
import type { GradCamOptions } from './gradcam';
import { gradCamCombine } from './gradcam';
import { guidedRules } from './rules';

/** What `guidedGradCam` returns; the caller owns the tensors. */
export interface GuidedGradCamResult {
  /** Guided backprop ⊙ upsampled Grad-CAM: [N, C, H, W]. */
  attribution: Tensor;
  /** The guided backprop gradient alone: [N, C, H, W]. */
  guided: Tensor;
  /** The Grad-CAM maps (raw [N, h, w] and upsampled [N, H, W]) from the same pass. */
  cam: CamResult;
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/**
 * Guided Grad-CAM (Selvaraju et al. 2017): guided backprop ⊙ the bilinearly upsampled Grad-CAM,
 * [N, C, H, W]. The forward pass is recorded once; `tape.grad` is called twice on it (vanilla rules
 * for ∂score/∂A, guided rules for the input gradient). With `reference: true`, the Grad-CAM is the
 * reference script's (ones start) min–max normalised to [0, 1] before the product, as it does.
 */
export function guidedGradCam(model: Module, x: Tensor, given: GradCamOptions = {}): GuidedGradCamResult {
  const method = 'guidedGradCam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const reference = options.reference ?? false;
  const pass = recordPass(method, model, x, options.target);
  let layer: CamLayer | null = null;
  try {
    layer = camLayer(method, model, pass.tape, options, pass.output);
    const a = layer.a;
    const [ga] = passGrad(pass, [layer.raw]);
    const [guided] = passGrad(pass, [x], guidedRules);
    let cam: CamResult;
    let attribution: Tensor;
    try {
      cam = buildCam(
        method,
        a,
        layer.grid(ga!),
        gradCamCombine(reference),
        options.relu ?? true,
        x.shape,
        pass.target,
        pass.scores,
        warnings,
      );
      attribution = tidy(() => {
        const [n, , hh, ww] = x.shape as [number, number, number, number];
        const weight = reference ? normalizeMaps(cam.upsampled) : cam.upsampled;
        return mul(guided!, reshape(weight, [n, 1, hh, ww]));
      });
    } catch (e) {
      guided!.dispose();
      throw e;
    } finally {
      ga!.dispose();
    }
    checkConstant(attribution, pass.target, warnings, 'the Grad-CAM or the guided gradient is zero everywhere');
    return { attribution, guided: guided!, cam, classes: cam.classes, scores: cam.scores, warnings: warnings.list };
  } finally {
    layer?.dispose();
    disposePass(pass);
  }
}
