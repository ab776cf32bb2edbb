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
