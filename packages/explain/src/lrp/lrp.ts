import { Module } from '@gradlens/nn';
import { Tensor, argmax, cast, eq, mul, record, reshape, arange, tidy, keep } from '@gradlens/tensor';
import { LrpComposite, lrpPresets, lrpRules } from './composite';
import { additiveEpsilon, relevancePerItem, signedEpsilon } from './rules';

export interface LrpOptions {
  /** The class to explain: one index for every item, one per item, or each item's top class. */
  target: number | readonly number[] | 'top1';
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

/** Resolves a target option to one class index per item, with errors that name the problem. */
function classIndices(logits: Tensor, target: LrpOptions['target']): number[] {
  const [n, classes] = logits.shape as [number, number];
  let list: number[];
  if (target === 'top1') list = Array.from(argmax(logits, { dim: 1 }).dataSync(), Number);
  else if (typeof target === 'number') list = new Array<number>(n).fill(target);
  else {
    if (target.length !== n) throw new Error(`lrp: ${target.length} targets for a batch of ${n}`);
    list = [...target];
  }
  for (const t of list) {
    if (!Number.isInteger(t) || t < 0 || t >= classes) throw new Error(`lrp: target class ${t} is out of range for ${classes} classes`);
  }
  return list;
}

/**
 * Layer-wise relevance propagation on one recorded forward pass: the tape is walked with LRP rules
 * swapped in for the gradient rules, starting from the target logit, down to the pixels.
 */
export function lrp(model: Module, input: Tensor, options: LrpOptions): LrpResult {
  if (input.rank !== 4) throw new Error(`lrp: input must be [N, C, H, W], got [${input.shape.join(', ')}]`);
  const reference = options.reference ?? false;
  const composite: LrpComposite = reference
    ? { conv2d: { rule: 'epsilon', epsilon: 1e-9 }, linear: { rule: 'epsilon', epsilon: 1e-9 } }
    : typeof options.composite === 'string' || options.composite === undefined
      ? lrpPresets[options.composite ?? 'epsilon']
      : options.composite;
  const wasTraining = model.training;
  if (reference) model.train();
  else model.eval();
  const { output, tape } = record(() => model.call(input));
  try {
    if (output.rank !== 2) throw new Error(`lrp: the model must return logits [N, classes], got [${output.shape.join(', ')}]`);
    return tidy(() => {
      const targets = classIndices(output, options.target);
      const [n, classes] = output.shape as [number, number];
      const oneHot = cast(eq(reshape(arange(classes, undefined, 1, 'int32'), [1, classes]), tensorOf(targets, n)), output.dtype);
      const seed = mul(output, oneHot);
      const firstConv = tape.nodes.find((node) => node.op === 'conv2d' || node.op === 'linear');
      const layer = options.layer ?? (reference && firstConv ? firstConv.scope : undefined);
      const wrt = layer ? tape.activation(layer) : input;
      const stabilise = reference ? additiveEpsilon : signedEpsilon;
      const [relevance] = tape.grad(output, [wrt], { rules: lrpRules(composite, input, stabilise), gradOutputs: [seed] });
      const outputRelevance = relevancePerItem(seed);
      const inputRelevance = relevancePerItem(relevance!);
      return {
        relevance: keep(relevance!),
        outputRelevance,
        inputRelevance,
        conservation: inputRelevance.map((r, i) => r / outputRelevance[i]!),
      };
    });
  } finally {
    tape.dispose();
    output.dispose();
    model.train(wasTraining);
  }
}

function tensorOf(targets: number[], n: number): Tensor {
  return new Tensor(Int32Array.from(targets), [n, 1], 'int32');
}
