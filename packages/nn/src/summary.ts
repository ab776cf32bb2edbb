import type { Tensor } from '@gradlens/tensor';
import { noGrad, tidy, zeros } from '@gradlens/tensor';
import type { Module } from './module';
import { observeModuleCalls, withMode } from './module';

/** One row of a model listing: a module path, its type, its output shape and its own parameter count. */
export interface LayerInfo {
  /** Dotted module path as PyTorch names it (`features.29`, `layer4.1`); what Grad-CAM targets take. */
  path: string;
  /** The module's class name (`Conv2d`, `BasicBlock`, …). */
  type: string;
  /** Output shape of the module's last call in the pass, or null if the pass never called it. */
  outputShape: number[] | null;
  /** Number of parameter values held directly by this module and its descendants. */
  params: number;
  /** Nesting depth (0 for a direct child of the model). */
  depth: number;
}

/**
 * Lists every module of `model` (in definition order, as PyTorch prints them) with the output shape
 * it gives for an input of `inputShape` ([N, C, H, W]): runs one forward pass on zeros in eval mode
 * under noGrad, freeing everything it made, and restores the model's training mode.
 */
export function layers(model: Module, inputShape: readonly number[]): LayerInfo[] {
  const shapes = new Map<Module, number[]>();
  withMode(model, 'eval', () =>
    tidy(() => {
      noGrad(() =>
        observeModuleCalls(
          (m, _x, y) => shapes.set(m, [...y.shape]),
          () => model.call(zeros([...inputShape])),
        ),
      );
    }),
  );
  return model
    .namedModules()
    .filter(([p]) => p !== '')
    .map(([path, m]) => ({
      path,
      type: m.constructor.name,
      outputShape: shapes.get(m) ?? null,
      params: m.parameters().reduce((n: number, t: Tensor) => n + t.size, 0),
      depth: path.split('.').length - 1,
    }));
}

/** A plain-text table of `layers()` rows (path indented by depth, type, output shape, parameters). */
export function formatLayers(rows: readonly LayerInfo[]): string {
  const cells = rows.map((r) => [
    '  '.repeat(r.depth) + r.path,
    r.type,
    r.outputShape ? `[${r.outputShape.join(', ')}]` : '-',
    r.params.toLocaleString('en-US'),
  ]);
  const header = ['path', 'type', 'output shape', 'params'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i === 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
