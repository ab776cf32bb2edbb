/**
 * @gradlens/nn for browsers (the `browser` export condition): modules, layers, torchvision models,
 * training, and weights loaded from bytes (`loadWeights(model, bytes)`, `bundledModelFromBytes`).
 */
export * from './core';
