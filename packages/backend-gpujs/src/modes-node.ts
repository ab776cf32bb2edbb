/** Node's GPU access for gpu.js: the optional `gl` (headless-gl) and `webgpu` (Dawn) packages. Imported only by the Node entry. */
import type { ModeProbe } from './modes';

/** Makes navigator.gpu from the `webgpu` (Dawn) package in Node; returns why it could not, or null. */
function installWebGPU(): string | null {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return null;
  try {
    const dawn = require('webgpu') as { create(flags: string[]): unknown; globals?: object };
    if (dawn.globals) Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else g.navigator.gpu = gpu;
    return null;
  } catch (err) {
    return `the 'webgpu' (Dawn) package did not load: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Why headless-gl gave no context: the package did not load, or it made no context. */
function glUnavailableReason(): string {
  try {
    require('gl');
  } catch (err) {
    return `the optional 'gl' package (headless-gl) did not load: ${(err as Error).message.split('\n')[0]}`;
  }
  return "the 'gl' package loaded but made no WebGL context (on Linux it needs an X display: run under xvfb-run, with Mesa's libgl1-mesa-dri)";
}

/** Node's probe: loads `gl` and `webgpu` (Dawn) when asked. */
export const nodeModeProbe: ModeProbe = { glUnavailableReason, installWebGPU };
