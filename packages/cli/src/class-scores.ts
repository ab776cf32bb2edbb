import { noGrad, tidy } from '@gradlens/tensor';
import type { MethodContext } from './methods';

/**
 * `applies` of the methods that read class scores [N, K] themselves (CAM's linear head, Finer-CAM's similar
 * classes): why they cannot run on a model whose output is a map (a segmentation model), or null.
 */
export function needsClassScores(c: MethodContext): string | null {
  let shape: number[] = [];
  noGrad(() => tidy(() => void (shape = [...c.model.call(c.input).shape])));
  return shape.length === 2
    ? null
    : `it needs class scores [N, K]; this model's output is [${shape.join(', ')}] (${shape.length === 3 ? "a YOLO model's boxes and scores per anchor" : "a map, as a segmentation model's"})`;
}
