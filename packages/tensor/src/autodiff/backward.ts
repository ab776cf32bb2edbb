import { isFloat } from '../dtype';
import { engine } from '../engine';
import { fmt } from '../errors';
import type { OpName } from '../ops/op-attrs';
import { sameShape } from '../shape';
import type { Tensor } from '../tensor';
import { add, cast, onesLike, zerosLike } from '../ops';
import { sumTo } from '../ops/reduce';
import type { GradContext, GradRule, RuleOverrides } from './rules';
import { gradRules } from './rules';
import type { TapeNode } from './tape';

export interface GradOptions {
  /** Rules that replace the table's entries for this call only (guided backprop swaps `relu`). */
  rules?: RuleOverrides;
  /** Seeds for the outputs, one per output, same shapes; default 1 for scalar outputs. */
  gradOutputs?: readonly Tensor[];
  /**
   * Record the backward pass's own ops on the tapes recording now (PyTorch's `create_graph`), so the gradients can
   * be differentiated again: Hessian-vector products, gradient penalties, second-order attribution. Every rule is
   * written with ops that have rules of their own, so any order works. Off by default: a backward records nothing.
   */
  createGraph?: boolean;
}

/**
 * Reverse walk over the recorded nodes: seeds the outputs, runs each node's rule on the gradient of
 * its output, reduces broadcast gradients to the input's shape, and accumulates into each input.
 */
export function backward(nodes: readonly TapeNode[], outputs: readonly Tensor[], wrt: readonly Tensor[], options: GradOptions): Tensor[] {
  // Forward pruning: only nodes that depend on a `wrt` tensor can carry gradient to it.
  const reach = new Set<Tensor>(wrt);
  const live = nodes.map((n) => {
    const on = n.inputs.some((t) => reach.has(t));
    if (on) reach.add(n.output);
    return on;
  });
  const targets = new Set(wrt);
  const quiet = options.createGraph !== true;
  if (quiet) engine.noGradDepth++;
  engine.beginScope();
  let result: Tensor[] = [];
  try {
    const seeds = seedGradients(outputs, options.gradOutputs);
    const grads = new Map<Tensor, Tensor>();
    const accumulate = (t: Tensor, g: Tensor): void => {
      const prev = grads.get(t);
      grads.set(t, prev ? add(prev, g) : g);
    };
    outputs.forEach((o, i) => accumulate(o, seeds[i]!));
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      const dy = grads.get(node.output);
      if (!live[i] || dy === undefined) continue;
      const needsGrad = node.inputs.map((t) => reach.has(t) && isFloat(t.dtype));
      const ctx: GradContext<OpName> = { ...node, needsGrad };
      const rule = (options.rules?.[node.op] ?? gradRules[node.op]) as GradRule<OpName>;
      const inputGrads = rule(dy, ctx);
      node.inputs.forEach((input, j) => {
        const g = inputGrads[j];
        if (!needsGrad[j] || !g) return;
        accumulate(input, fitGradient(node.op, j, g, input));
      });
      if (!targets.has(node.output)) grads.delete(node.output);
    }
    result = wrt.map((t) => grads.get(t) ?? zerosLike(t));
    return result;
  } finally {
    engine.endScope(new Set(result));
    if (quiet) engine.noGradDepth--;
  }
}

function seedGradients(outputs: readonly Tensor[], given: readonly Tensor[] | undefined): Tensor[] {
  if (given) {
    if (given.length !== outputs.length) {
      throw new Error(`tape.grad: ${outputs.length} outputs but ${given.length} gradOutputs`);
    }
    return outputs.map((o, i) => {
      const g = given[i]!;
      if (!sameShape(o.shape, g.shape)) {
        throw new Error(`tape.grad: gradOutputs[${i}] has shape ${fmt(g.shape)}, output ${i} has shape ${fmt(o.shape)}`);
      }
      return g.dtype === o.dtype ? g : cast(g, o.dtype);
    });
  }
  return outputs.map((o, i) => {
    if (o.size !== 1) {
      throw new Error(`tape.grad: output ${i} has shape ${fmt(o.shape)}; a non-scalar output needs gradOutputs`);
    }
    return onesLike(o);
  });
}

/** Checks a rule's gradient against its input, summing broadcast dimensions away (the one place this happens). */
function fitGradient(op: OpName, index: number, g: Tensor, input: Tensor): Tensor {
  let out = g;
  if (!sameShape(g.shape, input.shape)) {
    try {
      out = sumTo(g, input.shape);
    } catch {
      throw new Error(`gradient rule of ${op}: gradient ${fmt(g.shape)} for input ${index} does not fit its shape ${fmt(input.shape)}`);
    }
  }
  return out.dtype === input.dtype ? out : cast(out, input.dtype);
}
