import { Tensor } from '@gradlens/tensor';
import { isNdArray } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { TargetSpec } from './targets';

/** Reports progress of a method with many forward passes: `done` of `total` units of work. */
export type ProgressCallback = (done: number, total: number) => void;

/** Options every method takes. */
export interface BaseOptions {
  /** What to explain (default 'top1'). */
  target?: TargetSpec;
  /**
   * Receives each warning (a map that is constant, a model left in training mode…); warnings are
   * also returned in the result's `warnings`. Default: `console.warn`. Pass `() => {}` to silence.
   */
  onWarning?: (message: string) => void;
}

/** Collects the warnings of one method call and passes each to `onWarning`. */
export class Warnings {
  readonly list: string[] = [];
  constructor(
    private readonly method: string,
    private readonly sink: ((message: string) => void) | undefined,
  ) {}

  warn(message: string): void {
    const full = `${this.method}: ${message}`;
    this.list.push(full);
    (this.sink ?? ((m: string) => console.warn(m)))(full);
  }
}

/**
 * Throws unless `x` is a floating-point batch [N, C, H, W] with N ≥ 1 (or, with `anyBatch`, also a
 * batch of vectors [N, F], for the gradient methods).
 */
export function checkInput(method: string, x: Tensor, anyBatch = false): void {
  if (!((x as unknown) instanceof Tensor)) {
    const got = isNdArray(x)
      ? `a plain ${x.dtype} array of shape [${x.shape.join(', ')}] (what @gradlens/io returns)`
      : typeof x === 'object'
        ? 'an object that is not a Tensor'
        : `a ${typeof x}`;
    throw new Error(
      `${method}: input must be a Tensor batch [N, C, H, W], got ${got}; make one with imageToInput(readImage(file)) or toTensor(array) from @gradlens/nn`,
    );
  }
  if (x.rank !== 4 && !(anyBatch && x.rank === 2)) {
    const hint =
      x.rank === 3
        ? `; add the batch dimension: unsqueeze(x, 0) gives [1, ${x.shape.join(', ')}] (imageToInput of @gradlens/nn returns a batch)`
        : x.rank === 2 && !anyBatch
          ? '; a [H, W] picture needs channels and a batch: [1, 1, H, W] (a batch of vectors [N, F] is taken only by the gradient methods and LRP)'
          : '';
    throw new Error(`${method}: input must be a batch [N, C, H, W], got shape [${x.shape.join(', ')}]${hint}`);
  }
  if (x.shape[0]! < 1) throw new Error(`${method}: input batch is empty (shape [${x.shape.join(', ')}])`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64')
    throw new Error(`${method}: input must hold floats (float32 or float64), got ${x.dtype}`);
}

/** Warns when any module of `model` is in training mode (dropout and batch norm make maps random). */
export function checkEval(model: Module, warnings: Warnings): void {
  const training = model.namedModules().filter(([, m]) => m.training);
  if (training.length > 0) {
    warnings.warn(
      'the model is in training mode (dropout and batch statistics make the maps random and couple batch items); call model.eval() first',
    );
  }
}
