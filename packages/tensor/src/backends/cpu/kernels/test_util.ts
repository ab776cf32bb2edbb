/** Assertion helpers shared by the kernel tests (not exported from the index). */
import { maxRelError } from './reference';

/** Throws, naming `label`, unless every element of actual is within tol (relative to 1+|ref|) of ref. */
export function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, tol: number, label: string): void {
  const err = maxRelError(actual, ref);
  if (!(err < tol)) throw new Error(`${label}: max relative error ${err} exceeds ${tol}`);
}

/** Where two lists of values first differ as bit patterns ('' when they are equal): a short message instead of a diff of 10⁵ numbers. */
export function firstDifference(got: number[][], want: number[][]): string {
  for (let k = 0; k < want.length; k++) {
    const a = got[k]!,
      b = want[k]!;
    if (a.length !== b.length) return `output ${k}: ${a.length} values, expected ${b.length}`;
    for (let i = 0; i < b.length; i++) if (!Object.is(a[i], b[i])) return `output ${k}, value ${i}: ${a[i]}, expected ${b[i]}`;
  }
  return '';
}
