export * from './lrp';
export * from './composite';
export type { LrpLayerRule } from './rules';
