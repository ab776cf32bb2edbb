import { record } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkEval, checkInput, Warnings } from '../common';
import type { AttentionMapResult, AttentionMethodOptions } from './core';
import { attentionLayers, attentionResult, headMatrices, identity, matmulSquare, tokenLayout } from './core';

export interface AttentionRolloutOptions extends Omit<AttentionMethodOptions, 'target'> {
  /** How the heads of a layer become one matrix (default 'mean', the paper's). */
  headFusion?: 'mean' | 'max' | 'min';
  /**
   * Fraction of each fused matrix's smallest entries set to 0 before the identity is added, never
   * the class token's own entry (from the authors of vit-explain, not the paper; default 0).
   */
  discardRatio?: number;
}

/** Fuses the heads of one layer elementwise. */
function fuse(heads: Float64Array[], how: 'mean' | 'max' | 'min'): Float64Array {
  const out = Float64Array.from(heads[0]!);
  for (let h = 1; h < heads.length; h++) {
    const m = heads[h]!;
    for (let j = 0; j < out.length; j++)
      out[j] = how === 'max' ? Math.max(out[j]!, m[j]!) : how === 'min' ? Math.min(out[j]!, m[j]!) : out[j]! + m[j]!;
  }
  if (how === 'mean') for (let j = 0; j < out.length; j++) out[j] = out[j]! / heads.length;
  return out;
}

/** Zeroes the ⌊ratio·T²⌋ smallest entries (ties by position), sparing entry 0 (class token to itself). */
function discard(m: Float64Array, ratio: number): void {
  const k = Math.floor(m.length * ratio);
  if (k === 0) return;
  const order = [...m.keys()].sort((a, b) => m[a]! - m[b]! || a - b);
  for (let j = 0; j < k; j++) if (order[j] !== 0) m[order[j]!] = 0;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): per layer, the heads fused (mean by default), the
 * residual modelled as 0.5·A + 0.5·I with rows renormalised to sum to 1, and the layers multiplied
 * from the first up: R = Â_L ⋯ Â_1. The map is the class token's row over the patches, [N, h, w]
 * and [N, H, W]; class-agnostic.
 */
export function attentionRollout(model: Module, x: Tensor, options: AttentionRolloutOptions = {}): AttentionMapResult {
  const method = 'attentionRollout';
  checkInput(method, x);
  const how = options.headFusion ?? 'mean';
  if (how !== 'mean' && how !== 'max' && how !== 'min')
    throw new Error(`${method}: headFusion must be 'mean', 'max' or 'min', got ${JSON.stringify(how)}`);
  const ratio = options.discardRatio ?? 0;
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`${method}: discardRatio must be in [0, 1), got ${ratio}`);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const { output, tape } = record(() => model.call(x));
  try {
    const layers = attentionLayers(method, model, tape);
    const t = layers[0]!.probs.shape[layers[0]!.probs.rank - 1]!;
    const layout = tokenLayout(method, model, t, options);
    const perLayer = layers.map((l) => headMatrices(l.probs));
    const finals = perLayer[0]!.map((_, i) => {
      let joint = identity(t);
      for (const layer of perLayer) {
        const a = fuse(layer[i]!, how);
        discard(a, ratio);
        for (let r = 0; r < t; r++) {
          let s = 0;
          for (let c = 0; c < t; c++) {
            const v = 0.5 * a[r * t + c]! + (r === c ? 0.5 : 0);
            a[r * t + c] = v;
            s += v;
          }
          for (let c = 0; c < t; c++) a[r * t + c] = a[r * t + c]! / s;
        }
        joint = matmulSquare(a, joint, t);
      }
      return joint;
    });
    return attentionResult(finals, { method, layout, x, layers, target: { classes: null, fn: null }, scores: [], warnings });
  } finally {
    tape.dispose();
    output.dispose();
  }
}
