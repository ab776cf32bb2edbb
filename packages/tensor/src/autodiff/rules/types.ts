import type { OpName } from '../../ops/op-attrs';
import type { Tensor } from '../../tensor';
import type { TapeNode } from '../tape';

/** What a rule sees: the recorded node (inputs, output, attributes, module path) and which inputs need a gradient. */
export type GradContext<K extends OpName> = TapeNode<K> & { readonly needsGrad: readonly boolean[] };

/**
 * A backward rule: the gradient of the output in, one gradient per input out (null where none is
 * needed). Written with ordinary ops; gradients for broadcast inputs may keep the broadcast shape.
 */
export type GradRule<K extends OpName> = (dy: Tensor, ctx: GradContext<K>) => (Tensor | null)[];

/** One rule per op: a missing entry is a compile error. */
export type GradRuleTable = { [K in OpName]: GradRule<K> };

/** Per-call replacements, e.g. `{ relu: guidedRelu }`. */
export type RuleOverrides = Partial<GradRuleTable>;
