/**
 * @gradlens/onnx for browsers (the `browser` export condition): `loadOnnx(bytes)`; a path, or a model that
 * keeps its weights in external files, is a one-line error (no file can be read here). No Node module is loaded.
 */
export * from './core';
