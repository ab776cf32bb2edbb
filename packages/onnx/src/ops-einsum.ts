import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { OpTable } from './op-context';
import { float } from './op-context';
import type { Value } from './values';
import { asTensor } from './values';

// Einsum as permutes, reshapes, sums and batched matmuls (two operands at a time, left to right), so the tape
// differentiates it with those ops' rules. A label repeated within one operand (a diagonal) is refused.

interface Term {
  x: Tensor;
  /** One label per dim of x. */
  labels: string[];
}

/** The equation's operands' labels and the output's, with '...' spelled out as labels of their own. */
function parse(equation: string, ranks: number[]): { inputs: string[][]; output: string[] } {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const parts = lhs.split(',');
  if (parts.length !== ranks.length)
    throw new Error(`Einsum equation '${equation}' names ${parts.length} operands, but ${ranks.length} are given`);
  let ellipsis = 0;
  const inputs = parts.map((p, k) => {
    const named = p.replace('...', '');
    if (!/^[A-Za-z]*$/.test(named)) throw new Error(`Einsum term '${p}' holds characters other than letters and one '...'`);
    const spread = ranks[k]! - named.length;
    if (spread < 0 || (spread > 0 && !p.includes('...')))
      throw new Error(`Einsum term '${p}' does not match operand ${k}'s rank ${ranks[k]}`);
    ellipsis = Math.max(ellipsis, spread);
    const dots = Array.from({ length: spread }, (_, i) => `.${ellipsis - spread + i}`);
    const labels = p.includes('...') ? [...p.slice(0, p.indexOf('...')), ...dots, ...p.slice(p.indexOf('...') + 3)] : [...p];
    if (new Set(labels).size !== labels.length) throw new Error(`Einsum term '${p}' repeats a label (a diagonal), which is not supported`);
    return labels;
  });
  const dots = Array.from({ length: ellipsis }, (_, i) => `.${i}`);
  let output: string[];
  if (rhs === undefined) {
    // Implicit output: the ellipsis dims, then every label used once, in alphabetical order.
    const counts = new Map<string, number>();
    for (const l of inputs.flat()) if (!l.startsWith('.')) counts.set(l, (counts.get(l) ?? 0) + 1);
    output = [
      ...dots,
      ...[...counts]
        .filter(([, n]) => n === 1)
        .map(([l]) => l)
        .sort(),
    ];
  } else {
    output = rhs.includes('...') ? [...rhs.slice(0, rhs.indexOf('...')), ...dots, ...rhs.slice(rhs.indexOf('...') + 3)] : [...rhs];
  }
  return { inputs, output };
}

/** Sums away the labels of `term` that `keep` does not hold. */
function sumOut(term: Term, keep: Set<string>): Term {
  const dims = term.labels.map((l, i) => (keep.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (dims.length === 0) return term;
  return { x: t.sum(term.x, { dim: dims }), labels: term.labels.filter((l) => keep.has(l)) };
}

/** Brings a label of size 1 in one operand to the other's size (ellipsis dims broadcast). */
function sizeOf(a: Term, b: Term, label: string): number {
  const sa = a.x.shape[a.labels.indexOf(label)] ?? 1;
  const sb = b.x.shape[b.labels.indexOf(label)] ?? 1;
  if (sa !== sb && sa !== 1 && sb !== 1) throw new Error(`Einsum label '${label}' has sizes ${sa} and ${sb}`);
  return Math.max(sa, sb);
}

/** a ⊗ b contracted over the labels they share that `keep` does not hold: one batched matmul. */
function contract(a: Term, b: Term, keep: Set<string>): Term {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const summed = shared.filter((l) => !keep.has(l));
  const left = a.labels.filter((l) => !shared.includes(l));
  const right = b.labels.filter((l) => !shared.includes(l));
  const size = (l: string) => sizeOf(a, b, l);
  const product = (ls: string[]) => ls.reduce((p, l) => p * size(l), 1);
  const arrange = (term: Term, order: string[], rows: string[], cols: string[]) => {
    const moved = t.permute(
      term.x,
      order.map((l) => term.labels.indexOf(l)),
    );
    const full = order.map((l) => (term.labels.includes(l) ? size(l) : 1));
    return t.reshape(t.expand(moved, full), [product(batch), product(rows), product(cols)]);
  };
  const am = arrange(a, [...batch, ...left, ...summed], left, summed);
  const bm = arrange(b, [...batch, ...summed, ...right], summed, right);
  const labels = [...batch, ...left, ...right];
  return { x: t.reshape(t.matmul(am, bm), labels.map(size)), labels };
}

/** Evaluates an einsum equation on tensors. */
export function einsum(equation: string, operands: Tensor[]): Tensor {
  const { inputs, output } = parse(
    equation,
    operands.map((x) => x.rank),
  );
  const terms = operands.map((x, k) => ({ x, labels: inputs[k]! }));
  // What the output or the operands from `from` on still need; any other label is summed away as early as it can be.
  const needed = (from: number, ...more: string[]) => new Set([...output, ...inputs.slice(from).flat(), ...more]);
  let acc = sumOut(terms[0]!, needed(1));
  for (let k = 1; k < terms.length; k++) {
    const next = sumOut(terms[k]!, needed(k + 1, ...acc.labels));
    acc = contract(acc, next, needed(k + 1));
  }
  acc = sumOut(acc, new Set(output));
  const missing = output.find((l) => !acc.labels.includes(l));
  if (missing) throw new Error(`Einsum output label '${missing.startsWith('.') ? '...' : missing}' names no operand's dim`);
  return t.permute(
    acc.x,
    output.map((l) => acc.labels.indexOf(l)),
  );
}

export const einsumOps: OpTable = {
  Einsum: {
    since: 12,
    run: ({ values, attrs }) => {
      const vs = values.filter((v): v is Value => v !== null);
      const like = float(vs.find((v): v is Tensor => v instanceof Tensor) ?? vs[0]!);
      return [
        einsum(
          attrs.string('equation', ''),
          vs.map((v) => asTensor(v, like)),
        ),
      ];
    },
  },
};
