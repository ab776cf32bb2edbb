/**
 * Everything of @gradlens/nn that runs on any JavaScript platform. The entries add the rest: index.ts
 * (Node: datasets, data-parallel training, the bundled weights folder) and browser.ts.
 */
export * from './module';
export * from './train';
export * from './init';
export * from './layers';
export * from './models';
export * from './load';
export * from './summary';
export * from './datasets/classes';
export * from './convert';
export * from './input';
export * from './names';
