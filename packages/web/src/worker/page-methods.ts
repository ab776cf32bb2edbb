import type { MethodSpec } from '../../../cli/src/methods';

/** The methods the page offers: the CLI's table without the attention methods (the page's models are CNNs). */
export function pageMethods(all: readonly MethodSpec[]): MethodSpec[] {
  return all.filter((m) => m.name !== 'rollout' && m.name !== 'generic-attention' && m.name !== 'transformer-attribution');
}
