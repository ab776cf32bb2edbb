import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';

/** How a graph lays out the picture it takes: 1 (grayscale) or 3 (RGB) channels, first (NCHW) or last (NHWC). */
export interface PictureLayout {
  channels: 1 | 3;
  channelsLast: boolean;
}

const isChannels = (d: number | string | undefined): d is 1 | 3 => d === 1 || d === 3;

/**
 * The picture layout of a declared rank-4 input, or null when it is not a picture of 1 or 3 channels: NCHW when
 * dim 1 is 1 or 3, else NHWC when dim 3 is (tf2onnx's Keras exports: [N, 224, 224, 3]); a dynamic dim 1 with dim 3
 * neither is taken for NCHW RGB (PyTorch exports with every dim dynamic).
 */
export function pictureLayout(declared: readonly (number | string)[]): PictureLayout | null {
  if (declared.length !== 4) return null;
  const first = declared[1],
    last = declared[3];
  if (isChannels(first)) return { channels: first, channelsLast: false };
  if (isChannels(last)) return { channels: last, channelsLast: true };
  return typeof first === 'string' ? { channels: 3, channelsLast: false } : null;
}

/** The graph-layout shape's picture shape [N, 3, H, W] (what the model's `call` takes). */
export function pictureShape(graphShape: readonly number[], layout: PictureLayout): number[] {
  const [n, a, b, c] = graphShape as [number, number, number, number];
  return layout.channelsLast ? [n, 3, a, b] : [n, 3, b, c];
}

/**
 * ITU-R 601-2 luma weights, as PIL's convert('L'): a grayscale graph sees the picture PIL would give it. They sum to
 * 1, so a picture normalised with one mean and std on all three channels gives the luma normalised with them.
 */
export const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;

/** An RGB picture batch [N, 3, H, W] as the graph takes it (its luma for one channel, transposed for channels last); on the tape. */
export function toGraphLayout(x: Tensor, layout: PictureLayout): Tensor {
  if (x.rank !== 4 || x.shape[1] !== 3)
    throw new Error(`the model takes RGB pictures [N, 3, H, W] (its graph's input is adapted to them), got [${x.shape.join(', ')}]`);
  const gray = layout.channels === 1 ? t.sum(t.mul(x, t.tensor([...LUMA_WEIGHTS], [1, 3, 1, 1], x.dtype)), { dim: 1, keepdim: true }) : x;
  return layout.channelsLast ? t.permute(gray, [0, 2, 3, 1]) : gray;
}
