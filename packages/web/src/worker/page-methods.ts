import { zeros } from '@gradlens/tensor';
import { DEFAULT_BUDGET } from '../../../cli/src/methods';
import type { MethodSpec } from '../../../cli/src/methods';
import type { Module } from '@gradlens/nn';

/**
 * The methods the page offers for a model: the CLI's table less those whose `applies` check says they
 * cannot run on it (the attention methods and transformer LRP on a CNN, the ReLU-rule methods on a
 * transformer, CAM without a GAP + linear head), judged on a blank picture of `shape` (a side: [1, 3, side, side]) at its default layer, as
 * `gradlens explain --method all` judges them.
 */
export function pageMethods(all: readonly MethodSpec[], model: Module, shape: number | readonly number[], layer: string): MethodSpec[] {
  const probe = zeros(typeof shape === 'number' ? [1, 3, shape, shape] : [...shape]);
  try {
    const ctx = {
      model,
      input: probe,
      target: undefined,
      layer,
      reference: false,
      budget: DEFAULT_BUDGET,
      onWarning: () => undefined,
    };
    return all.filter((spec) => (spec.applies?.(ctx) ?? null) === null);
  } finally {
    probe.dispose();
  }
}
