export * from './common';
export * from './rules';
export type { AttributionResult } from './gradient-core';
export * from './vanilla';
export * from './guided-backprop';
export * from './deconvnet';
export * from './grad-x-input';
export * from './smoothgrad';
export * from './integrated-gradients';
// lrp exports
