/** Rounds to the nearest integer, ties to even: Python's round() and numpy's np.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties go up here
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
