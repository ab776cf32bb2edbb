export * from './core';
export * from './rollout';
export * from './generic';
export * from './transformer-attribution';
