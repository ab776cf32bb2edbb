/** CPU kernels: plain functions on typed arrays, called by the op layer with resolved geometry and preallocated outputs. */
export type { FloatArray, Conv2dGeometry, MatmulOptions, Pool2dGeometry, AdaptivePoolGeometry, ResizeGeometry } from './types';
export { conv2dForward, conv2dBackwardInput, conv2dBackwardWeight } from './conv2d';
export {
  matmul,
  gemm,
  setGemmBlocking,
  setMicroKernel,
  jsMicroKernel4x4,
  stridedA,
  stridedB,
  denseStore,
  setFloat32Engine,
  float32GemmInfo,
} from './gemm';
export type { GemmBlocking, GemmOptions, MicroKernel, PackA, PackB, GemmStore, PanelEngine, PanelBuffers } from './gemm';
export { createWasmFloat32Engine, wasmSimdUnavailableReason } from './wasm-gemm';
export { setWinograd, setWinogradTile, winogradEnabled } from './winograd';
export { maxPool2dForward, avgPool2dForward, avgPool2dBackward } from './pool2d';
export { scatterByIndices } from './pool_windows';
export { adaptiveAvgPool2dForward, adaptiveAvgPool2dBackward, adaptiveMaxPool2dForward } from './adaptive_pool2d';
export { upsampleNearest2dForward, upsampleNearest2dBackward, upsampleBilinear2dForward, upsampleBilinear2dBackward } from './upsample2d';
export { layerNormForward } from './layernorm';
export { roiAlignForward, roiAlignBackward } from './roi-align';
export { erf } from './erf';
