/** Assertion helper shared by the kernel tests (not exported from the index). */
import { maxRelError } from './reference';

/** Throws, naming `label`, unless every element of actual is within tol (relative to 1+|ref|) of ref. */
export function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, tol: number, label: string): void {
  const err = maxRelError(actual, ref);
  if (!(err < tol)) throw new Error(`${label}: max relative error ${err} exceeds ${tol}`);
}
