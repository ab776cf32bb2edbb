export * from './container';
export * from './conv';
export * from './linear';
export * from './activation';
export * from './pooling';
export * from './batchnorm';
export * from './dropout';
export * from './misc';
