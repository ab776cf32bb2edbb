/**
 * Method results as the plain float maps the CLI draws and saves, and the target a method gets: no
 * command logic and nothing of Node, so every method file (and the web page's worker) can use them.
 */

import { disposeResult } from '@gradlens/explain';
import type { AttentionMapResult, CamResult, TargetSpec } from '@gradlens/explain';
import type { NdArray } from '@gradlens/io';
import { toNdArray } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import type { MethodContext, MethodMaps, MethodSpec } from './methods';

/** What the methods get as their target: the context's target function, its class, or 'top1'. */
export const targetOf = (c: MethodContext): TargetSpec => c.targetFn ?? c.target ?? 'top1';

/** Item 0 of a [1, …] tensor as a float32 NdArray without the batch dimension. */
export function item0(t: Tensor): NdArray<'float32'> {
  const a = toNdArray(t);
  return { dtype: 'float32', shape: a.shape.slice(1), data: Float32Array.from(a.data as ArrayLike<number>) };
}

/** The maps of a gradient method's result, which it then frees. */
export function gradientMaps(r: { attribution: Tensor; classes: number[] | null }, notes: string[] = []): MethodMaps {
  try {
    return { kind: 'gradient', raw: item0(r.attribution), upsampled: null, target: r.classes?.[0] ?? null, notes };
  } finally {
    disposeResult(r);
  }
}

/** The maps of a CAM method's (or an attention method's) result, which it then frees. */
export function camMaps(r: CamResult | AttentionMapResult): MethodMaps {
  try {
    return { kind: 'cam', raw: item0(r.map), upsampled: item0(r.upsampled), target: r.classes?.[0] ?? null, notes: [] };
  } finally {
    disposeResult(r);
  }
}

/** The options every one-pass gradient method gets from the context: its target and warning sink. */
export interface GradientCall {
  target: TargetSpec;
  onWarning: (message: string) => void;
}

/** A one-pass gradient method (one forward, one backward): its spec, with `fn` producing the attribution. */
export function gradientMethod(
  spec: Omit<MethodSpec, 'kind' | 'manyPasses' | 'usesLayer' | 'run'> & {
    usesLayer?: boolean;
    fn: (c: MethodContext, call: GradientCall) => { attribution: Tensor; classes: number[] | null };
  },
): MethodSpec {
  const { fn, ...rest } = spec;
  return {
    ...rest,
    kind: 'gradient',
    manyPasses: false,
    usesLayer: spec.usesLayer ?? false,
    run: (c) => gradientMaps(fn(c, { target: targetOf(c), onWarning: c.onWarning })),
  };
}
