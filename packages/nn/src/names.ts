/** Levenshtein edit distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The known names nearest to a mistyped one (case-insensitive; at most a third of its length in
 * edits, at least 1), only those at the smallest distance, at most `max`: what "did you mean" suggests.
 */
export function nearestNames(name: string, known: readonly string[], max = 3): string[] {
  const lower = name.toLowerCase();
  const limit = Math.max(1, Math.floor(name.length / 3));
  const near = known.map((k) => ({ k, d: editDistance(lower, k.toLowerCase()) })).filter((e) => e.d <= limit);
  const best = Math.min(...near.map((e) => e.d));
  return near
    .filter((e) => e.d === best)
    .slice(0, max)
    .map((e) => e.k);
}

/** ` (did you mean 'x'?)` for the nearest known names, or '' when none is near. */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = nearestNames(name, known);
  return near.length === 0 ? '' : ` (did you mean ${near.map((n) => `'${n}'`).join(' or ')}?)`;
}
