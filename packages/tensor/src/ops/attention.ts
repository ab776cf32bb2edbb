import { fmt, opError } from '../errors';
import { broadcastShapes } from '../shape';
import { Tensor } from '../tensor';
import { add, mul, requireFloat, where } from './elementwise';
import { matmul } from './linalg';
import { softmax } from './reduce';
import { composite } from './run';
import { transpose } from './shape-ops';

export interface AttentionOptions {
  /**
   * Broadcastable to [..., L, S]: a bool mask keeps the positions where it is true (the others get
   * −∞ before the softmax); a float mask is added to the scores.
   */
  mask?: Tensor | null;
  /** Multiplies q·kᵀ; 1/√E by default. */
  scale?: number;
}

/**
 * softmax(q·kᵀ·scale + mask)·v, as F.scaled_dot_product_attention (without dropout): q [..., L, E],
 * k [..., S, E], v [..., S, Ev] → [..., L, Ev]. Composed of matmul and softmax, so the attention
 * probabilities are the softmax node on the tape, under the module path that called this.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const op = 'scaledDotProductAttention';
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (!(t instanceof Tensor)) throw opError(op, `${name} must be a Tensor, got ${typeof t}`);
    requireFloat(op, t, name);
    if (t.rank < 2) throw opError(op, `${name} must be [..., tokens, features], got ${fmt(t.shape)}`);
  }
  if (k.dtype !== q.dtype || v.dtype !== q.dtype)
    throw opError(op, `q, k and v must share a dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  const e = q.shape[q.rank - 1]!;
  if (k.shape[k.rank - 1] !== e) throw opError(op, `q ${fmt(q.shape)} and k ${fmt(k.shape)} must have the same feature size`);
  if (v.shape[v.rank - 2] !== k.shape[k.rank - 2])
    throw opError(op, `k ${fmt(k.shape)} and v ${fmt(v.shape)} must have the same number of tokens`);
  const batch = broadcastShapes(op, broadcastShapes(op, q.shape.slice(0, -2), k.shape.slice(0, -2)), v.shape.slice(0, -2));
  const scoreShape = [...batch, q.shape[q.rank - 2]!, k.shape[k.rank - 2]!];
  const scale = options.scale ?? 1 / Math.sqrt(e);
  if (!Number.isFinite(scale)) throw opError(op, `scale must be a finite number, got ${scale}`);
  const mask = options.mask;
  if (mask) {
    if (!(mask instanceof Tensor)) throw opError(op, `mask must be a Tensor, got ${typeof mask}`);
    let fits = true;
    try {
      fits =
        broadcastShapes(op, mask.shape, scoreShape).length === scoreShape.length &&
        broadcastShapes(op, mask.shape, scoreShape).every((d, i) => d === scoreShape[i]);
    } catch {
      fits = false;
    }
    if (!fits) throw opError(op, `mask ${fmt(mask.shape)} does not broadcast to the scores ${fmt(scoreShape)}`);
    if (mask.dtype !== 'bool' && mask.dtype !== q.dtype) throw opError(op, `mask must be bool or ${q.dtype} like q, got ${mask.dtype}`);
  }
  return composite(() => {
    let scores = mul(matmul(q, transpose(k, -2, -1)), scale);
    if (mask) scores = mask.dtype === 'bool' ? where(mask, scores, -Infinity) : add(scores, mask);
    return matmul(softmax(scores, -1), v);
  });
}
