/**
 * @gradlens/backend-gpujs for Node (the `node` and `require` export conditions): GL through the optional
 * headless-gl package, WebGPU through Dawn (the `webgpu` package).
 */
import { setModeProbe } from './modes';
import { nodeModeProbe } from './modes-node';

export * from './core';
export { nodeModeProbe } from './modes-node';

setModeProbe(nodeModeProbe);
