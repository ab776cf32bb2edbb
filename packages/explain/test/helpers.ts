import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { loadWeights } from '@gradlens/nn';
import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { GapNet, SmallVGG } from './models';

export const FIXTURES = path.join(__dirname, 'fixtures');

let cache: Record<string, NdArray> | null = null;
/** The expected maps written by scripts/make-explain-fixtures.py. */
export function expected(): Record<string, NdArray> {
  cache ??= readNpz(path.join(FIXTURES, 'expected.npz'));
  return cache;
}

/** A fixture array as a float32 tensor. */
export function fixture(name: string): Tensor {
  const arr = expected()[name];
  if (!arr) throw new Error(`no fixture '${name}'`);
  return tensor(Float32Array.from(arr.data as ArrayLike<number>), arr.shape);
}

/** The fixture models with the PyTorch weights, in eval mode. */
export function smallVgg(): SmallVGG {
  const m = new SmallVGG();
  loadWeights(m, path.join(FIXTURES, 'smallvgg.pth'));
  return m.eval();
}

export function gapNet(): GapNet {
  const m = new GapNet();
  loadWeights(m, path.join(FIXTURES, 'gapnet.pth'));
  return m.eval();
}

/** max |actual − expected| / max |expected|: the error relative to the map's scale. */
export function relError(actual: Tensor | ArrayLike<number>, want: ArrayLike<number>): number {
  const a = 'dataSync' in actual ? actual.dataSync() : actual;
  if (a.length !== want.length) throw new Error(`length ${a.length} vs ${want.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(Number(a[i]) - Number(want[i])));
    scale = Math.max(scale, Math.abs(Number(want[i])));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Asserts shape equality and relError ≤ tol against fixture `name`; returns the error. */
export function expectMatches(actual: Tensor, name: string, tol = 1e-4): number {
  const want = expected()[name];
  if (!want) throw new Error(`no fixture '${name}'`);
  expect([...actual.shape]).toEqual([...want.shape]);
  const err = relError(actual, want.data as ArrayLike<number>);
  if (!(err <= tol)) throw new Error(`${name}: relative error ${err.toExponential(2)} > ${tol}`);
  return err;
}

let breadthCache: Record<string, NdArray> | null = null;
/** An array of breadth.npz, the fixtures scripts/make-breadth-fixtures.py writes. */
export function breadth(name: string): NdArray {
  breadthCache ??= readNpz(path.join(FIXTURES, 'breadth.npz'));
  const a = breadthCache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return a;
}

/** Asserts shape equality and relError ≤ tol against breadth.npz's `name`. */
export function expectBreadth(actual: Tensor, name: string, tol = 1e-5): void {
  const want = breadth(name);
  expect([...actual.shape]).toEqual([...want.shape]);
  const err = relError(actual, want.data as ArrayLike<number>);
  if (!(err <= tol)) throw new Error(`${name}: relative error ${err.toExponential(2)} > ${tol}`);
}
