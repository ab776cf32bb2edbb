import type { Tensor } from '../tensor';
import type { OpAttrs, OpName } from './op-attrs';
import { batchNormSlots } from './op-attrs';

/**
 * The inputs of every op, by name, in the order `runOp` takes them: `name?` is optional, `...name`
 * takes the rest (cat). Rules and kernels read them through `inputsOf` / `namedKernels`.
 */
export const opInputNames = {
  add: ['a', 'b'],
  sub: ['a', 'b'],
  mul: ['a', 'b'],
  div: ['a', 'b'],
  pow: ['a', 'b'],
  maximum: ['a', 'b'],
  minimum: ['a', 'b'],
  eq: ['a', 'b'],
  ne: ['a', 'b'],
  lt: ['a', 'b'],
  le: ['a', 'b'],
  gt: ['a', 'b'],
  ge: ['a', 'b'],
  where: ['cond', 'a', 'b'],
  neg: ['x'],
  exp: ['x'],
  unaryMath: ['x'],
  log: ['x'],
  sqrt: ['x'],
  abs: ['x'],
  sign: ['x'],
  relu: ['x'],
  sigmoid: ['x'],
  tanh: ['x'],
  erf: ['x'],
  gelu: ['x'],
  reluBackward: ['dy', 'x'],
  geluBackward: ['dy', 'x'],
  clamp: ['x'],
  clampBackward: ['dy', 'x'],
  cast: ['x'],
  softmax: ['x'],
  logSoftmax: ['x'],
  softmaxBackward: ['dy', 'y'],
  sum: ['x'],
  mean: ['x'],
  max: ['x'],
  min: ['x'],
  argmax: ['x'],
  argmin: ['x'],
  var: ['x'],
  reshape: ['x'],
  permute: ['x'],
  expand: ['x'],
  slice: ['x'],
  unslice: ['x'],
  pad: ['x'],
  cat: ['...xs'],
  indexSelect: ['x', 'index'],
  indexAdd: ['x', 'index'],
  matmul: ['a', 'b'],
  linear: ['x', 'weight', 'bias?'],
  conv2d: ['x', 'weight', 'bias?'],
  conv2dBackwardInput: ['dy', 'weight'],
  conv2dBackwardWeight: ['x', 'dy'],
  // mean and var in eval mode only; attrs.weight and attrs.bias say which of the others are there.
  batchNorm: ['x', 'mean?', 'var?', 'weight?', 'bias?'],
  batchNormBackward: ['dy', 'x', 'mean', 'var', 'weight?'],
  layerNorm: ['x', 'weight?', 'bias?'],
  layerNormBackward: ['dy', 'x', 'weight?'],
  maxPool2d: ['x'],
  avgPool2d: ['x'],
  avgPool2dBackward: ['dy'],
  adaptiveAvgPool2d: ['x'],
  adaptiveAvgPool2dBackward: ['dy'],
  adaptiveMaxPool2d: ['x'],
  gatherPlanes: ['x', 'indices'],
  scatterPlanes: ['dy', 'indices'],
  upsampleNearest2d: ['x'],
  upsampleNearest2dBackward: ['dy'],
  upsampleBilinear2d: ['x'],
  upsampleBilinear2dBackward: ['dy'],
  roiAlign: ['x'],
  roiAlignBackward: ['dy'],
} as const satisfies { [K in OpName]: readonly string[] };

type RequiredName<S extends string> = S extends `${string}?` | `...${string}` ? never : S;
type OptionalName<S extends string> = S extends `${infer N}?` ? N : never;
type RestName<S extends string> = S extends `...${infer N}` ? N : never;
type Named<S extends string> = { [N in RequiredName<S>]: Tensor } & { [N in OptionalName<S>]?: Tensor } & {
  [N in RestName<S>]: readonly Tensor[];
};

/** The named inputs of op K: `{ x, weight, bias? }` for conv2d (an optional input reads `Tensor | undefined`). */
export type OpInputs<K extends OpName> = Named<(typeof opInputNames)[K][number]>;

/** The name of an input of op K (`x`, `weight`, `bias` for conv2d). */
export type InputName<K extends OpName> = keyof OpInputs<K> & string;

/** Which optional inputs are there, where attributes say so rather than the input count. */
const presentByAttrs: { [K in OpName]?: (attrs: OpAttrs[K]) => Record<string, boolean> } = {
  batchNorm: (a) => {
    const s = batchNormSlots(a);
    return { mean: s.mean >= 0, var: s.var >= 0, weight: s.weight >= 0, bias: s.bias >= 0 };
  },
  layerNorm: (a) => ({ weight: a.weight, bias: a.bias }),
};

/**
 * Calls `visit(name, slot)` for each input of a call of `op` with `count` inputs: required names in
 * order, an optional one where its attribute says it is there (or while inputs remain), a rest name
 * (`rest` true) taking the inputs from `slot` on.
 */
function eachSlot<K extends OpName>(
  op: K,
  attrs: OpAttrs[K],
  count: number,
  visit: (name: string, slot: number, rest: boolean) => void,
): void {
  const present = (presentByAttrs[op] as ((a: OpAttrs[K]) => Record<string, boolean>) | undefined)?.(attrs);
  let next = 0;
  for (const name of opInputNames[op] as readonly string[]) {
    if (name.startsWith('...')) {
      visit(name.slice(3), next, true);
      next = count;
    } else if (name.endsWith('?')) {
      const n = name.slice(0, -1);
      if (present ? present[n] : next < count) visit(n, next++, false);
    } else visit(name, next++, false);
  }
}

/** Names the positional inputs of a call of `op` (what kernels and rules read). */
export function nameInputs<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): OpInputs<K> {
  const named: Record<string, Tensor | readonly Tensor[]> = {};
  eachSlot(op, attrs, inputs.length, (name, slot, rest) => {
    const value = rest ? inputs.slice(slot) : inputs[slot];
    if (value !== undefined) named[name] = value;
  });
  return named as OpInputs<K>;
}

/** The position of each named input of a call of `op` with `count` inputs (absent names left out). */
export function inputSlots<K extends OpName>(op: K, attrs: OpAttrs[K], count: number): Partial<Record<InputName<K>, number>> {
  const slots: Record<string, number> = {};
  eachSlot(op, attrs, count, (name, slot, rest) => {
    if (!rest) slots[name] = slot;
  });
  return slots as Partial<Record<InputName<K>, number>>;
}

/** What `inputsOf` reads: a recorded node or a rule's context. */
interface NodeLike<K extends OpName> {
  readonly op: K;
  readonly inputs: readonly Tensor[];
  readonly attrs: OpAttrs[K];
}

/** The named inputs of a recorded node or a rule's context: `const { x, weight, bias } = inputsOf(ctx)`. */
export function inputsOf<K extends OpName>(node: NodeLike<K>): OpInputs<K> {
  return nameInputs(node.op, node.inputs, node.attrs);
}
