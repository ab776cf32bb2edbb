import type { Tape, Tensor } from '@gradlens/tensor';
import { didYouMean } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';

/**
 * The activation of module `layer` in a recorded pass (the output of the last op that ran inside it).
 * An unknown path gets an error listing the model's module paths; a module that ran no op (Identity,
 * Dropout in eval) gets one listing those that did.
 */
export function layerActivation(method: string, model: Module, tape: Tape, layer: string): Tensor {
  const paths = model
    .namedModules()
    .map(([p]) => p)
    .filter((p) => p !== '');
  if (!paths.includes(layer)) {
    throw new Error(
      `${method}: no layer named '${layer}' in ${model.constructor.name}${didYouMean(layer, paths)}; valid layer paths: ${paths.join(', ')}`,
    );
  }
  if (tape.scopes().some((s) => s === layer || s.startsWith(layer + '.'))) return tape.activation(layer);
  throw new Error(
    `${method}: layer '${layer}' ran no op in the forward pass (an Identity, or Dropout in eval mode?); layers that did: ${tape.scopes().join(', ')}`,
  );
}

/**
 * Throws unless `output` depends on the layer's activation `from` through the ops recorded on `tape`:
 * a layer off the path to the output (a side branch whose result is not used) gets a zero gradient
 * and no ablation effect, which would otherwise come back as an empty map.
 */
export function requireOnPath(method: string, tape: Tape, from: Tensor, output: Tensor, layer: string): void {
  const reached = new Set<Tensor>([from]);
  for (const node of tape.nodes) {
    if (node.inputs.some((t) => reached.has(t))) {
      reached.add(node.output);
    }
  }
  if (!reached.has(output)) {
    throw new Error(
      `${method}: the model's output does not depend on layer '${layer}' (its result is not used on the way to the output); choose a layer on the path from the input to the output`,
    );
  }
}
