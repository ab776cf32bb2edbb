import { noGrad, softmax, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { releasingIntermediates, type Module } from '@gradlens/nn';
import type { ResolvedTarget } from './targets';

/** Interprets a target function's result: scores per row, or a seed of the output's shape. */
export function fnScores(method: string, output: Tensor, score: Tensor): { kind: 'score' | 'seed'; values: number[] } {
  const n = output.shape[0]!;
  if (score.size === n && (score.rank === 1 || (score.rank === 2 && score.shape[1] === 1))) {
    return { kind: 'score', values: Array.from(score.dataSync()) };
  }
  if (score.shape.join() === output.shape.join()) {
    const o = output.dataSync();
    const s = score.dataSync();
    const per = output.size / n;
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < per; j++) acc += Number(o[i * per + j]) * Number(s[i * per + j]);
      values.push(acc);
    }
    return { kind: 'seed', values };
  }
  throw new Error(
    `${method}: the target function returned shape [${score.shape.join(', ')}]; expected one score per item ([${n}]) or a seed of the output's shape [${output.shape.join(', ')}]`,
  );
}

/**
 * Target scores of a batch run without recording: row r scores its target (logits, or softmax
 * probabilities with `probability` for class targets; a function target's own score). Intermediate
 * activations are freed as the pass goes (releasingIntermediates): only the scores leave it.
 */
export function scoreRows(method: string, model: Module, x: Tensor, target: ResolvedTarget, probability: boolean): Float64Array {
  let result: Float64Array = new Float64Array(0);
  noGrad(() =>
    tidy(() => {
      result = scoresOf(
        method,
        releasingIntermediates(() => model.call(x)),
        target,
        probability,
      );
    }),
  );
  return result;
}

/** The target's score for each row of a model output (logits, or softmax probabilities with `probability` for class targets). */
export function scoresOf(method: string, out: Tensor, target: ResolvedTarget, probability = false): Float64Array {
  const rows = out.shape[0]!;
  const result = new Float64Array(rows);
  if (target.classes) {
    if (target.classes.length !== rows) throw new Error(`${method}: internal: ${target.classes.length} targets for ${rows} rows`);
    const k = out.shape[1]!;
    tidy(() => {
      const v = (probability ? softmax(out, 1) : out).dataSync();
      for (let r = 0; r < rows; r++) result[r] = Number(v[r * k + target.classes![r]!]);
    });
    return result;
  }
  tidy(() => {
    const { values } = fnScores(method, out, target.fn!(out));
    values.forEach((s, r) => (result[r] = s));
  });
  return result;
}
