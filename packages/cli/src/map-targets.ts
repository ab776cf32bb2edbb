/**
 * Targets for a model whose output is a map [N, K, H, W] (semantic segmentation) when no mask is given:
 * pytorch-grad-cam's tutorial target, a class's logits summed over the pixels predicted as that class
 * (SemanticSegmentationTarget with the mask `argmax == class`). Class 0 is taken as the background, as in VOC.
 */
import { segmentationTarget } from '@gradlens/explain';
import { CliError } from './args';
import type { ModelOutput } from './model-output';
import type { ClassRef, ResolvedTarget, TargetRequest } from './target-types';

/** Per-pixel predicted class of item 0 (the first largest logit, as torch.argmax) and each class's pixel count. */
export function predictedClasses(out: ModelOutput): { pred: Int32Array; counts: number[] } {
  const [, k, h, w] = out.shape as [number, number, number, number];
  const hw = h * w;
  const pred = new Int32Array(hw);
  const counts = new Array<number>(k).fill(0);
  for (let p = 0; p < hw; p++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (out.values[c * hw + p]! > out.values[best * hw + p]!) best = c;
    pred[p] = best;
    counts[best]!++;
  }
  return { pred, counts };
}

/** The classes other than background (0) predicted somewhere, most pixels first (the lower index on ties). */
function foregroundByPixels(counts: readonly number[]): number[] {
  return counts
    .map((n, c) => [c, n] as const)
    .filter(([c, n]) => c > 0 && n > 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([c]) => c);
}

/**
 * The explanations a request asks for on a map output: `top1` (the default) the class predicted on most pixels apart
 * from background (background itself when nothing else is predicted), `topk:K` the K such classes, one class its own
 * pixels. Several classes summed need class scores, so they are refused; so is a class no pixel is predicted as.
 */
export function resolveMapTargets(
  req: Exclude<TargetRequest, { kind: 'segmentation' }>,
  out: ModelOutput,
  label: (c: number) => string,
  classIndex: (ref: ClassRef, k: number, option: string) => number,
): ResolvedTarget[] {
  const [, k, h, w] = out.shape as [number, number, number, number];
  const { pred, counts } = predictedClasses(out);
  const target = (c: number, why: string, suffix = ''): ResolvedTarget => {
    const mask = new Float32Array(pred.length);
    for (let p = 0; p < pred.length; p++) if (pred[p] === c) mask[p] = 1;
    return {
      target: undefined,
      fn: segmentationTarget(mask, c, [h, w]),
      mapClass: c,
      describe: `class ${label(c)} summed over the ${counts[c]} of ${h * w} pixels predicted as it${why}`,
      suffix,
    };
  };
  const fg = foregroundByPixels(counts);
  if (req.kind === 'top1') {
    if (fg.length === 0) return [target(0, ' (no pixel is predicted as a class other than background 0)')];
    return [target(fg[0]!, ' (the class predicted on most pixels)')];
  }
  if (req.kind === 'topk') {
    if (req.k > fg.length)
      throw new CliError(
        `--target topk:${req.k}: only ${fg.length} ${fg.length === 1 ? 'class' : 'classes'} other than background (0) ${fg.length === 1 ? 'is' : 'are'} predicted on this picture${fg.length ? ` (${fg.map(label).join(', ')})` : ''}`,
        2,
      );
    return fg.slice(0, req.k).map((c, i) => target(c, ` (top ${i + 1} of ${req.k} by pixels)`, `_class${c}`));
  }
  if (req.classes.length > 1)
    throw new CliError(
      `--target ${req.classes.join(',')}: a sum of classes needs class scores [N, K]; this model's output is a map [N, ${k}, ${h}, ${w}]: give one class`,
      2,
    );
  const c = classIndex(req.classes[0]!, k, '--target');
  if (counts[c] === 0)
    throw new CliError(
      `--target ${label(c)}: no pixel of this picture is predicted as that class; give --target-mask mask.png --target-class ${c} to choose the pixels`,
      2,
    );
  return [target(c, '')];
}
