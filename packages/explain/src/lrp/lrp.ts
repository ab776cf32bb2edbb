import { withMode } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { keep, mul, tidy } from '@gradlens/tensor';
import type { BaseOptions } from '../common';
import { checkInput, disposePass, layerActivation, recordPass, requireOnPath, Warnings } from '../common';
import type { LrpComposite } from './composite';
import { lrpPresets, lrpRules } from './composite';
import { additiveEpsilon, gateOutputs, relevancePerItem, signedEpsilon } from './rules';

export interface LrpOptions extends BaseOptions {
  /** Rules per layer, or a preset name (default 'epsilon'). */
  composite?: LrpComposite | keyof typeof lrpPresets;
  /** Stop at this module's output instead of the pixels (relevance of that layer's activations). */
  layer?: string;
  /**
   * Behave as the reference script (pytorch-cnn-visualizations' LRP.py) does: ε = 1e-9 added
   * (not ε·sign z) on every layer, the model in training mode (dropout active), and relevance
   * returned at the first layer's output rather than at the pixels.
   */
  reference?: boolean;
}

export interface LrpResult {
  /** Relevance, the shape of the input (or of the chosen layer's output). */
  relevance: Tensor;
  /** Per item: the relevance put in at the output (the target logit). */
  outputRelevance: number[];
  /** Per item: the relevance that arrived at the input (or layer). */
  inputRelevance: number[];
  /** Per item: inputRelevance / outputRelevance (1 when relevance is conserved). */
  conservation: number[];
}

/**
 * Layer-wise relevance propagation on one recorded forward pass: the tape is walked with LRP rules
 * swapped in for the gradient rules, starting from the target's score, down to the pixels.
 */
export function lrp(model: Module, input: Tensor, options: LrpOptions): LrpResult {
  checkInput('lrp', input, true);
  const reference = options.reference ?? false;
  const composite: LrpComposite = reference
    ? { conv2d: { rule: 'epsilon', epsilon: 1e-9 }, linear: { rule: 'epsilon', epsilon: 1e-9 } }
    : typeof options.composite === 'string' || options.composite === undefined
      ? lrpPresets[options.composite ?? 'epsilon']
      : options.composite;
  if (!reference && model.namedModules().some(([, m]) => m.training)) {
    new Warnings('lrp', options.onWarning).warn(
      'the model is in training mode; LRP runs it in eval mode and puts the modes back afterwards',
    );
  }
  return withMode(model, reference ? 'train' : 'eval', () => {
    const pass = recordPass('lrp', model, input, options.target);
    try {
      return tidy(() => {
        // The relevance put in at the top is the target's score itself (logit · one-hot).
        const seeds = pass.seedOutputs.map((o, i) => mul(o, pass.gradOutputs[i]!));
        const firstLayer = pass.tape.nodes.find((node) => node.op === 'conv2d' || node.op === 'linear');
        const layer = options.layer ?? (reference && firstLayer ? firstLayer.scope : undefined);
        const wrt = layer ? layerActivation('lrp', model, pass.tape, layer) : input;
        if (layer) requireOnPath('lrp', pass.tape, wrt, pass.output, layer);
        const stabilise = reference ? additiveEpsilon : signedEpsilon;
        // Attention probabilities (softmax outputs) are what the AH-rule holds constant.
        const probabilities = new Set(pass.tape.nodes.filter((n) => n.op === 'softmax').map((n) => n.output));
        const [relevance] = pass.tape.grad(pass.seedOutputs, [wrt], {
          rules: lrpRules(composite, input, stabilise, probabilities, gateOutputs(pass.tape.nodes)),
          gradOutputs: seeds,
        });
        const outputRelevance = seeds.map(relevancePerItem).reduce((a, b) => a.map((v, i) => v + b[i]!));
        const inputRelevance = relevancePerItem(relevance!);
        return {
          relevance: keep(relevance!),
          outputRelevance,
          inputRelevance,
          // Nothing put in and nothing arrived (a zero logit) is conserved, not 0/0.
          conservation: inputRelevance.map((r, i) => (r === 0 && outputRelevance[i] === 0 ? 1 : r / outputRelevance[i]!)),
        };
      });
    } finally {
      disposePass(pass);
    }
  });
}
