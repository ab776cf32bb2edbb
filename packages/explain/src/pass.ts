import { ones, record, tensor, tidyOwned } from '@gradlens/tensor';
import type { RuleOverrides, Tape, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { fnScores } from './scoring';
import { resolveTarget } from './targets';
import type { ResolvedTarget, TargetSpec } from './targets';

/** A recorded forward pass with the seeds that select the target's score. */
export interface Pass {
  output: Tensor;
  tape: Tape;
  target: ResolvedTarget;
  /** What `tape.grad` differentiates and with which seeds. */
  seedOutputs: Tensor[];
  gradOutputs: Tensor[];
  /** The target's score per row (logit for class targets). */
  scores: number[];
  /**
   * The tensors the pass made and `disposePass` frees; the model or a target function may return a
   * tensor of their caller's (the input, a captured tensor), which stays the caller's.
   */
  owned: Tensor[];
}

/**
 * Runs `model` on `x` once while recording, resolves the target (when a spec is given), and builds
 * the gradient seeds. Free with `disposePass`.
 */
export function recordPass(method: string, model: Module, x: Tensor, target: TargetSpec | ResolvedTarget | undefined): Pass {
  const spec = target;
  // null (a JSON config's missing target) means the default, as in resolveTarget.
  const given = spec !== undefined && spec !== null && typeof spec === 'object' && 'fn' in spec ? spec : null;
  const fn = typeof spec === 'function' ? spec : given ? given.fn : null;
  let made: ReadonlySet<Tensor> = new Set();
  const { output: rec, tape } = record(() => {
    const run = tidyOwned(() => {
      const output = model.call(x);
      return { output, score: fn ? fn(output) : null };
    });
    made = run.made;
    return run.result;
  });
  const owned = [rec.output, rec.score].filter((t): t is Tensor => t !== null && made.has(t));
  try {
    const resolved = given ?? resolveTarget(method, spec as TargetSpec | undefined, rec.output);
    const rows = rec.output.shape[0] ?? 0;
    if (resolved.classes) {
      const k = rec.output.shape[1]!;
      const seed = new Float32Array(rows * k);
      const out = rec.output.dataSync();
      const scores = resolved.classes.map((c, i) => {
        seed[i * k + c] = 1;
        return Number(out[i * k + c]);
      });
      const g = tensor(seed, [rows, k], rec.output.dtype);
      return { output: rec.output, tape, target: resolved, seedOutputs: [rec.output], gradOutputs: [g], scores, owned: [...owned, g] };
    }
    const score = rec.score!;
    const { kind, values } = fnScores(method, rec.output, score);
    const g = kind === 'score' ? ones(score.shape, score.dtype) : score;
    return {
      output: rec.output,
      tape,
      target: resolved,
      seedOutputs: [kind === 'score' ? score : rec.output],
      gradOutputs: [g],
      scores: values,
      owned: g === score ? owned : [...owned, g],
    };
  } catch (e) {
    tape.dispose();
    for (const t of owned) t.dispose();
    throw e;
  }
}

/** Frees a pass's tape and the tensors it made. */
export function disposePass(p: Pass): void {
  p.tape.dispose();
  for (const t of p.owned) t.dispose();
}

/** Gradients of the pass's target score with respect to `wrt`, under `rules`. */
export function passGrad(p: Pass, wrt: readonly Tensor[], rules?: RuleOverrides): Tensor[] {
  return p.tape.grad(p.seedOutputs, wrt, { rules, gradOutputs: p.gradOutputs });
}
