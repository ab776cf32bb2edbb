/**
 * @gradlens/backend-gpujs for browsers (the `browser` export condition): `webgl2`/`webgl` through a canvas
 * (an OffscreenCanvas in a worker), `webgpu` through navigator.gpu; no Node package is loaded.
 */
export * from './core';
