import { indexSelect, mul, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamOptions } from './cam-core';
import type { CamMethod, CombinedCamResult } from './cam-multi-layer';
import { fixedTarget, meanScaled } from './cam-multi-layer';
import { checkInput, disposeResult, Warnings } from './common';
import { reluScale } from './maps';

/** The test-time augmentations of pytorch-grad-cam's aug_smooth: horizontal flip or not, times a multiplier. */
export const AUG_SMOOTH_MULTIPLIERS: readonly number[] = [0.9, 1, 1.1];

/** Reverses dim 3 (width) of [N, C, H, W] or dim 2 of [N, H, W]. */
function flipWidth(t: Tensor): Tensor {
  const d = t.rank - 1;
  const w = t.shape[d]!;
  return indexSelect(
    t,
    d,
    Array.from({ length: w }, (_, i) => w - 1 - i),
  );
}

/**
 * aug_smooth (pytorch-grad-cam): the CAM of 6 augmented copies — flipped horizontally or not, times
 * 0.9, 1 or 1.1 — each upsampled, ReLU'd and min–max scaled per item, flipped back, and averaged;
 * then scaled again. Smoother maps centred on the object. The target is resolved once on the clean input.
 */
export function augSmoothCam<O extends CamOptions>(camFn: CamMethod<O>, model: Module, x: Tensor, options: O): CombinedCamResult {
  const method = 'augSmoothCam';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  const { target, classes, scores } = fixedTarget(method, model, x, options.target);
  const augs = [false, true].flatMap((flip) => AUG_SMOOTH_MULTIPLIERS.map((m) => ({ flip, m })));
  const scaled: Tensor[] = [];
  try {
    for (const { flip, m } of augs) {
      const xa = tidy(() => mul(flip ? flipWidth(x) : x, m));
      try {
        const r = camFn(model, xa, { ...options, target, onWarning: (msg: string) => warnings.warn(msg) });
        try {
          scaled.push(tidy(() => reluScale(flip ? flipWidth(r.upsampled) : r.upsampled)));
        } finally {
          disposeResult(r);
        }
      } finally {
        xa.dispose();
      }
    }
    return { map: meanScaled(scaled), classes, scores, warnings: warnings.list };
  } finally {
    scaled.forEach((t) => t.dispose());
  }
}
