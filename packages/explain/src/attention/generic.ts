import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkEval, checkInput, disposePass, passGrad, recordPass, Warnings } from '../common';
import type { AttentionMapResult, AttentionMethodOptions } from './core';
import { attentionLayers, attentionResult, headMatrices, identity, matmulSquare, positiveProductMean, tokenLayout } from './core';

/**
 * Generic attention explainability (Chefer, Gur & Wolf 2021, ICCV) for self-attention: starting from
 * R = I, each layer in forward order adds Ā·R with Ā = mean over heads of max(0, ∇A ⊙ A), ∇A the
 * gradient of the target's score with respect to the attention probabilities A. The map is the class
 * token's row of R over the patches, [N, h, w] and [N, H, W].
 */
export function genericAttention(model: Module, x: Tensor, options: AttentionMethodOptions = {}): AttentionMapResult {
  const method = 'genericAttention';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const pass = recordPass(method, model, x, options.target);
  try {
    const layers = attentionLayers(method, model, pass.tape);
    const t = layers[0]!.probs.shape[layers[0]!.probs.rank - 1]!;
    const layout = tokenLayout(method, model, t, options);
    const grads = passGrad(
      pass,
      layers.map((l) => l.probs),
    );
    try {
      const probs = layers.map((l) => headMatrices(l.probs));
      const gs = grads.map(headMatrices);
      const finals = probs[0]!.map((_, i) => {
        const r = identity(t);
        probs.forEach((layer, l) => {
          const abar = positiveProductMean(gs[l]![i]!, layer[i]!);
          const update = matmulSquare(abar, r, t);
          for (let j = 0; j < r.length; j++) r[j] = r[j]! + update[j]!;
        });
        return r;
      });
      return attentionResult(finals, { method, layout, x, layers, target: pass.target, scores: pass.scores, warnings });
    } finally {
      grads.forEach((g) => g.dispose());
    }
  } finally {
    disposePass(pass);
  }
}
