export * from './conv2d';
export * from './pool2d';
export * from './elementwise';
export * from './broadcast';
export * from './matmul';
export * from './pack';
export type * from './types';
export * from './conv2d-single';
