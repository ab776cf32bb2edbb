import { GPU } from 'gpu.js';
import { cpuBackend, Tensor } from '@gradlens/tensor';
import type { Backend, ConvAttrsLike, DType, KernelResult, KernelTable, OpAttrs, OpName, PoolAttrsLike } from './types';
import * as conv from './kernels/conv2d';
import * as ew from './kernels/elementwise';
import * as mm from './kernels/matmul';
import { unpackBlocks, unpackBlocksHost } from './kernels/pack';
import * as pool from './kernels/pool2d';
import type { ConvConstants, PoolConstants } from './kernels/types';
import { DeviceValue, flatten, GpujsStorage, Handle, TextureLike } from './storage';

/** The modes gpu.js offers; `gpu` picks the best one that works here. */
export const MODES = ['gpu', 'webgpu', 'headlessgl', 'webgl', 'webgl2', 'webasm', 'cpu'] as const;
export type GpujsMode = (typeof MODES)[number];

/** A compiled gpu.js kernel as this backend uses it. */
interface RunShortcut {
  (...args: unknown[]): unknown;
  kernel?: { constructor: { mode?: string }; fallbackReason?: string | null };
  destroy(removeCanvasReferences?: boolean): void;
}

/** A kernel function in gpu.js's dialect (its source is what gpu.js compiles). */
type KernelSource = { name: string; toString(): string };
type Arg = Tensor | Float32Array | number;
/** How an Array(4) result is unpacked: see kernels/pack.ts. */
interface Blocks { outer: number; groups: number; cpg: number; y: number; x: number; swap: boolean }

const MAX_CACHED = 256;
/**
 * gpu.js computes array indices (and, in GL modes, the thread id of an output texel) in float32,
 * which is exact only up to 2^24: an op with a larger input or output runs on the CPU backend.
 * 2^24 floats also fit the smallest MAX_TEXTURE_SIZE WebGL allows (4096², gpu.js's near-square layout).
 */
export const MAX_DEVICE_ELEMENTS = 1 << 24;

/** Thrown by `launch` for a grid beyond MAX_DEVICE_ELEMENTS; the kernel wrapper runs the op on the CPU. */
class TooLarge extends Error {
  constructor(readonly elements: number) {
    super(`${elements} elements`);
  }
}

/** Picks the mode gpu.js will really run for a requested one, and why it differs. */
export function resolveMode(requested: GpujsMode): { mode: Exclude<GpujsMode, 'gpu'>; reason: string | null } {
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

const GL_MODES = new Set(['headlessgl', 'webgl', 'webgl2']);

/**
 * The gpujs backend: conv, pooling, ReLU (and the ops of its backward rules) and matmul as gpu.js
 * kernels; every other op, and every float64 op, runs on the CPU reference with the transfer made
 * by `Tensor.values()`.
 */
export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly kernels: Partial<KernelTable>;
  readonly requested: GpujsMode;
  readonly mode: Exclude<GpujsMode, 'gpu'>;
  readonly fallbackReason: string | null;
  private readonly gpu: GPU;
  private readonly cache = new Map<string, RunShortcut>();
  private readonly kernelFallbacks = new Map<string, string>();
  /** Whether results stay in device memory (GL textures, WebGPU buffers) between kernels. */
  readonly onDevice: boolean;
  /** Pool geometry of the index tensors this backend made, so that max-pool's backward runs on the device. */
  private readonly poolOf = new WeakMap<Tensor, PoolConstants>();

  constructor(requested: GpujsMode = 'gpu') {
    if (!MODES.includes(requested)) throw new Error(`gpujs: unknown mode '${requested}'; expected one of ${MODES.join(', ')}`);
    this.requested = requested;
    const { mode, reason } = resolveMode(requested);
    this.mode = mode;
    this.fallbackReason = reason;
    this.onDevice = GL_MODES.has(mode) || mode === 'webgpu';
    this.gpu = new GPU({ mode });
    this.kernels = this.makeKernels();
  }

  info(): Record<string, string> {
    const info: Record<string, string> = { mode: this.mode, requested: this.requested, precision: 'float32', threads: '1' };
    if (this.fallbackReason) info.fallback = this.fallbackReason;
    const reasons = [...this.kernelFallbacks].map(([k, r]) => `${k}: ${r}`);
    if (reasons.length) info.kernelFallbacks = reasons.join('; ');
    info.compiledKernels = String(this.cache.size);
    return info;
  }

  /** Frees every compiled kernel and the gpu.js instance. */
  destroy(): void {
    for (const k of this.cache.values()) k.destroy();
    this.cache.clear();
    void this.gpu.destroy();
  }

  // ---------------------------------------------------------------- launching

  private compiled(fn: KernelSource, output: number[], constants: Record<string, number>, argKey: string): RunShortcut {
    const key = `${fn.name}|${output.join(',')}|${JSON.stringify(constants)}|${argKey}`;
    let k = this.cache.get(key);
    if (k) {
      this.cache.delete(key);
      this.cache.set(key, k);
      return k;
    }
    if (this.cache.size >= MAX_CACHED) {
      const [oldKey, old] = this.cache.entries().next().value as [string, RunShortcut];
      this.cache.delete(oldKey);
      old.destroy();
    }
    const settings = {
      output, constants, pipeline: this.onDevice, immutable: true, precision: 'single', tactic: 'precision',
      loopMaxIterations: 1 << 24, dynamicOutput: false, dynamicArguments: false,
    };
    k = (this.gpu.createKernel as unknown as (src: string, s: object) => RunShortcut)(fn.toString(), settings);
    this.cache.set(key, k);
    return k;
  }

  /** The value a kernel takes for a tensor: this backend's handle, or the host values as float32. */
  private input(t: Tensor): DeviceValue {
    const s = t.deviceStorage();
    if (s instanceof GpujsStorage && s.owner === this) return s.handle;
    const v = t.values();
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

  private noteFallback(fn: KernelSource, k: RunShortcut): void {
    const inner = k.kernel;
    // gpu.js's GL kernels (WebGL, WebGL2, headless-gl) all report the mode 'gpu'.
    const ran = inner?.constructor.mode;
    const same = ran === this.mode || (ran === 'gpu' && GL_MODES.has(this.mode));
    if (ran && !same && !this.kernelFallbacks.has(fn.name)) {
      this.kernelFallbacks.set(fn.name, `ran in ${ran} mode${inner?.fallbackReason ? ` (${inner.fallbackReason})` : ''}`);
    }
  }

  /** Runs `fn` over `output` ([x, y, z]) and returns the row-major result, unpacking Array(4) blocks. */
  private launch(fn: KernelSource, output: number[], constants: Record<string, number>, args: Arg[], size: number, blocks?: Blocks): DeviceValue {
    const cells = output.reduce((a, b) => a * b, 1) * (blocks ? 4 : 1);
    if (cells > MAX_DEVICE_ELEMENTS) throw new TooLarge(cells);
    const values = args.map((a) => (typeof a === 'number' || a instanceof Float32Array ? a : this.input(a)));
    if (values.some((v) => v instanceof Promise)) {
      return Promise.all(values).then((vs) => this.launchNow(fn, output, constants, vs, size, blocks));
    }
    return this.launchNow(fn, output, constants, values as (Handle | number)[], size, blocks);
  }

  private launchNow(fn: KernelSource, output: number[], constants: Record<string, number>, args: (Handle | number)[], size: number, blocks?: Blocks): DeviceValue {
    const argKey = args.map(argSignature).join(',');
    const k = this.compiled(fn, output, constants, argKey);
    const result = k(...args);
    this.noteFallback(fn, k);
    const finish = (r: unknown): DeviceValue => {
      if (!this.onDevice || r instanceof Float32Array || Array.isArray(r)) {
        const flat = flatten(r, blocks ? output[0]! * output[1]! * output[2]! * 4 : size);
        return blocks ? unpackBlocksHost(flat, blocks.outer, blocks.groups, blocks.cpg, blocks.y, blocks.x, blocks.swap) : flat;
      }
      if (!blocks) return r as Handle;
      const tex = r as Handle;
      const unpackOut = blocks.swap ? [blocks.y, blocks.x, blocks.outer * blocks.groups * blocks.cpg] : [blocks.x, blocks.y, blocks.outer * blocks.groups * blocks.cpg];
      const consts = { CPG: blocks.cpg, G: blocks.groups, B: Math.ceil(blocks.cpg / 4), SWAP: blocks.swap ? 1 : 0 };
      const u = this.compiled(unpackBlocks, unpackOut, consts, 't');
      const unpacked = u(tex);
      const release = (): void => { if (!(tex instanceof Float32Array)) tex.delete(); };
      if (unpacked instanceof Promise) return unpacked.then((h: Handle) => { release(); return h; });
      release();
      return unpacked as Handle;
    };
    return result instanceof Promise ? result.then(finish) : finish(result);
  }

  private tensor(value: DeviceValue, shape: readonly number[], dtype: DType): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return new Tensor(new GpujsStorage(value, size, dtype, this), shape, dtype);
  }

  // ---------------------------------------------------------------- kernels

  private makeKernels(): Partial<KernelTable> {
    const cpu = cpuBackend.kernels as KernelTable;
    const onCpu = <K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): KernelResult => (cpu[op] as (i: readonly Tensor[], a: OpAttrs[K]) => KernelResult)(inputs, attrs);
    const allF32 = (ts: readonly (Tensor | undefined)[]) => ts.every((t) => t === undefined || t.dtype === 'float32');

    const binary = (op: 'add' | 'sub' | 'mul', fn: KernelSource, scalarFn: KernelSource | null, sign: number) =>
      (inputs: readonly Tensor[], attrs: OpAttrs[typeof op]): KernelResult => {
        const [a, b] = inputs as [Tensor, Tensor];
        const shape = simpleBroadcast(a.shape, b.shape);
        if (!allF32(inputs) || !shape) return onCpu(op, inputs, attrs);
        const n = shape.reduce((x, y) => x * y, 1);
        if (sameShape(a.shape, b.shape)) return { out: this.tensor(this.launch(fn, [n], {}, [a, b], n), shape, 'float32') };
        if (scalarFn && b.size === 1) return { out: this.tensor(this.launch(scalarFn, [n], {}, [a, sign * b.values()[0]!], n), shape, 'float32') };
        if (scalarFn && a.size === 1 && sign === 1) return { out: this.tensor(this.launch(scalarFn, [n], {}, [b, a.values()[0]!], n), shape, 'float32') };
        return onCpu(op, inputs, attrs);
      };

    const table: Partial<KernelTable> = {
      relu: (inputs, attrs) => {
        const x = inputs[0]!;
        if (x.dtype !== 'float32' || x.size === 0) return onCpu('relu', inputs, attrs);
        return { out: this.tensor(this.launch(ew.relu, [x.size], {}, [x], x.size), x.shape, 'float32') };
      },
      reluBackward: (inputs, attrs) => {
        const [dy, x] = inputs as [Tensor, Tensor];
        if (!allF32(inputs) || x.size === 0) return onCpu('reluBackward', inputs, attrs);
        return { out: this.tensor(this.launch(ew.reluBackward, [x.size], {}, [dy, x], x.size), x.shape, 'float32') };
      },
      mul: binary('mul', ew.mul, ew.mulScalar, 1),
      add: binary('add', ew.add, ew.addScalar, 1),
      sub: binary('sub', ew.sub, ew.addScalar, -1),
      gt: (inputs, attrs) => {
        const [a, b] = inputs as [Tensor, Tensor];
        const shape = simpleBroadcast(a.shape, b.shape);
        if (!allF32(inputs) || !shape) return onCpu('gt', inputs, attrs);
        const n = shape.reduce((x, y) => x * y, 1);
        if (sameShape(a.shape, b.shape)) return { out: this.tensor(this.launch(ew.gt, [n], {}, [a, b], n), shape, 'bool') };
        if (b.size === 1) return { out: this.tensor(this.launch(ew.gtScalar, [n], {}, [a, b.values()[0]!], n), shape, 'bool') };
        if (a.size === 1) return { out: this.tensor(this.launch(ew.ltScalar, [n], {}, [b, a.values()[0]!], n), shape, 'bool') };
        return onCpu('gt', inputs, attrs);
      },
      cast: (inputs, attrs) => {
        const x = inputs[0]!;
        const { dtype } = attrs;
        if (x.dtype === 'float64' || dtype === 'float64' || x.size === 0) return onCpu('cast', inputs, attrs);
        const fn = dtype === 'bool' ? ew.nonZero : dtype === 'int32' && x.dtype === 'float32' ? ew.trunc : ew.copy;
        return { out: this.tensor(this.launch(fn, [x.size], {}, [x], x.size), x.shape, dtype) };
      },
      matmul: (inputs, attrs) => {
        const [a, b] = inputs as [Tensor, Tensor];
        if (!allF32(inputs)) return onCpu('matmul', inputs, attrs);
        const { transA, transB } = attrs;
        const ra = a.rank, rb = b.rank;
        const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
        const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
        const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
        const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
        const batchShape = aBatch.length >= bBatch.length ? aBatch : bBatch;
        const batch = batchShape.reduce((x, y) => x * y, 1);
        const aStride = aBatch.reduce((x, y) => x * y, 1) === 1 ? 0 : m * k;
        const bStride = bBatch.reduce((x, y) => x * y, 1) === 1 ? 0 : k * n;
        if (m * n * batch === 0 || k === 0) return onCpu('matmul', inputs, attrs);
        const out = this.matmul(a, b, null, { m, n, k, batch, transA, transB, aStride, bStride });
        return { out: this.tensor(out, [...batchShape, m, n], 'float32') };
      },
      linear: (inputs, attrs) => {
        const [x, w, b] = inputs as [Tensor, Tensor, Tensor | undefined];
        if (!allF32(inputs)) return onCpu('linear', inputs, attrs);
        const inF = w.shape[1]!, outF = w.shape[0]!;
        const rows = x.size / inF;
        if (rows === 0 || inF === 0) return onCpu('linear', inputs, attrs);
        const out = this.matmul(x, w, b ?? null, { m: rows, n: outF, k: inF, batch: 1, transA: false, transB: true, aStride: 0, bStride: 0 });
        return { out: this.tensor(out, [...x.shape.slice(0, -1), outF], 'float32') };
      },
      conv2d: (inputs, attrs) => {
        const [x, w, b] = inputs as [Tensor, Tensor, Tensor | undefined];
        if (!allF32(inputs)) return onCpu('conv2d', inputs, attrs);
        const oh = outSize(x.shape[2]!, w.shape[2]!, attrs.stride[0], attrs.padding[0], attrs.dilation[0]);
        const ow = outSize(x.shape[3]!, w.shape[3]!, attrs.stride[1], attrs.padding[1], attrs.dilation[1]);
        const shape = [x.shape[0]!, w.shape[0]!, oh, ow];
        if (shape.includes(0) || x.size === 0) return onCpu('conv2d', inputs, attrs);
        const c = convConstants(x.shape, w.shape, shape, attrs, 'out');
        const bias: Arg = b ?? this.zeros(c.CO);
        const out = this.launch(conv.conv2dForward, [ow, oh, c.N * c.G * c.B], c, [x, w, bias], 0,
          { outer: c.N, groups: c.G, cpg: c.COG, y: oh, x: ow, swap: false });
        return { out: this.tensor(out, shape, 'float32') };
      },
      conv2dBackwardInput: (inputs, attrs) => {
        const [dy, w] = inputs as [Tensor, Tensor];
        if (!allF32(inputs) || dy.size === 0) return onCpu('conv2dBackwardInput', inputs, attrs);
        const c = convConstants(attrs.inputShape, w.shape, dy.shape, attrs, 'in');
        const out = this.launch(conv.conv2dBackwardInput, [c.W, c.H, c.N * c.G * c.B], c, [dy, w], 0,
          { outer: c.N, groups: c.G, cpg: c.CIG, y: c.H, x: c.W, swap: false });
        return { out: this.tensor(out, attrs.inputShape, 'float32') };
      },
      conv2dBackwardWeight: (inputs, attrs) => {
        const [x, dy] = inputs as [Tensor, Tensor];
        if (!allF32(inputs) || dy.size === 0) return onCpu('conv2dBackwardWeight', inputs, attrs);
        const c = convConstants(x.shape, attrs.weightShape, dy.shape, attrs, 'out');
        const kk = c.KH * c.KW;
        const out = this.launch(conv.conv2dBackwardWeight, [c.CIG, kk, c.G * c.B], c, [x, dy], 0,
          { outer: 1, groups: c.G, cpg: c.COG, y: kk, x: c.CIG, swap: true });
        return { out: this.tensor(out, attrs.weightShape, 'float32') };
      },
      maxPool2d: (inputs, attrs) => {
        const x = inputs[0]!;
        if (x.dtype !== 'float32' || x.size === 0) return onCpu('maxPool2d', inputs, attrs);
        const c = poolConstants(x.shape, attrs, false, null);
        const grid = [c.OW, c.OH, x.shape[0]! * x.shape[1]!];
        const shape = [x.shape[0]!, x.shape[1]!, c.OH, c.OW];
        const out = this.tensor(this.launch(pool.maxPool2dValues, grid, c, [x], grid[0]! * grid[1]! * grid[2]!), shape, 'float32');
        const idx = this.tensor(this.launch(pool.maxPool2dIndices, grid, c, [x], grid[0]! * grid[1]! * grid[2]!), shape, 'int32');
        this.poolOf.set(idx, c);
        return { out, extras: [idx] };
      },
      scatterPlanes: (inputs, attrs) => {
        const [dy, indices] = inputs as [Tensor, Tensor];
        const c = this.poolOf.get(indices);
        if (!c || dy.dtype !== 'float32' || c.H !== attrs.planeShape[0] || c.W !== attrs.planeShape[1]) return onCpu('scatterPlanes', inputs, attrs);
        const planes = dy.shape[0]! * dy.shape[1]!;
        const out = this.launch(pool.maxPool2dBackward, [c.W, c.H, planes], c, [dy, indices], c.W * c.H * planes);
        return { out: this.tensor(out, [dy.shape[0]!, dy.shape[1]!, c.H, c.W], 'float32') };
      },
      avgPool2d: (inputs, attrs) => {
        const x = inputs[0]!;
        if (x.dtype !== 'float32' || x.size === 0) return onCpu('avgPool2d', inputs, attrs);
        const c = poolConstants(x.shape, attrs, attrs.countIncludePad, attrs.divisorOverride);
        const grid = [c.OW, c.OH, x.shape[0]! * x.shape[1]!];
        const out = this.launch(pool.avgPool2dForward, grid, c, [x], grid[0]! * grid[1]! * grid[2]!);
        return { out: this.tensor(out, [x.shape[0]!, x.shape[1]!, c.OH, c.OW], 'float32') };
      },
      avgPool2dBackward: (inputs, attrs) => {
        const dy = inputs[0]!;
        if (dy.dtype !== 'float32' || dy.size === 0) return onCpu('avgPool2dBackward', inputs, attrs);
        const c = poolConstants(attrs.inputShape, attrs, attrs.countIncludePad, attrs.divisorOverride);
        const planes = attrs.inputShape[0]! * attrs.inputShape[1]!;
        const out = this.launch(pool.avgPool2dBackward, [c.W, c.H, planes], c, [dy], c.W * c.H * planes);
        return { out: this.tensor(out, attrs.inputShape, 'float32') };
      },
    };
    // Ops whose tensors are beyond exact float32 indexing run on the CPU, and say so in info().
    const guarded: Record<string, unknown> = {};
    for (const [op, kernel] of Object.entries(table) as [OpName, (i: readonly Tensor[], a: unknown) => KernelResult][]) {
      guarded[op] = (inputs: readonly Tensor[], attrs: unknown): KernelResult => {
        const big = inputs.find((t) => t !== undefined && t.size > MAX_DEVICE_ELEMENTS);
        if (big) {
          this.noteTooLarge(op, big.size);
          return onCpu(op, inputs, attrs as never);
        }
        try {
          return kernel(inputs, attrs);
        } catch (err) {
          if (!(err instanceof TooLarge)) throw err;
          this.noteTooLarge(op, err.elements);
          return onCpu(op, inputs, attrs as never);
        }
      };
    }
    return guarded as Partial<KernelTable>;
  }

  private noteTooLarge(op: string, elements: number): void {
    const key = `${op} (CPU backend)`;
    if (!this.kernelFallbacks.has(key)) {
      this.kernelFallbacks.set(key, `a tensor of ${elements} elements is over 2^24, beyond gpu.js's exact float32 indexing`);
    }
  }

  private zeros(n: number): Float32Array {
    return new Float32Array(n);
  }

  private matmul(a: Tensor, b: Tensor, bias: Tensor | null, o: { m: number; n: number; k: number; batch: number; transA: boolean; transB: boolean; aStride: number; bStride: number }): DeviceValue {
    const mb = Math.ceil(o.m / 4);
    const consts = { M: o.m, N: o.n, K: o.k, MB: mb, TA: o.transA ? 1 : 0, TB: o.transB ? 1 : 0, ASTRIDE: o.aStride, BSTRIDE: o.bStride };
    return this.launch(mm.matmul, [o.n, 1, o.batch * mb], consts, [a, b, bias ?? this.zeros(o.n)], 0,
      { outer: o.batch, groups: 1, cpg: o.m, y: 1, x: o.n, swap: false });
  }
}

/**
 * What a compiled kernel is specialised for, per argument. gpu.js bakes an input texture's size and
 * dimensions into the GL shader as constants and does not check them on later calls (only the texture
 * class), so textures of one class but another layout (e.g. a [w, h, 1] output, stored w × h, against
 * a [w, h, c] one of the same length, stored near-square) must not share a compiled kernel.
 */
function argSignature(a: Handle | number): string {
  if (typeof a === 'number') return 'n';
  if (a instanceof Float32Array) return `a${a.length}`;
  const t = a as TextureLike & { size?: ArrayLike<number>; dimensions?: ArrayLike<number>; type?: string };
  return `t${t.type ?? ''}:${Array.from(t.size ?? []).join('x')}:${Array.from(t.dimensions ?? []).join('x')}`;
}

function outSize(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The broadcast shape when one operand is elementwise-equal or a single value; null otherwise. */
function simpleBroadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const pa = [...Array<number>(rank - a.length).fill(1), ...a];
  const pb = [...Array<number>(rank - b.length).fill(1), ...b];
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (pa[i] !== pb[i] && pa[i] !== 1 && pb[i] !== 1) return null;
    out.push(Math.max(pa[i]!, pb[i]!));
  }
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  const n = size(out);
  if (size(a) === n && size(b) === n) return sameShape(a, b) ? out : null;
  return size(a) === 1 || size(b) === 1 ? out : null;
}

/** Conv constants; `blocksOf` says whether the 4-channel blocks run over output or input channels. */
function convConstants(x: readonly number[], w: readonly number[], y: readonly number[], a: ConvAttrsLike, blocksOf: 'out' | 'in'): ConvConstants {
  const [N, C, H, W] = x as [number, number, number, number];
  const [CO, CIG, KH, KW] = w as [number, number, number, number];
  const G = a.groups;
  const COG = CO / G;
  return {
    N, C, H, W, CO, OH: y[2]!, OW: y[3]!, KH, KW,
    SH: a.stride[0], SW: a.stride[1], PH: a.padding[0], PW: a.padding[1], DH: a.dilation[0], DW: a.dilation[1],
    G, CIG, COG, B: Math.ceil((blocksOf === 'out' ? COG : CIG) / 4),
  };
}

function poolConstants(x: readonly number[], a: PoolAttrsLike, includePad: boolean, divisor: number | null): PoolConstants {
  return {
    H: x[2]!, W: x[3]!, OH: a.outSize[0], OW: a.outSize[1], KH: a.kernel[0], KW: a.kernel[1],
    SH: a.stride[0], SW: a.stride[1], PH: a.padding[0], PW: a.padding[1], DH: a.dilation[0], DW: a.dilation[1],
    INCLUDEPAD: includePad ? 1 : 0, DIVISOR: divisor ?? 0,
  };
}
