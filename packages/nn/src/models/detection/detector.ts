import type { Tensor } from '@gradlens/tensor';
import { indexSelect, reshape, slice, tensor, tidy } from '@gradlens/tensor';
import { Module, releasingIntermediates } from '../../module';
import { FrozenBatchNorm2d } from '../../layers/frozen-batchnorm';
import type { RawDetections } from './roi-heads';
import type { GeneralizedRCNNTransform } from './transform';

/** One image's detections, as torchvision's result dict. */
export interface Detection {
  /** [K, 4] x1, y1, x2, y2 in the original image's pixels (values; no gradient). */
  boxes: Tensor;
  /** The class of each box (1 … classes − 1; 0 is the background). */
  labels: number[];
  /**
   * [K] the softmax score of each box's class, best first: differentiable, back through the box head and the
   * RoIAlign of the (detached) proposals to the features and the input image, as in torchvision.
   */
  scores: Tensor;
}

/**
 * What torchvision's detectors share in eval mode (GeneralizedRCNN, RetinaNet): `transform` before, boxes mapped
 * back after, and per image {boxes, labels, scores}. `call`/`forward` are not used: a detector returns a list of
 * detections, not one tensor.
 */
export abstract class Detector extends Module {
  constructor(
    readonly name: string,
    readonly transform: GeneralizedRCNNTransform,
  ) {
    super();
  }

  /** The flat differentiable scores and each image's detections in the resized images, from the padded batch. */
  protected abstract detectBatch(batch: Tensor, imageSizes: [number, number][]): { scores: Tensor; detections: RawDetections[] };

  /**
   * Detections per image, from images [3, H, W] (one, a list, or a batch [N, 3, H, W]) with values in [0, 1], each
   * of any size: normalised, resized, padded, detected, and the boxes mapped back to each image's size.
   */
  detect(images: Tensor | readonly Tensor[]): Detection[] {
    if (this.training) throw new Error(`${this.name}: detection runs in eval mode only (training needs targets); call model.eval()`);
    // without a tape, each container frees its children's outputs once consumed (releasingIntermediates)
    return releasingIntermediates(() =>
      tidy(() => {
        const list = Array.isArray(images) ? (images as readonly Tensor[]) : this.unbatch(images as Tensor);
        const { batch, imageSizes, originalSizes } = this.transform.prepare(this.name, list);
        const { scores, detections } = this.detectBatch(batch, imageSizes);
        return detections.map((d, i) => ({
          boxes: tensor(this.transform.mapBack(d.boxes, imageSizes[i]!, originalSizes[i]!), [d.labels.length, 4]),
          labels: d.labels,
          scores: indexSelect(scores, 0, d.scoreIndex),
        }));
      }),
    );
  }

  /** The score of detection `k` of image `image` as a scalar tensor, differentiable in the images. */
  detectionScore(images: Tensor | readonly Tensor[], k: number, image = 0): Tensor {
    return tidy(() => {
      const dets = this.detect(images);
      const d = dets[image];
      if (!d) throw new Error(`${this.name}: no image ${image} among ${dets.length}`);
      if (!Number.isInteger(k) || k < 0 || k >= d.labels.length)
        throw new Error(`${this.name}: detection ${k} of image ${image} does not exist (it has ${d.labels.length})`);
      return reshape(indexSelect(d.scores, 0, [k]), []);
    });
  }

  private unbatch(x: Tensor): Tensor[] {
    if (x.rank === 3) return [x];
    if (x.rank !== 4 || x.shape[1] !== 3)
      throw new Error(
        `${this.name}: input must be an image [3, H, W], a batch [N, 3, H, W] or a list of images, got [${x.shape.join(', ')}]`,
      );
    return Array.from({ length: x.shape[0]! }, (_, i) => reshape(slice(x, 0, i, i + 1), x.shape.slice(1)));
  }

  /**
   * A frozen batch norm's batch counter (`….num_batches_tracked`) is passed over when loading: torchvision builds an
   * untrained detector (weights=None, no backbone weights) with plain BatchNorm2d, whose eval arithmetic is the
   * frozen one's, and such files carry the counter.
   */
  override ignoresCheckpointKey(key: string): boolean {
    if (!key.endsWith('.num_batches_tracked')) return false;
    this.frozenCounters ??= new Set(
      this.namedModules()
        .filter(([, m]) => m instanceof FrozenBatchNorm2d)
        .map(([p]) => `${p}.num_batches_tracked`),
    );
    return this.frozenCounters.has(key);
  }

  private frozenCounters: Set<string> | undefined;

  override forward(): Tensor {
    throw new Error(`${this.name}: a detector returns a list of detections; use detect(images) or detectionScore(images, k)`);
  }
}
