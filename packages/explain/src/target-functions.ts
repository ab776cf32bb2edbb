import { indexSelect, mul, noGrad, reshape, sum, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { TargetFn } from './targets';

/**
 * Multi-label target: the sum of the logits of `classes` for every item (the CLI's `--target 3,17`).
 * Checks the classes against the output's width when it is called.
 */
export function classSumTarget(classes: readonly number[]): TargetFn {
  if (classes.length === 0 || classes.some((c) => !Number.isInteger(c) || c < 0))
    throw new Error(`classSumTarget: classes must be a non-empty list of integers ≥ 0, got [${classes.join(', ')}]`);
  return (output) => {
    if (output.rank !== 2) throw new Error(`classSumTarget: needs a model output [N, K], got [${output.shape.join(', ')}]`);
    const k = output.shape[1]!;
    const bad = classes.find((c) => c >= k);
    if (bad !== undefined) throw new Error(`classSumTarget: class ${bad} is out of range: the model has ${k} outputs (0…${k - 1})`);
    return sum(indexSelect(output, 1, [...classes]), { dim: 1 });
  };
}

/**
 * Segmentation target (pytorch-grad-cam's SemanticSegmentationTarget): for a model whose output is
 * a map [N, K, H, W], the sum of class `cls`'s logits over the pixels where `mask` [H, W] (any
 * values, 0 = outside; given as numbers row by row or a tensor) is non-zero, weighted by the mask.
 */
export function segmentationTarget(mask: ArrayLike<number> | Tensor, cls: number, maskShape?: readonly [number, number]): TargetFn {
  const values =
    'dataSync' in mask && typeof mask.dataSync === 'function'
      ? Float32Array.from((mask as Tensor).dataSync())
      : Float32Array.from(mask as ArrayLike<number>);
  const shape = maskShape ?? ('shape' in mask ? ((mask as Tensor).shape.slice(-2) as unknown as [number, number]) : null);
  if (!Number.isInteger(cls) || cls < 0) throw new Error(`segmentationTarget: class must be an integer ≥ 0, got ${cls}`);
  return (output) => {
    if (output.rank !== 4) throw new Error(`segmentationTarget: needs a model output map [N, K, H, W], got [${output.shape.join(', ')}]`);
    const [n, k, h, w] = output.shape as [number, number, number, number];
    if (cls >= k) throw new Error(`segmentationTarget: class ${cls} is out of range: the model has ${k} output channels (0…${k - 1})`);
    if (values.length !== h * w || (shape && (shape[0] !== h || shape[1] !== w))) {
      throw new Error(
        `segmentationTarget: the mask is ${shape ? `${shape[0]}×${shape[1]}` : `${values.length} values`} but the model's output map is ${h}×${w}; give a mask of the output's size`,
      );
    }
    return tidy(() => {
      const plane = reshape(indexSelect(output, 1, [cls]), [n, h * w]);
      return sum(mul(plane, tensor(values, [1, h * w], output.dtype)), { dim: 1 });
    });
  };
}

/** The k highest-scoring classes of each item, best first ([N][k]), from one forward pass without recording. */
export function topClasses(model: Module, x: Tensor, k: number): number[][] {
  return noGrad(() =>
    tidy(() => {
      const out = model.call(x);
      if (out.rank !== 2) throw new Error(`topClasses: needs a model output [N, K], got [${out.shape.join(', ')}]`);
      const [n, width] = out.shape as [number, number];
      if (!Number.isInteger(k) || k < 1 || k > width) throw new Error(`topClasses: k must be an integer in 1…${width}, got ${k}`);
      const v = out.dataSync();
      return Array.from({ length: n }, (_, i) =>
        Array.from({ length: width }, (_, j) => j)
          .sort((a, b) => Number(v[i * width + b]) - Number(v[i * width + a]) || a - b)
          .slice(0, k),
      );
    }),
  );
}
