import { deconvnetRules, guidedRules, lrpPresets, lrpRules } from '@gradlens/explain';
import { add, ge, where } from '@gradlens/tensor';
import type { GradRule, OpName, RuleOverrides, Tape, Tensor } from '@gradlens/tensor';
import { reluRulesReason } from '../../../cli/src/relu-rules';
import type { RuleChoice, TapeRow } from '../protocol';

/** ε·sign(z) added to a denominator: the paper's stabiliser, the one `lrp` uses by default. */
const signedEpsilon = (z: Tensor, e: number): Tensor => add(z, where(ge(z, 0), e, -e));

/** Stops the gradient at this op: no input receives anything. */
const zeroRule: GradRule<OpName> = (_dy, ctx) => ctx.inputs.map(() => null);

/**
 * The recorded ops as rows for the page, the op types present with the rules each can take, and why the
 * guided and deconvnet presets do not apply (a transformer's GELUs and layer norms), or null.
 */
export function describeTape(tape: Tape): {
  rows: TapeRow[];
  opTypes: { op: string; choices: RuleChoice[] }[];
  reluRules: string | null;
} {
  const rows = tape.nodes.map((n, index) => ({
    index,
    op: n.op,
    scope: n.scope,
    inputs: n.inputs.map((t) => [...t.shape]),
    output: [...n.output.shape],
  }));
  const ops = [...new Set(tape.nodes.map((n) => n.op))];
  const opTypes = ops.map((op) => ({ op, choices: choicesFor(op) }));
  return { rows, opTypes, reluRules: reluRulesReason('guided backprop and deconvnet', new Set<string>(ops)) };
}

/** Which rules an op type can take: guided and deconvnet only change ReLU-like ops, so only those offer them. */
export function choicesFor(op: OpName): RuleChoice[] {
  const reluLike = op in guidedRules;
  return reluLike
    ? ['vanilla', 'guided', 'deconvnet', 'lrp-epsilon', 'lrp-gamma', 'zero']
    : ['vanilla', 'lrp-epsilon', 'lrp-gamma', 'zero'];
}

/**
 * The rule overrides for `tape.grad` from one choice per op type: guided and deconvnet from explain's
 * rule sets, LRP-ε and LRP-γ from explain's LRP table (the composites `lrp` uses), zero stops the
 * gradient; vanilla leaves the op's own rule. `input` is the pixel tensor (LRP's input layer); the
 * tape's softmax outputs are the attention probabilities that LRP's AH-rule holds constant, as `lrp` takes them.
 */
export function ruleOverrides(choices: Readonly<Record<string, RuleChoice>>, input: Tensor, tape: Tape): RuleOverrides {
  const probabilities = new Set(tape.nodes.filter((n) => n.op === 'softmax').map((n) => n.output));
  const lrpEpsilon = lrpRules(lrpPresets.epsilon, input, signedEpsilon, probabilities) as Record<string, GradRule<OpName>>;
  const lrpGamma = lrpRules(lrpPresets.gamma, input, signedEpsilon, probabilities) as Record<string, GradRule<OpName>>;
  const guided = guidedRules as Record<string, GradRule<OpName>>;
  const deconv = deconvnetRules as Record<string, GradRule<OpName>>;
  const out: Record<string, GradRule<OpName>> = {};
  for (const [op, choice] of Object.entries(choices)) {
    const rule =
      choice === 'guided'
        ? guided[op]
        : choice === 'deconvnet'
          ? deconv[op]
          : choice === 'lrp-epsilon'
            ? lrpEpsilon[op]
            : choice === 'lrp-gamma'
              ? lrpGamma[op]
              : choice === 'zero'
                ? zeroRule
                : undefined;
    if (choice !== 'vanilla' && rule === undefined) throw new Error(`rule '${choice}' does not apply to op '${op}'`);
    if (rule) out[op] = rule;
  }
  return out as RuleOverrides;
}

/** Whether any choice is an LRP rule: then the walk is seeded with the target's logit (relevance), not 1. */
export const usesLrp = (choices: Readonly<Record<string, RuleChoice>>): boolean =>
  Object.values(choices).some((c) => c === 'lrp-epsilon' || c === 'lrp-gamma');
