import type { Tensor } from '@gradlens/tensor';
import { indexOfMax } from './maps';

/**
 * What to explain: a class index for every item, one class index per item, the top-scoring class
 * of each item ('top1'), or a function of the model's output [N, K] that returns either one score
 * per item ([N] or [N, 1], differentiated as is) or a seed of the output's shape (the gradient is
 * that of Σ output · seed). A function must treat rows independently: batched methods (SmoothGrad,
 * integrated gradients, Score-CAM, occlusion…) call it on batches of perturbed copies of the items.
 */
export type TargetSpec = number | readonly number[] | 'top1' | TargetFn;

/** A target given as a function of the model's output (see `TargetSpec`). */
export type TargetFn = (output: Tensor) => Tensor;

/** The target after resolution: one class per item, or the user's function. */
export interface ResolvedTarget {
  readonly classes: readonly number[] | null;
  readonly fn: TargetFn | null;
}

/** Resolves a target spec against the output [N, K] of the clean input; checks ranges and lengths. */
export function resolveTarget(method: string, spec: TargetSpec | undefined, output: Tensor): ResolvedTarget {
  const s = spec ?? 'top1';
  if (typeof s === 'function') return { classes: null, fn: s };
  if (output.rank !== 2) {
    throw new Error(
      `${method}: a class target needs a model output [N, K], got [${output.shape.join(', ')}]; give a target function instead`,
    );
  }
  const [n, k] = output.shape as [number, number];
  const check = (c: number, where: string): number => {
    if (!Number.isInteger(c) || c < 0 || c >= k) {
      throw new Error(`${method}: target class ${c}${where} is out of range: the model has ${k} outputs (0…${k - 1})`);
    }
    return c;
  };
  if (s === 'top1') {
    const v = output.dataSync();
    return { classes: Array.from({ length: n }, (_, i) => indexOfMax(v, i * k, k)), fn: null };
  }
  if (typeof s === 'number') return { classes: Array.from({ length: n }, () => check(s, '')), fn: null };
  if (Array.isArray(s)) {
    const list = s as readonly number[];
    if (list.length !== n)
      throw new Error(`${method}: ${list.length} target classes given for a batch of ${n} items; give one per item or a single class`);
    return { classes: list.map((c, i) => check(c, ` (item ${i})`)), fn: null };
  }
  throw new Error(`${method}: target must be a class index, an array of class indices, 'top1' or a function; got ${String(s)}`);
}

/** The target for a batch whose row r is a copy of item items[r]. */
export function repeatTarget(t: ResolvedTarget, items: readonly number[]): ResolvedTarget {
  return t.classes ? { classes: items.map((i) => t.classes![i]!), fn: null } : t;
}
