/** Compiling, caching and running gpu.js kernels, and bringing their results back as row-major values. */
import { GPU } from 'gpu.js';
import { sizeOf, Tensor } from '@gradlens/tensor';
import type { DType } from './types';
import { unpackBlocks, unpackBlocksHost } from './kernels/pack';
import { isGlMode, keepsResultsOnDevice, type ResolvedMode } from './modes';
import { MAX_DEVICE_ELEMENTS, TooLarge } from './size-guard';
import type { DeviceValue, Handle, TextureLike } from './storage';
import { flatten, GpujsStorage, PendingHostStorage, release, retain } from './storage';
import { LaunchMemo } from './launch-memo';
import { replayKey } from './replay';

/** A compiled gpu.js kernel as this backend uses it. */
interface RunShortcut {
  (...args: unknown[]): unknown;
  kernel?: { constructor: { mode?: string }; fallbackReason?: string | null };
  destroy(removeCanvasReferences?: boolean): void;
}

/** A kernel function in gpu.js's dialect (its source is what gpu.js compiles). */
export type KernelSource = { name: string; toString(): string };
/** A kernel argument: a tensor (its device handle or host values), host floats, or a number. */
export type Arg = Tensor | Float32Array | number;

/**
 * How a kernel's Array(4) result is laid out (see kernels/pack.ts): a [Z, ySize, xSize] grid whose z
 * runs over (outer, group, block of 4 channels), to be unpacked to [outer, groups·channelsPerGroup, ySize, xSize].
 */
export interface ChannelBlocks {
  outer: number;
  groups: number;
  channelsPerGroup: number;
  ySize: number;
  xSize: number;
  /** the result's x and y are the grid's y and x (the weight gradient's [CIG, KH·KW] → [KH·KW, CIG]) */
  swapXY: boolean;
}

/** One kernel launch as `launch` was asked for it, apart from its arguments (which become handles on the way). */
interface Launch {
  fn: KernelSource;
  output: number[];
  constants: Record<string, number>;
  size: number;
  blocks?: ChannelBlocks;
}

/** Compiled kernels kept at once; the least recently used one is destroyed beyond this. */
const MAX_CACHED = 256;

/** Compiles gpu.js kernels once per specialisation, runs them, and records kernels gpu.js ran in another mode. */
export class KernelLauncher {
  private readonly gpu: GPU;
  private readonly cache = new Map<string, RunShortcut>();
  /** Whether results stay in device memory (GL textures, WebGPU buffers) between kernels. */
  readonly onDevice: boolean;
  /** Kernels gpu.js ran in a mode other than the one asked, with its reason. */
  readonly modeFallbacks = new Map<string, string>();
  /** Under awaitReads, the previous run's results of the launches a replay repeats (and the launch counts). */
  readonly memo = new LaunchMemo();

  constructor(readonly mode: ResolvedMode) {
    this.onDevice = keepsResultsOnDevice(mode);
    this.gpu = new GPU({ mode });
  }

  /** How many compiled kernels are cached. */
  get compiledKernels(): number {
    return this.cache.size;
  }

  /**
   * Runs `fn` over `output` ([x, y, z]) and returns the row-major result of `size` values, unpacking
   * Array(4) `blocks`; throws TooLarge beyond MAX_DEVICE_ELEMENTS.
   */
  launch(
    fn: KernelSource,
    output: number[],
    constants: Record<string, number>,
    args: Arg[],
    size: number,
    blocks?: ChannelBlocks,
  ): DeviceValue {
    const cells = sizeOf(output) * (blocks ? 4 : 1);
    if (cells > MAX_DEVICE_ELEMENTS) throw new TooLarge(cells);
    const call: Launch = { fn, output, constants, size, blocks };
    const key = `${fn.name}|${output.join(',')}|${JSON.stringify(constants)}|${blocks ? JSON.stringify(blocks) : ''}|${args.map(argKey).join(',')}`;
    return this.memo.launch(key, () => this.launchArgs(call, args));
  }

  /** Runs a launch: its inputs' handles (waiting for those still arriving), then the kernel. */
  private launchArgs(call: Launch, args: Arg[]): DeviceValue {
    const values = args.map((a) => (typeof a === 'number' || a instanceof Float32Array ? a : this.input(a)));
    if (values.some((v) => v instanceof Promise)) {
      // inputs still arriving (WebGPU) were retained by input(): released once this kernel has run
      return Promise.allSettled(values).then(async (settled) => {
        try {
          const failed = settled.find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
          const vs = settled.map((r) => (r as PromiseFulfilledResult<Handle | number>).value);
          return await this.launchNow(call, vs);
        } finally {
          settled.forEach((r, i) => {
            if (values[i] instanceof Promise && r.status === 'fulfilled' && typeof r.value !== 'number') release(r.value);
          });
        }
      });
    }
    return this.launchNow(call, values as (Handle | number)[]);
  }

  /** Frees every compiled kernel and the gpu.js instance. */
  destroy(): void {
    this.memo.destroy();
    for (const k of this.cache.values()) k.destroy();
    this.cache.clear();
    void this.gpu.destroy();
  }

  /** Wraps a kernel's result as a tensor held in this launcher's device memory. */
  tensor(value: DeviceValue, shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(new GpujsStorage(value, sizeOf(shape), dtype, this), shape, dtype);
  }

  /**
   * The value a kernel takes for a tensor: its handle when this launcher made it (a pending one retained
   * until the kernel has run), the promised values of a CPU op that waits for device inputs, or the host
   * values as float32.
   */
  private input(t: Tensor): DeviceValue {
    const s = t.deviceStorage();
    if (s instanceof GpujsStorage && s.owner === this) return retain(s.handle);
    if (s instanceof PendingHostStorage) return s.value.then((v) => (v instanceof Float32Array ? v : Float32Array.from(v)));
    const v = t.values();
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

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
      output,
      constants,
      pipeline: this.onDevice,
      immutable: true,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: 1 << 24,
      dynamicOutput: false,
      dynamicArguments: false,
    };
    k = (this.gpu.createKernel as unknown as (src: string, s: object) => RunShortcut)(fn.toString(), settings);
    this.cache.set(key, k);
    return k;
  }

  private noteModeFallback(fn: KernelSource, k: RunShortcut): void {
    const inner = k.kernel;
    const ran = inner?.constructor.mode;
    const same = ran === this.mode || (ran === 'gpu' && isGlMode(this.mode));
    if (ran && !same && !this.modeFallbacks.has(fn.name)) {
      this.modeFallbacks.set(fn.name, `ran in ${ran} mode${inner?.fallbackReason ? ` (${inner.fallbackReason})` : ''}`);
    }
  }

  private launchNow({ fn, output, constants, size, blocks }: Launch, args: (Handle | number)[]): DeviceValue {
    const argKey = args.map(argSignature).join(',');
    const k = this.compiled(fn, output, constants, argKey);
    const result = k(...args);
    this.noteModeFallback(fn, k);
    const finish = (r: unknown): DeviceValue => {
      if (!this.onDevice || r instanceof Float32Array || Array.isArray(r)) {
        const flat = flatten(r, blocks ? output[0]! * output[1]! * output[2]! * 4 : size);
        return blocks
          ? unpackBlocksHost(flat, blocks.outer, blocks.groups, blocks.channelsPerGroup, blocks.ySize, blocks.xSize, blocks.swapXY)
          : flat;
      }
      if (!blocks) return r as Handle;
      return this.unpackOnDevice(r as Handle, blocks);
    };
    return result instanceof Promise ? result.then(finish) : finish(result);
  }

  /** Unpacks a texture of channel blocks with a second kernel, then frees the packed texture. */
  private unpackOnDevice(packed: Handle, blocks: ChannelBlocks): DeviceValue {
    const channels = blocks.outer * blocks.groups * blocks.channelsPerGroup;
    const unpackOut = blocks.swapXY ? [blocks.ySize, blocks.xSize, channels] : [blocks.xSize, blocks.ySize, channels];
    const consts = {
      CPG: blocks.channelsPerGroup,
      G: blocks.groups,
      B: Math.ceil(blocks.channelsPerGroup / 4),
      SWAP: blocks.swapXY ? 1 : 0,
    };
    const unpacked = this.compiled(unpackBlocks, unpackOut, consts, 't')(packed);
    const release = (): void => {
      if (!(packed instanceof Float32Array)) packed.delete();
    };
    if (unpacked instanceof Promise) {
      return unpacked.then((h: Handle) => {
        release();
        return h;
      });
    }
    release();
    return unpacked as Handle;
  }
}

/**
 * A launch argument as the launch memo tells launches apart: a number by its value, a host array by its
 * length, a tensor by its storage's place in the replay (see replayKey), a host tensor by its size.
 */
function argKey(a: Arg): string {
  if (typeof a === 'number') return `n${a}`;
  if (a instanceof Float32Array) return `f${a.length}`;
  const s = a.deviceStorage();
  const serial = s && 'serial' in s ? (s as { serial: number }).serial : null;
  return serial === null ? `h${a.size}` : (replayKey(serial) ?? 'x');
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
  return `t${t.type ?? ''}#${classId(a.constructor)}:${Array.from(t.size ?? []).join('x')}:${Array.from(t.dimensions ?? []).join('x')}`;
}

const classIds = new WeakMap<object, number>();
let classCount = 0;

/**
 * A number for a texture's class: gpu.js checks an input texture's class on every call (a 1-D output's
 * texture and a 3-D one's of the same size and dimensions are different classes), so they must not share a kernel.
 */
function classId(c: object): number {
  let id = classIds.get(c);
  if (id === undefined) {
    id = ++classCount;
    classIds.set(c, id);
  }
  return id;
}
