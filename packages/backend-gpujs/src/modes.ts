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

/**
 * What a platform says about its GPU access: why GL is missing, and how to reach WebGPU. The Node entry
 * installs one that loads the optional `gl` and `webgpu` (Dawn) packages; the default (browsers) loads nothing.
 */
export interface ModeProbe {
  /** Why no GL context could be made here. */
  glUnavailableReason(): string;
  /** Makes navigator.gpu available if it can; returns why not, or null. */
  installWebGPU(): string | null;
}

/** Browsers: WebGL comes from a canvas, WebGPU from navigator.gpu; no package is loaded. */
export const browserModeProbe: ModeProbe = {
  glUnavailableReason: () => 'this runtime gives no WebGL context',
  installWebGPU: () =>
    (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu
      ? null
      : 'this browser has no WebGPU (navigator.gpu is missing; Chromium on Linux needs --enable-unsafe-webgpu)',
};

let probe: ModeProbe = browserModeProbe;

/** Installs the platform's probe (the Node entry installs the one that loads `gl` and `webgpu`). */
export function setModeProbe(p: ModeProbe): void {
  probe = p;
}

/** Whether this is a browser page or worker (a canvas or OffscreenCanvas can give WebGL there). */
function inBrowser(): boolean {
  const g = globalThis as { document?: unknown; OffscreenCanvas?: unknown };
  return g.document !== undefined || g.OffscreenCanvas !== undefined;
}

/** Picks the mode gpu.js will really run for a requested one, and why it differs. */
export function resolveMode(requested: GpujsMode): { mode: ResolvedMode; reason: string | null } {
  const glReason = (): string => probe.glUnavailableReason();
  const wasmOr = (reason: string) => ({ mode: GPU.isWebAssemblySupported ? ('webasm' as const) : ('cpu' as const), reason });
  switch (requested) {
    case 'cpu':
      return { mode: 'cpu', reason: null };
    case 'webasm':
      return GPU.isWebAssemblySupported
        ? { mode: 'webasm', reason: null }
        : { mode: 'cpu', reason: 'WebAssembly is not available in this runtime' };
    case 'webgl':
    case 'webgl2':
      if (inBrowser()) {
        const ok = requested === 'webgl2' ? GPU.isWebGL2Supported : GPU.isWebGLSupported;
        return ok
          ? { mode: requested, reason: null }
          : wasmOr(`this browser gives no ${requested === 'webgl2' ? 'WebGL2' : 'WebGL'} context`);
      }
      return GPU.isHeadlessGLSupported
        ? { mode: 'headlessgl', reason: `${requested} needs a browser; Node runs GL through headless-gl` }
        : wasmOr(`${requested} needs a browser, and ${glReason()}`);
    case 'headlessgl':
      return GPU.isHeadlessGLSupported ? { mode: 'headlessgl', reason: null } : wasmOr(glReason());
    case 'webgpu': {
      const why = probe.installWebGPU();
      return why === null ? { mode: 'webgpu', reason: null } : wasmOr(why);
    }
    case 'gpu':
      if (inBrowser() && GPU.isWebGL2Supported) return { mode: 'webgl2', reason: null };
      if (GPU.isHeadlessGLSupported) return { mode: 'headlessgl', reason: null };
      return wasmOr(`auto mode found no GPU backend: ${glReason()}; webgpu is never auto-selected (its results are asynchronous)`);
  }
}
