import { elementwiseRules } from './elementwise';
import { nnRules } from './nn';
import { normRules } from './norm';
import { reduceRules } from './reduce';
import { shapeRules } from './shape-ops';
import type { GradRuleTable } from './types';

export { gradsByName, needsGradOf } from './named';
export type { GradContext, GradRule, GradRuleTable, RuleOverrides } from './types';

/** The default backward rule of every op (the vanilla gradient). */
export const gradRules: GradRuleTable = { ...elementwiseRules, ...reduceRules, ...shapeRules, ...nnRules, ...normRules };
