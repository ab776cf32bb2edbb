import type { OpName } from '../../ops/op-attrs';
import type { InputName } from '../../ops/op-inputs';
import { inputSlots } from '../../ops/op-inputs';
import type { Tensor } from '../../tensor';
import type { GradContext } from './types';

/** Which inputs of a rule's node need a gradient, by name (absent inputs left out). */
export function needsGradOf<K extends OpName>(ctx: GradContext<K>): Partial<Record<InputName<K>, boolean>> {
  const needs: Partial<Record<InputName<K>, boolean>> = {};
  const slots = inputSlots(ctx.op, ctx.attrs, ctx.inputs.length);
  for (const [name, slot] of Object.entries(slots) as [InputName<K>, number][]) needs[name] = ctx.needsGrad[slot] === true;
  return needs;
}

/** A rule's result from gradients by name: one entry per input in the node's order, null where none is given. */
export function gradsByName<K extends OpName>(ctx: GradContext<K>, grads: Partial<Record<InputName<K>, Tensor | null>>): (Tensor | null)[] {
  const out: (Tensor | null)[] = ctx.inputs.map(() => null);
  const slots = inputSlots(ctx.op, ctx.attrs, ctx.inputs.length);
  for (const [name, slot] of Object.entries(slots) as [InputName<K>, number][]) out[slot] = grads[name] ?? null;
  return out;
}
