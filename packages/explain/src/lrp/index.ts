export * from './lrp';
export * from './composite';
export type { LrpLayerRule } from './rules';
export type { AttentionRule } from './transformer';
