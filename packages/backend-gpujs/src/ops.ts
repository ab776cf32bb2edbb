/**
 * The op table of the gpujs backend: which ops run as gpu.js kernels, with which constants and grid.
 * A kernel declines a call it cannot run (float64, empty, a broadcast other than a scalar, too large):
 * the registry then runs the CPU kernel and lists the op and the reason in getBackendInfo().cpuFallbacks.
 */
import { broadcastShapes, matmulDims, sizeOf, windowOutSize } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { convConstants, elementwiseCase, matmulConstants, poolConstants } from './geometry';
import * as conv from './kernels/conv2d';
import * as ew from './kernels/elementwise';
import * as mm from './kernels/matmul';
import * as pool from './kernels/pool2d';
import type { PoolConstants } from './kernels/types';
import type { Arg, KernelLauncher, KernelSource } from './launcher';
import { guardSize } from './size-guard';
import type { DeviceValue } from './storage';
import type { BackendKernelTable, Declined, KernelResult, OpAttrs } from './types';

/** Why a kernel declines a call: its dtypes, an empty tensor, or a case the kernel does not cover. */
function decline(inputs: readonly (Tensor | undefined)[]): Declined {
  const other = inputs.find((t) => t !== undefined && t.dtype !== 'float32');
  if (other) return { declined: `${other.dtype} input (gpujs kernels are float32)` };
  if (inputs.some((t) => t !== undefined && t.size === 0)) return { declined: 'an empty tensor' };
  return { declined: 'a case its kernel does not cover (a broadcast beyond a scalar, or pooling indices not made here)' };
}

/** The device kernels over `launcher`, each wrapped by `guardSize` (a tensor over 2^24 elements declines). */
export function deviceKernels(launcher: KernelLauncher): BackendKernelTable {
  const allF32 = (ts: readonly (Tensor | undefined)[]) => ts.every((t) => t === undefined || t.dtype === 'float32');
  const run = (fn: KernelSource, n: number, args: Arg[]): DeviceValue => launcher.launch(fn, [n], {}, args, n);
  /** Pool geometry of the index tensors max-pool made here, so that its backward runs on the device. */
  const poolOf = new WeakMap<Tensor, PoolConstants>();

  const binary =
    (op: 'add' | 'sub' | 'mul', fn: KernelSource, scalarFn: KernelSource | null, sign: number) =>
    (inputs: readonly Tensor[], _attrs: OpAttrs[typeof op]): KernelResult | Declined => {
      const [a, b] = inputs as [Tensor, Tensor];
      const which = elementwiseCase(a.shape, b.shape);
      if (!allF32(inputs) || !which) return decline(inputs);
      const shape = broadcastShapes(op, a.shape, b.shape);
      const n = sizeOf(shape);
      if (which === 'same') return { out: launcher.tensor(run(fn, n, [a, b]), shape, 'float32') };
      if (scalarFn && which === 'scalarB') return { out: launcher.tensor(run(scalarFn, n, [a, sign * b.values()[0]!]), shape, 'float32') };
      if (scalarFn && which === 'scalarA' && sign === 1)
        return { out: launcher.tensor(run(scalarFn, n, [b, a.values()[0]!]), shape, 'float32') };
      return decline(inputs);
    };

  const table: BackendKernelTable = {
    relu: (inputs) => {
      const x = inputs[0]!;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(ew.relu, x.size, [x]), x.shape, 'float32') };
    },
    reluBackward: (inputs) => {
      const [dy, x] = inputs as [Tensor, Tensor];
      if (!allF32(inputs) || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(ew.reluBackward, x.size, [dy, x]), x.shape, 'float32') };
    },
    mul: binary('mul', ew.mul, ew.mulScalar, 1),
    add: binary('add', ew.add, ew.addScalar, 1),
    sub: binary('sub', ew.sub, ew.addScalar, -1),
    gt: (inputs) => {
      const [a, b] = inputs as [Tensor, Tensor];
      const which = elementwiseCase(a.shape, b.shape);
      if (!allF32(inputs) || !which) return decline(inputs);
      const shape = broadcastShapes('gt', a.shape, b.shape);
      const n = sizeOf(shape);
      if (which === 'same') return { out: launcher.tensor(run(ew.gt, n, [a, b]), shape, 'bool') };
      if (which === 'scalarB') return { out: launcher.tensor(run(ew.gtScalar, n, [a, b.values()[0]!]), shape, 'bool') };
      return { out: launcher.tensor(run(ew.ltScalar, n, [b, a.values()[0]!]), shape, 'bool') };
    },
    cast: (inputs, attrs) => {
      const x = inputs[0]!;
      const { dtype } = attrs;
      if (x.dtype === 'float64' || dtype === 'float64' || x.size === 0) return decline(inputs);
      const fn = dtype === 'bool' ? ew.nonZero : dtype === 'int32' && x.dtype === 'float32' ? ew.trunc : ew.copy;
      return { out: launcher.tensor(run(fn, x.size, [x]), x.shape, dtype) };
    },
    matmul: (inputs, attrs) => {
      const [a, b] = inputs as [Tensor, Tensor];
      if (!allF32(inputs)) return decline(inputs);
      const { batchShape, ...dims } = matmulDims(a.shape, b.shape, attrs.transA, attrs.transB);
      if (dims.m * dims.n * dims.batch === 0 || dims.k === 0) return decline(inputs);
      const out = matmul(a, b, null, matmulConstants(dims, attrs.transA, attrs.transB), dims.batch);
      return { out: launcher.tensor(out, [...batchShape, dims.m, dims.n], 'float32') };
    },
    linear: (inputs) => {
      const [x, w, b] = inputs as [Tensor, Tensor, Tensor | undefined];
      if (!allF32(inputs)) return decline(inputs);
      const inF = w.shape[1]!,
        outF = w.shape[0]!;
      const rows = x.size / inF;
      if (rows === 0 || inF === 0) return decline(inputs);
      const consts = matmulConstants({ batch: 1, m: rows, n: outF, k: inF, aBatchStride: 0, bBatchStride: 0 }, false, true);
      return { out: launcher.tensor(matmul(x, w, b ?? null, consts, 1), [...x.shape.slice(0, -1), outF], 'float32') };
    },
    conv2d: (inputs, attrs) => {
      const [x, w, b] = inputs as [Tensor, Tensor, Tensor | undefined];
      if (!allF32(inputs)) return decline(inputs);
      const oh = windowOutSize(x.shape[2]!, w.shape[2]!, attrs.stride[0], attrs.padding[0], attrs.dilation[0]);
      const ow = windowOutSize(x.shape[3]!, w.shape[3]!, attrs.stride[1], attrs.padding[1], attrs.dilation[1]);
      const shape = [x.shape[0]!, w.shape[0]!, oh, ow];
      if (shape.includes(0) || x.size === 0) return decline(inputs);
      const c = convConstants(x.shape, w.shape, shape, attrs, 'out');
      const bias: Arg = b ?? new Float32Array(c.CO);
      const out = launcher.launch(conv.conv2dForward, [ow, oh, c.N * c.G * c.B], c, [x, w, bias], 0, {
        outer: c.N,
        groups: c.G,
        channelsPerGroup: c.COG,
        ySize: oh,
        xSize: ow,
        swapXY: false,
      });
      return { out: launcher.tensor(out, shape, 'float32') };
    },
    conv2dBackwardInput: (inputs, attrs) => {
      const [dy, w] = inputs as [Tensor, Tensor];
      if (!allF32(inputs) || dy.size === 0) return decline(inputs);
      const c = convConstants(attrs.inputShape, w.shape, dy.shape, attrs, 'in');
      const out = launcher.launch(conv.conv2dBackwardInput, [c.W, c.H, c.N * c.G * c.B], c, [dy, w], 0, {
        outer: c.N,
        groups: c.G,
        channelsPerGroup: c.CIG,
        ySize: c.H,
        xSize: c.W,
        swapXY: false,
      });
      return { out: launcher.tensor(out, attrs.inputShape, 'float32') };
    },
    conv2dBackwardWeight: (inputs, attrs) => {
      const [x, dy] = inputs as [Tensor, Tensor];
      if (!allF32(inputs) || dy.size === 0) return decline(inputs);
      const c = convConstants(x.shape, attrs.weightShape, dy.shape, attrs, 'out');
      const kernelArea = c.KH * c.KW;
      const out = launcher.launch(conv.conv2dBackwardWeight, [c.CIG, kernelArea, c.G * c.B], c, [x, dy], 0, {
        outer: 1,
        groups: c.G,
        channelsPerGroup: c.COG,
        ySize: kernelArea,
        xSize: c.CIG,
        swapXY: true,
      });
      return { out: launcher.tensor(out, attrs.weightShape, 'float32') };
    },
    maxPool2d: (inputs, attrs) => {
      const x = inputs[0]!;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      const c = poolConstants(x.shape, attrs, false, null);
      const grid = [c.OW, c.OH, x.shape[0]! * x.shape[1]!];
      const shape = [x.shape[0]!, x.shape[1]!, c.OH, c.OW];
      const out = launcher.tensor(launcher.launch(pool.maxPool2dValues, grid, c, [x], sizeOf(grid)), shape, 'float32');
      const idx = launcher.tensor(launcher.launch(pool.maxPool2dIndices, grid, c, [x], sizeOf(grid)), shape, 'int32');
      poolOf.set(idx, c);
      return { out, extras: [idx] };
    },
    scatterPlanes: (inputs, attrs) => {
      const [dy, indices] = inputs as [Tensor, Tensor];
      const c = poolOf.get(indices);
      if (!c || dy.dtype !== 'float32' || c.H !== attrs.planeShape[0] || c.W !== attrs.planeShape[1]) return decline(inputs);
      const planes = dy.shape[0]! * dy.shape[1]!;
      const out = launcher.launch(pool.maxPool2dBackward, [c.W, c.H, planes], c, [dy, indices], c.W * c.H * planes);
      return { out: launcher.tensor(out, [dy.shape[0]!, dy.shape[1]!, c.H, c.W], 'float32') };
    },
    avgPool2d: (inputs, attrs) => {
      const x = inputs[0]!;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      const c = poolConstants(x.shape, attrs, attrs.countIncludePad, attrs.divisorOverride);
      const grid = [c.OW, c.OH, x.shape[0]! * x.shape[1]!];
      const out = launcher.launch(pool.avgPool2dForward, grid, c, [x], sizeOf(grid));
      return { out: launcher.tensor(out, [x.shape[0]!, x.shape[1]!, c.OH, c.OW], 'float32') };
    },
    avgPool2dBackward: (inputs, attrs) => {
      const dy = inputs[0]!;
      if (dy.dtype !== 'float32' || dy.size === 0) return decline(inputs);
      const c = poolConstants(attrs.inputShape, attrs, attrs.countIncludePad, attrs.divisorOverride);
      const planes = attrs.inputShape[0]! * attrs.inputShape[1]!;
      const out = launcher.launch(pool.avgPool2dBackward, [c.W, c.H, planes], c, [dy], c.W * c.H * planes);
      return { out: launcher.tensor(out, attrs.inputShape, 'float32') };
    },
  };

  /** Batched matmul (and linear, with a bias) on the device: four rows of the result per thread. */
  function matmul(a: Tensor, b: Tensor, bias: Tensor | null, c: mm.MatmulConstants, batch: number): DeviceValue {
    return launcher.launch(mm.matmul, [c.N, 1, batch * c.MB], c, [a, b, bias ?? new Float32Array(c.N)], 0, {
      outer: batch,
      groups: 1,
      channelsPerGroup: c.M,
      ySize: 1,
      xSize: c.N,
      swapXY: false,
    });
  }

  // Ops whose tensors are beyond exact float32 indexing decline (the registry runs them on the CPU and says so).
  const guarded: Record<string, unknown> = {};
  for (const [op, kernel] of Object.entries(table) as [string, (i: readonly Tensor[], a: never) => KernelResult | Declined][]) {
    guarded[op] = guardSize(kernel);
  }
  return guarded as BackendKernelTable;
}
