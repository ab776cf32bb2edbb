/** Which gpu.js mode runs here: the modes offered, and what a requested one resolves to in this runtime. */
import { GPU } from 'gpu.js';

/** The modes gpu.js offers; `gpu` picks the best one that works here. */
export const MODES = ['gpu', 'webgpu', 'headlessgl', 'webgl', 'webgl2', 'webasm', 'cpu'] as const;
export type GpujsMode = (typeof MODES)[number];
/** A mode gpu.js really runs (`gpu` resolved). */
export type ResolvedMode = Exclude<GpujsMode, 'gpu'>;

const GL_MODES: ReadonlySet<string> = new Set(['headlessgl', 'webgl', 'webgl2']);

/** Whether a mode runs through WebGL (gpu.js's GL kernels all report the mode 'gpu'). */
export function isGlMode(mode: string): boolean {
  return GL_MODES.has(mode);
}

/** Whether results of a mode stay in device memory (GL textures, WebGPU buffers) between kernels. */
export function keepsResultsOnDevice(mode: ResolvedMode): boolean {
  return isGlMode(mode) || mode === 'webgpu';
}

/** Picks the mode gpu.js will really run for a requested one, and why it differs. */
export function resolveMode(requested: GpujsMode): { mode: ResolvedMode; reason: string | null } {
  const glReason = (): string => {
    try {
      require('gl');
    } catch (err) {
      return `the optional 'gl' package (headless-gl) did not load: ${(err as Error).message.split('\n')[0]}`;
    }
    return "the 'gl' package loaded but made no WebGL context (on Linux it needs an X display: run under xvfb-run, with Mesa's libgl1-mesa-dri)";
  };
  const wasmOr = (reason: string) => ({ mode: GPU.isWebAssemblySupported ? ('webasm' as const) : ('cpu' as const), reason });
  switch (requested) {
    case 'cpu':
      return { mode: 'cpu', reason: null };
    case 'webasm':
      return GPU.isWebAssemblySupported ? { mode: 'webasm', reason: null } : { mode: 'cpu', reason: 'WebAssembly is not available in this runtime' };
    case 'webgl':
    case 'webgl2':
      if ((globalThis as { document?: unknown }).document !== undefined) return { mode: requested, reason: null };
      return GPU.isHeadlessGLSupported ? { mode: 'headlessgl', reason: `${requested} needs a browser; Node runs GL through headless-gl` } : wasmOr(`${requested} needs a browser, and ${glReason()}`);
    case 'headlessgl':
      return GPU.isHeadlessGLSupported ? { mode: 'headlessgl', reason: null } : wasmOr(glReason());
    case 'webgpu': {
      const why = installWebGPU();
      return why === null ? { mode: 'webgpu', reason: null } : wasmOr(why);
    }
    case 'gpu':
      if (GPU.isHeadlessGLSupported) return { mode: 'headlessgl', reason: null };
      return wasmOr(`auto mode found no GPU backend: ${glReason()}; webgpu is never auto-selected (its results are asynchronous)`);
  }
}

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
