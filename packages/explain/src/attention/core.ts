import { tensor } from '@gradlens/tensor';
import type { Tape, TapeNode, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ResolvedTarget, Warnings } from '../common';
import { checkConstant, upsampleMaps, valuesOf } from '../common';
import { hasTokenGrid } from '../token-maps';

/** Options of the methods that read attention probabilities. */
export interface AttentionMethodOptions extends BaseOptions {
  /** How the patch tokens lie on the image, [h, w] (default: the model's `tokenGrid`). */
  grid?: [number, number];
  /** Tokens before the patches (default 1: the class token, whose row the map is read from). */
  prefixTokens?: number;
}

/** What an attention-based method returns; the caller owns the tensors. */
export interface AttentionMapResult {
  /** The class token's row over the patch tokens, on the patch grid: [N, h, w]. */
  map: Tensor;
  /** `map` upsampled bilinearly (align_corners = false) to the input size: [N, H, W]. */
  upsampled: Tensor;
  /** Module paths of the attention layers read, in forward order. */
  layers: string[];
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/** One attention layer on the tape: its module path and its probabilities [N, heads, T, T] (or [N, T, T]). */
export interface AttentionLayer {
  scope: string;
  probs: Tensor;
}

/**
 * The attention probabilities of a recorded pass, in forward order: every softmax over the last dim
 * of a [..., T, T] tensor run inside a module (`encoder.layers.encoder_layer_3.self_attention`).
 */
export function attentionLayers(method: string, model: Module, tape: Tape): AttentionLayer[] {
  const found = tape.nodes
    .filter((n): n is TapeNode<'softmax'> => n.op === 'softmax' && n.scope !== '' && n.output.rank >= 3 && n.output.rank <= 4)
    .filter((n) => n.output.shape[n.output.rank - 1] === n.output.shape[n.output.rank - 2] && n.attrs.dim === n.output.rank - 1)
    .map((n) => ({ scope: n.scope, probs: n.output }));
  if (found.length === 0) {
    // Windowed attention (Swin: softmax over [N, windows, heads, T, T]) has no token that attends to the whole image.
    const windowed = tape.nodes.some((n) => n.op === 'softmax' && n.scope !== '' && n.output.rank === 5);
    if (windowed)
      throw new Error(
        `${method}: ${model.constructor.name}'s attention is windowed (softmax over [N, windows, heads, T, T]): no class token attends over the whole image; this method needs a vision transformer with a class token, such as vit_b_16`,
      );
    throw new Error(
      `${method}: ${model.constructor.name} recorded no attention probabilities (a softmax over [N, heads, tokens, tokens] inside a module); this method needs a transformer with self-attention, such as vit_b_16`,
    );
  }
  return found;
}

/** The patch grid and the number of leading tokens, checked against the token count T. */
export function tokenLayout(
  method: string,
  model: Module,
  tokens: number,
  options: AttentionMethodOptions,
): { grid: [number, number]; prefix: number } {
  const grid = options.grid ?? (hasTokenGrid(model) ? ([model.tokenGrid[0], model.tokenGrid[1]] as [number, number]) : null);
  if (!grid)
    throw new Error(
      `${method}: ${model.constructor.name} has no tokenGrid; pass { grid: [h, w] } saying how the patch tokens lie on the image`,
    );
  const prefix = options.prefixTokens ?? 1;
  if (!Number.isInteger(prefix) || prefix < 1)
    throw new Error(`${method}: prefixTokens must be a positive integer (the map is the first token's row), got ${prefix}`);
  if (tokens !== prefix + grid[0] * grid[1]) {
    throw new Error(
      `${method}: ${tokens} tokens do not fit ${prefix} class token${prefix > 1 ? 's' : ''} + a ${grid[0]}×${grid[1]} grid (${prefix + grid[0] * grid[1]} tokens)`,
    );
  }
  return { grid, prefix };
}

/** Per item, the T×T matrix of each head: [N][heads] of Float64Array(T·T). */
export function headMatrices(t: Tensor): Float64Array[][] {
  const v = valuesOf(t);
  const n = t.shape[0]!;
  const tt = t.shape[t.rank - 1]! * t.shape[t.rank - 1]!;
  const heads = t.rank === 4 ? t.shape[1]! : 1;
  const out: Float64Array[][] = [];
  for (let i = 0; i < n; i++) {
    const item: Float64Array[] = [];
    for (let h = 0; h < heads; h++) item.push(v.subarray((i * heads + h) * tt, (i * heads + h + 1) * tt));
    out.push(item);
  }
  return out;
}

/** The T×T identity. */
export function identity(t: number): Float64Array {
  const m = new Float64Array(t * t);
  for (let i = 0; i < t; i++) m[i * t + i] = 1;
  return m;
}

/** a·b for T×T matrices (row-major). */
export function matmulSquare(a: Float64Array, b: Float64Array, t: number): Float64Array {
  const out = new Float64Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let k = 0; k < t; k++) {
      const aik = a[i * t + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < t; j++) out[i * t + j] = out[i * t + j]! + aik * b[k * t + j]!;
    }
  }
  return out;
}

/** Mean over heads of max(0, a ⊙ b) (the head fusion of Chefer et al.'s methods). */
export function positiveProductMean(a: Float64Array[], b: Float64Array[]): Float64Array {
  const out = new Float64Array(a[0]!.length);
  for (let h = 0; h < a.length; h++) {
    const ah = a[h]!,
      bh = b[h]!;
    for (let j = 0; j < out.length; j++) out[j] = out[j]! + Math.max(0, ah[j]! * bh[j]!);
  }
  for (let j = 0; j < out.length; j++) out[j] = out[j]! / a.length;
  return out;
}

/** What every attention method's result is made of, beside the class-token rows of its final matrices. */
export interface AttentionResultParts {
  method: string;
  layout: { grid: [number, number]; prefix: number };
  /** The explained input (its shape sizes the upsampled maps; float64 input gives float64 maps). */
  x: Tensor;
  layers: AttentionLayer[];
  target: ResolvedTarget;
  scores: readonly number[];
  warnings: Warnings;
}

/** The maps from each item's final T×T matrix: row 0 over the patch tokens, on the grid, plus the upsampled maps. */
export function attentionResult(finals: Float64Array[], parts: AttentionResultParts): AttentionMapResult {
  const { method, layout, x, layers, target, scores, warnings } = parts;
  const dtype = x.dtype === 'float64' ? 'float64' : 'float32';
  const inputShape = x.shape;
  const [h, w] = layout.grid;
  const hw = h * w;
  const maps = new Float64Array(finals.length * hw);
  finals.forEach((m, i) => {
    for (let j = 0; j < hw; j++) maps[i * hw + j] = m[layout.prefix + j]!; // row 0 (the class token), patch columns
  });
  const map = tensor(dtype === 'float64' ? maps : Float32Array.from(maps), [finals.length, h, w], dtype);
  checkConstant(map, target, warnings, `the class token's ${method} row is constant over the patches`);
  return {
    map,
    upsampled: upsampleMaps(map, inputShape[2]!, inputShape[3]!),
    layers: layers.map((l) => l.scope),
    classes: target.classes ? [...target.classes] : null,
    scores: [...scores],
    warnings: warnings.list,
  };
}
