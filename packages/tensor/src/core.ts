/**
 * Everything of @gradlens/tensor that runs on any JavaScript platform. The entries add the platform:
 * index.ts (Node: worker_threads) and browser.ts (Web Workers).
 */
export { Tensor } from './tensor';
export type { NestedArray, DeviceStorage } from './tensor';
export type { DType, DTypeArray, FloatDType, ReadonlyTypedArray, TypedArray } from './dtype';
export type { Shape, MatmulDims } from './shape';
export { sizeOf, sameShape, broadcastShapes, windowOutSize, matmulDims } from './shape';
/** The CPU kernels' adaptive-pooling windows and bilinear taps, so device kernels use the same integer arithmetic. */
export { adaptiveWindows } from './backends/cpu/kernels/pool_windows';
export { linearTaps } from './backends/cpu/kernels/upsample2d';
export * from './creation';
export { assign } from './assign';
export type { AssignSource } from './assign';
export * from './ops';
export type {
  OpAttrs,
  OpName,
  UnaryMathFn,
  BatchNormAttrs,
  LayerNormAttrs,
  ConvAttrs,
  PoolAttrs,
  ResizeAttrs,
  SliceAttrs,
} from './ops/op-attrs';
export { batchNormSlots } from './ops/op-attrs';
export { opInputNames, inputsOf, nameInputs } from './ops/op-inputs';
export type { OpInputs, InputName } from './ops/op-inputs';
export { Generator, manualSeed, defaultGenerator } from './random';
export type { GeneratorState } from './random';
export { record, grad, noGrad, tidy, tidyOwned, keep, withScope, numTensors, Tape, disposeIntermediate } from './autodiff/tape';
export type { AnyTapeNode, TapeNode, Recording, TensorContainer } from './autodiff/tape';
export type { GradOptions } from './autodiff/backward';
export { gradRules, gradsByName, needsGradOf } from './autodiff/rules';
export type { GradContext, GradRule, GradRuleTable, RuleOverrides } from './autodiff/rules';
export { setBackend, setBackendFromSpec, parseBackendSpec, getBackendInfo, registerBackend } from './backends/registry';
export type { BackendFactory } from './backends/registry';
export { cpuBackend } from './backends/cpu';
export { namedKernels } from './backends/backend';
export type {
  Backend,
  BackendKernel,
  BackendKernelTable,
  Declined,
  Kernel,
  KernelTable,
  KernelResult,
  NamedKernel,
  NamedKernelTable,
  NamedBackendKernelTable,
} from './backends/backend';
export { setNumThreads, getNumThreads, parseThreadCount } from './backends/cpu/threads/settings';
export { setStoragePoolBytes, storagePoolBytes } from './backends/cpu/storage-pool';
export { setWinograd, setWinogradTile, parseWinograd, type WinogradTile, type WinogradSetting } from './backends/cpu/kernels/winograd';
export { setWeightCacheBytes, weightCacheBytes } from './backends/cpu/kernels/resident';
export { setCpuGemmEngine, parseCpuGemmEngine, type CpuGemmEngine, setTensorArenaSize, tensorArenaSize } from './backends/cpu/kernels/gemm';
export { applyCpuEnvironment } from './backends/cpu/environment';
export { setThreadHost } from './backends/cpu/threads/host';
export { webThreadHost } from './backends/cpu/threads/web-host';
export type { WebGlobals } from './backends/cpu/threads/web-host';
export type { ThreadHost, ThreadHandle } from './backends/cpu/threads/host';
