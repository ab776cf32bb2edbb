import type { Tensor } from '@gradlens/tensor';
import { permute, reshape, slice } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';

/**
 * Maps a layer's activation (and, the same way, its gradient) to the [N, K, h, w] layout the CAM
 * family works on: for a vision transformer, [N, tokens, C] → [N, C, h, w] (pytorch-grad-cam's
 * `reshape_transform`).
 */
export type ReshapeTransform = (a: Tensor) => Tensor;

/** A model whose token layers lie on a grid (VisionTransformer): the CAM family reshapes their tokens automatically. */
export interface TokenGridModel {
  readonly tokenGrid: readonly [number, number];
}

/** True when `model` says how its patch tokens lie on the image (`tokenGrid`). */
export function hasTokenGrid(model: Module): model is Module & TokenGridModel {
  const grid = (model as Partial<TokenGridModel>).tokenGrid;
  return Array.isArray(grid) && grid.length === 2 && grid.every((d) => Number.isInteger(d) && d > 0);
}

/**
 * The reshape of a ViT's tokens: [N, prefix + h·w, C] → drop the `prefixTokens` leading tokens (the
 * class token) → [N, h, w, C] (patches row by row) → [N, C, h, w]. A token count that does not fit
 * is an error naming both.
 */
export function tokenReshape(grid: readonly [number, number], options: { prefixTokens?: number } = {}): ReshapeTransform {
  const [h, w] = grid;
  const prefix = options.prefixTokens ?? 1;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || !Number.isInteger(prefix) || prefix < 0) {
    throw new Error(
      `tokenReshape: grid must be two positive integers and prefixTokens a non-negative integer, got [${grid.join(', ')}] and ${prefix}`,
    );
  }
  return (a) => {
    if (a.rank !== 3) throw new Error(`tokenReshape: expected tokens [N, tokens, C], got [${a.shape.join(', ')}]`);
    const [n, t, c] = a.shape as [number, number, number];
    if (t !== prefix + h * w) {
      throw new Error(
        `tokenReshape: ${t} tokens do not fit ${prefix ? `${prefix} class token${prefix > 1 ? 's' : ''} + ` : ''}a ${h}×${w} grid (${prefix + h * w} tokens)`,
      );
    }
    return permute(reshape(slice(a, 1, prefix, t), [n, h, w, c]), [0, 3, 1, 2]);
  };
}

/** A model some of whose layers give channels-last [N, h, w, C] (SwinTransformer): the CAM family moves their channels to dim 1. */
export interface ChannelsLastModel {
  channelsLast(path: string): boolean;
}

/** True when `model` says which of its layers are channels-last (`channelsLast(path)`). */
export function hasChannelsLast(model: Module): model is Module & ChannelsLastModel {
  return typeof (model as Partial<ChannelsLastModel>).channelsLast === 'function';
}

/** [N, h, w, C] → [N, C, h, w]: the reshape of a channels-last layer (pytorch-grad-cam's for torchvision's Swin). */
export const channelsLastReshape: ReshapeTransform = (a) => {
  if (a.rank !== 4) throw new Error(`channelsLastReshape: expected [N, h, w, C], got [${a.shape.join(', ')}]`);
  return permute(a, [0, 3, 1, 2]);
};

/**
 * The reshape the CAM family uses for `model` at `layer` (of rank `rank`): the token grid's for token
 * layers of ViTs, channels to dim 1 for the channels-last layers of a Swin, none otherwise.
 */
export function defaultReshape(model: Module, rank: number, layer?: string): ReshapeTransform | null {
  if (rank === 3 && hasTokenGrid(model)) return tokenReshape(model.tokenGrid);
  if (rank === 4 && layer !== undefined && hasChannelsLast(model) && model.channelsLast(layer)) return channelsLastReshape;
  return null;
}
