import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { SlicOptions } from './slic';
import { slic } from './slic';

/** Which feature (group) each pixel belongs to: an array of H·W integers ≥ 0, or a tensor [H, W] / [1, H, W] / [1, 1, H, W] of them. */
export type FeatureMask = ArrayLike<number> | Tensor;

/** A checked feature mask: the group of each pixel (renumbered 0…G−1 in order of first appearance) and the pixels of each group. */
export interface ResolvedMask {
  group: Int32Array;
  members: number[][];
}

/** Square patches of `size` pixels (the last row and column of patches may be smaller): a default feature mask. */
export function patchMask(height: number, width: number, size: number): Int32Array {
  if (!Number.isInteger(size) || size < 1) throw new Error(`patchMask: patch size must be a positive integer, got ${size}`);
  const cols = Math.ceil(width / size);
  return Int32Array.from(
    { length: height * width },
    (_, p) => Math.floor(Math.floor(p / width) / size) * cols + Math.floor((p % width) / size),
  );
}

/** Checks a mask against an H×W input (size, integer ids) and groups its pixels. */
export function resolveMask(method: string, mask: FeatureMask, height: number, width: number): ResolvedMask {
  let values: ArrayLike<number>;
  if ('dataSync' in mask && typeof mask.dataSync === 'function') {
    const t = mask as Tensor;
    const spatial = t.shape.filter((d, i) => !(d === 1 && i < t.rank - 2));
    if (spatial.join() !== [height, width].join())
      throw new Error(
        `${method}: feature mask of shape [${t.shape.join(', ')}] does not match the input's ${height}×${width} pixels; give [${height}, ${width}]`,
      );
    values = t.dataSync();
  } else {
    values = mask as ArrayLike<number>;
    if (values.length !== height * width)
      throw new Error(
        `${method}: feature mask has ${values.length} values but the input has ${height}×${width} = ${height * width} pixels`,
      );
  }
  const ids = new Map<number, number>();
  const group = new Int32Array(height * width);
  const members: number[][] = [];
  for (let p = 0; p < group.length; p++) {
    const v = Number(values[p]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${method}: feature mask value ${v} at pixel ${p} is not an integer ≥ 0`);
    let g = ids.get(v);
    if (g === undefined) {
      g = members.length;
      ids.set(v, g);
      members.push([]);
    }
    group[p] = g;
    members[g]!.push(p);
  }
  return { group, members };
}

/**
 * The checked feature mask of item `i` of x [N, C, H, W]: `featureMask` when given (the same for every
 * item), else the SLIC superpixels of that item (`slic` options), as LIME and KernelSHAP default to.
 */
export function itemFeatureMask(
  method: string,
  x: Tensor,
  i: number,
  options: { featureMask?: FeatureMask; slic?: SlicOptions },
): ResolvedMask {
  const [, c, h, w] = x.shape as [number, number, number, number];
  if (options.featureMask) return resolveMask(method, options.featureMask, h, w);
  const per = c * h * w;
  const item = tensor(Float32Array.from(x.dataSync().subarray(i * per, (i + 1) * per)), [c, h, w]);
  try {
    return resolveMask(method, slic(item, options.slic), h, w);
  } finally {
    item.dispose();
  }
}
