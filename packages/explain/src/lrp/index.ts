export * from './lrp';
export * from './composite';
export type { LrpLayerRule, Stabiliser } from './rules';
export type { AttentionRule } from './transformer';
