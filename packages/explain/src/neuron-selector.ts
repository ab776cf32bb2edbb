import { noGrad, ones, record, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { BaseOptions } from './common';

/**
 * One neuron of a layer (Captum's `neuron_selector`): its index into the layer's output without the
 * batch dim (`[channel, row, col]` for a [N, K, h, w] layer, `unit` or `[unit]` for [N, K]), or a
 * function of the layer's output [N, …] returning one value per item ([N]) — a neuron, or an
 * aggregate such as a channel's sum. A function must treat rows independently.
 */
export type NeuronSelector = number | readonly number[] | ((activation: Tensor) => Tensor);

/** Options of the neuron methods (Captum's neuron family): the neuron whose value is explained. */
export interface NeuronOptions extends Omit<BaseOptions, 'target'> {
  /** Module path of the layer (`features.3`). */
  layer: string;
  neuron: NeuronSelector;
}

/** What a neuron method returns; the caller owns the tensor. */
export interface NeuronAttributionResult {
  /** The attribution with respect to the input, [N, C, H, W] (or [N, F]). */
  attribution: Tensor;
  /** The neuron's value per item on the input. */
  neuronValues: number[];
  warnings: string[];
}

/** Flat offset of an index neuron within one item of a layer of shape [N, …], checked against the shape. */
export function neuronOffset(method: string, layer: string, shape: readonly number[], neuron: number | readonly number[]): number {
  const dims = shape.slice(1);
  const idx = typeof neuron === 'number' ? [neuron] : [...neuron];
  const where = `layer '${layer}' gives [${dims.join(', ')}] per item`;
  if (idx.length !== dims.length)
    throw new Error(`${method}: neuron [${idx.join(', ')}] has ${idx.length} coordinate(s); ${where}, so give ${dims.length}`);
  let off = 0;
  idx.forEach((v, d) => {
    if (!Number.isInteger(v) || v < 0 || v >= dims[d]!) throw new Error(`${method}: neuron [${idx.join(', ')}] is out of range: ${where}`);
    off = off * dims[d]! + v;
  });
  return off;
}

/** Throws unless a neuron function's output holds one value per item. */
function checkNeuronOutput(method: string, layer: string, a: Tensor, output: Tensor): void {
  const n = a.shape[0]!;
  if (output.size !== n || !(output.rank === 1 || (output.rank === 2 && output.shape[1] === 1)))
    throw new Error(
      `${method}: the neuron function returned [${output.shape.join(', ')}] for layer '${layer}''s [${a.shape.join(', ')}]; expected one value per item ([${n}])`,
    );
}

/**
 * The seed ∂(Σᵢ neuronᵢ)/∂A of the layer's activation `a` [N, …] (the caller owns it) and the
 * neuron's value per item. A function selector is differentiated on a tape of its own.
 */
export function neuronSeed(method: string, layer: string, a: Tensor, neuron: NeuronSelector): { seed: Tensor; values: number[] } {
  if (typeof neuron !== 'function') {
    const n = a.shape[0]!;
    const per = a.size / n;
    const off = neuronOffset(method, layer, a.shape, neuron);
    const av = a.dataSync();
    const seed = new Float32Array(a.size);
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      seed[i * per + off] = 1;
      values.push(Number(av[i * per + off]));
    }
    return { seed: tensor(seed, a.shape, a.dtype), values };
  }
  const { output, tape } = record(() => neuron(a));
  try {
    checkNeuronOutput(method, layer, a, output);
    const values = Array.from(output.dataSync(), Number);
    const seed = tidy(() => tape.grad([output], [a], { gradOutputs: [ones(output.shape, output.dtype)] })[0]!);
    return { seed, values };
  } finally {
    tape.dispose();
    if (output !== a) output.dispose();
  }
}

/** The neuron's value per item for a layer activation `a` (no gradient). */
export function neuronValues(method: string, layer: string, a: Tensor, neuron: NeuronSelector): number[] {
  if (typeof neuron !== 'function') {
    const n = a.shape[0]!;
    const off = neuronOffset(method, layer, a.shape, neuron);
    const av = a.dataSync();
    return Array.from({ length: n }, (_, i) => Number(av[i * (a.size / n) + off]));
  }
  let values: number[] = [];
  noGrad(() =>
    tidy(() => {
      const out = neuron(a);
      checkNeuronOutput(method, layer, a, out);
      values = Array.from(out.dataSync(), Number);
    }),
  );
  return values;
}
