/**
 * The op table of the gpujs backend: which ops run as gpu.js kernels, with which constants and grid.
 * A kernel declines a call it cannot run (float64, empty, a broadcast over more than six dimensions, too large):
 * the registry then runs the CPU kernel and lists the op and the reason in getBackendInfo().cpuFallbacks.
 */
import { broadcastShapes, matmulDims, namedKernels, sizeOf, windowOutSize } from '@gradlens/tensor';
import type { NamedBackendKernelTable, Tensor } from '@gradlens/tensor';
import {
  adaptiveTables,
  bilinearTaps,
  expandConstants,
  broadcastConstants,
  convConstants,
  elementwiseCase,
  matmulConstants,
  MAX_BROADCAST_RANK,
  permuteConstants,
  poolConstants,
  reduceConstants,
  reducedShape,
  sliceConstants,
  unsliceConstants,
  whereConstants,
} from './geometry';
import * as bc from './kernels/broadcast';
import * as conv from './kernels/conv2d';
import * as single from './kernels/conv2d-single';
import * as ew from './kernels/elementwise';
import * as mm from './kernels/matmul';
import * as mv from './kernels/movement';
import * as pool from './kernels/pool2d';
import * as red from './kernels/reduce';
import * as rs from './kernels/resize';
import * as tf from './kernels/transformer';
import type { PoolConstants } from './kernels/types';
import type { Arg, KernelLauncher, KernelSource } from './launcher';
import { guardSize } from './size-guard';
import { GpujsStorage, type DeviceValue } from './storage';
import type { BackendKernelTable, Declined, KernelResult, OpAttrs } from './types';

/** The tensors of a call's named inputs. */
const tensorsOf = (inputs: Readonly<Record<string, Tensor | undefined>>): Tensor[] => Object.values(inputs).filter((t) => t !== undefined);

/** Why a kernel declines a call: its dtypes, an empty tensor, or a case the kernel does not cover. */
function decline(named: Readonly<Record<string, Tensor | undefined>>): Declined {
  const inputs = tensorsOf(named);
  const other = inputs.find((t) => t.dtype !== 'float32');
  if (other) return { declined: `${other.dtype} input (gpujs kernels are float32)` };
  if (inputs.some((t) => t.size === 0)) return { declined: 'an empty tensor' };
  return {
    declined:
      'a case its kernel does not cover (a broadcast over more than six dimensions, a scalar held on the device, or pooling indices not made here)',
  };
}

/** The device kernels over `launcher`, each wrapped by `guardSize` (a tensor over 2^24 elements declines). */
export function deviceKernels(launcher: KernelLauncher): BackendKernelTable {
  const allF32 = (named: Readonly<Record<string, Tensor | undefined>>) => tensorsOf(named).every((t) => t.dtype === 'float32');
  const run = (fn: KernelSource, n: number, args: Arg[]): DeviceValue => launcher.launch(fn, [n], {}, args, n);
  /**
   * gpu.js's WebGPU mode cannot feed an Array(4) result to another kernel (the device-side unpack), so
   * there conv and matmul run the one-value-per-thread kernels of conv2d-single.ts.
   */
  const oneValuePerThread = launcher.mode === 'webgpu';
  /** Pool geometry of the index tensors max-pool made here, so that its backward runs on the device. */
  const poolOf = new WeakMap<Tensor, PoolConstants>();
  /** Whether a scalar operand's one value is on the host (a device one is not read back to pass it as a number). */
  const hostScalar = (t: Tensor): boolean => !(t.deviceStorage() instanceof GpujsStorage);

  const binary =
    (op: 'add' | 'sub' | 'mul', fn: KernelSource, scalarFn: KernelSource | null, sign: number) =>
    (inputs: { a: Tensor; b: Tensor }, _attrs: OpAttrs[typeof op]): KernelResult | Declined => {
      const { a, b } = inputs;
      const which = elementwiseCase(a.shape, b.shape);
      if (!allF32(inputs)) return decline(inputs);
      const shape = broadcastShapes(op, a.shape, b.shape);
      const n = sizeOf(shape);
      if (n === 0) return decline(inputs);
      // a scalar held on the device would have to be read back to the host: broadcast it in a kernel instead
      const scalarOk = (which === 'scalarB' && hostScalar(b)) || (which === 'scalarA' && sign === 1 && hostScalar(a));
      if (which !== 'same' && (!scalarFn || !scalarOk)) {
        if (shape.length > MAX_BROADCAST_RANK) return decline(inputs);
        const c = broadcastConstants(a.shape, b.shape, shape, op === 'add' ? 0 : op === 'sub' ? 1 : 2);
        return { out: launcher.tensor(launcher.launch(bc.binaryBroadcast, [n], c, [a, b], n), shape, 'float32') };
      }
      if (which === 'same') return { out: launcher.tensor(run(fn, n, [a, b]), shape, 'float32') };
      if (scalarFn && which === 'scalarB') return { out: launcher.tensor(run(scalarFn, n, [a, sign * b.values()[0]!]), shape, 'float32') };
      if (scalarFn && which === 'scalarA' && sign === 1)
        return { out: launcher.tensor(run(scalarFn, n, [b, a.values()[0]!]), shape, 'float32') };
      return decline(inputs);
    };

  /** div, minimum, maximum, pow, and ge, gt, lt, le, eq and ne (bool masks) with broadcasting, any operand shapes up to six dimensions. */
  const broadcastOnly =
    (op: 'div' | 'ge' | 'gt' | 'lt' | 'le' | 'eq' | 'ne' | 'minimum' | 'maximum' | 'pow', code: 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12) =>
    (inputs: { a: Tensor; b: Tensor }): KernelResult | Declined => {
      const { a, b } = inputs;
      if (!allF32(inputs)) return decline(inputs);
      const shape = broadcastShapes(op, a.shape, b.shape);
      const n = sizeOf(shape);
      if (n === 0 || shape.length > MAX_BROADCAST_RANK) return decline(inputs);
      const c = broadcastConstants(a.shape, b.shape, shape, code);
      const dtype = op === 'ge' || op === 'gt' || op === 'lt' || op === 'le' || op === 'eq' || op === 'ne' ? 'bool' : 'float32';
      return { out: launcher.tensor(launcher.launch(bc.binaryBroadcast, [n], c, [a, b], n), shape, dtype) };
    };

  const powBroadcast = broadcastOnly('pow', 8);
  const gtBroadcast = broadcastOnly('gt', 9);

  /** sum, mean, max and min over `dims` (float32, up to six dimensions). */
  const reduction =
    (code: 0 | 1 | 2 | 3) =>
    (inputs: { x: Tensor }, attrs: { dims: number[]; keepdim: boolean }): KernelResult | Declined => {
      const { x } = inputs;
      const shape = reducedShape(x.shape, attrs.dims, attrs.keepdim);
      const n = sizeOf(shape);
      if (x.dtype !== 'float32' || x.size === 0 || n === 0 || x.rank > MAX_BROADCAST_RANK) return decline(inputs);
      const c = reduceConstants(x.shape, attrs.dims, code);
      return { out: launcher.tensor(launcher.launch(red.reduceDims, [n], c, [x], n), shape, 'float32') };
    };

  /** A float32 elementwise op of one input. */
  const unary =
    (fn: KernelSource) =>
    (inputs: { x: Tensor }): KernelResult | Declined => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(fn, x.size, [x]), x.shape, 'float32') };
    };

  /** A gather of float32 values or masks (stored as floats on the device) into `shape`. */
  const gathered = (x: Tensor, shape: number[], c: Record<string, number>, fn: KernelSource = mv.gatherStrided): KernelResult => {
    const n = sizeOf(shape);
    return { out: launcher.tensor(launcher.launch(fn, [n], c, [x], n), shape, x.dtype) };
  };
  const movable = (x: Tensor): boolean => (x.dtype === 'float32' || x.dtype === 'bool') && x.size > 0 && x.rank <= MAX_BROADCAST_RANK;

  const table: NamedBackendKernelTable = {
    exp: unary(tf.exp),
    erf: unary(tf.erf),
    gelu: (inputs, attrs) => unary(attrs.approximate === 'tanh' ? tf.geluTanh : tf.gelu)(inputs),
    neg: unary(ew.neg),
    log: unary(ew.log),
    sqrt: unary(ew.sqrt),
    tanh: unary(ew.tanh),
    sigmoid: unary(ew.sigmoid),
    pow: (inputs) => {
      const { a, b } = inputs;
      if (!allF32(inputs) || a.size === 0 || b.size === 0) return decline(inputs);
      // a power by one number on the host that leaves a's shape (layer norm's rule: (var + ε)^−½): passed as a number
      if (b.size === 1 && b.rank <= a.rank && hostScalar(b)) {
        const s = b.values()[0]!;
        const integer = Number.isInteger(s);
        const c = { INTEGER: integer ? 1 : 0, ODD: integer && Math.abs(s % 2) === 1 ? 1 : 0 };
        return { out: launcher.tensor(launcher.launch(tf.powScalar, [a.size], c, [a, s], a.size), a.shape, 'float32') };
      }
      return powBroadcast(inputs);
    },
    eq: broadcastOnly('eq', 5),
    lt: broadcastOnly('lt', 10),
    ne: broadcastOnly('ne', 12),
    le: broadcastOnly('le', 11),
    minimum: broadcastOnly('minimum', 6),
    maximum: broadcastOnly('maximum', 7),
    softmax: (inputs, attrs) => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      const D = x.shape[attrs.dim]!;
      const c = { D, S: sizeOf(x.shape.slice(attrs.dim + 1)), ROWS: x.size / D };
      return { out: launcher.tensor(withRowStats(tf.softmaxStats, tf.softmaxApply, x, c, []), x.shape, 'float32') };
    },
    layerNorm: (inputs, attrs) => {
      const { x, weight, bias } = inputs;
      if (!allF32(inputs) || x.size === 0) return decline(inputs);
      const R = sizeOf(x.shape.slice(x.rank - attrs.dims));
      const w: Arg = weight ?? new Float32Array(R).fill(1);
      const b: Arg = bias ?? new Float32Array(R);
      const out = withRowStats(tf.layerNormStats, tf.layerNormApply, x, { R, ROWS: x.size / R, EPS: attrs.eps }, [w, b]);
      return { out: launcher.tensor(out, x.shape, 'float32') };
    },
    permute: (inputs, attrs) => {
      const { x } = inputs;
      if (!movable(x)) return decline(inputs);
      const p = permuteConstants(x.shape, attrs.dims);
      return gathered(x, p.shape, p.constants);
    },
    slice: (inputs, attrs) => {
      const { x } = inputs;
      if (!movable(x)) return decline(inputs);
      const p = sliceConstants(x.shape, attrs.begin, attrs.end, attrs.step);
      if (sizeOf(p.shape) === 0) return decline(inputs);
      return gathered(x, p.shape, p.constants);
    },
    expand: (inputs, attrs) => {
      const { x } = inputs;
      if (!movable(x) || attrs.shape.length > MAX_BROADCAST_RANK || sizeOf(attrs.shape) === 0) return decline(inputs);
      return gathered(x, attrs.shape, expandConstants(x.shape, attrs.shape));
    },
    indexSelect: (inputs, attrs) => {
      const { x, index } = inputs;
      if (!movable(x) || index.size === 0) return decline(inputs);
      const shape = [...x.shape];
      shape[attrs.dim] = index.size;
      const c = { D: x.shape[attrs.dim]!, K: index.size, INNER: sizeOf(x.shape.slice(attrs.dim + 1)) };
      const n = sizeOf(shape);
      return { out: launcher.tensor(launcher.launch(mv.indexSelect, [n], c, [x, index], n), shape, x.dtype) };
    },
    indexAdd: (inputs, attrs) => {
      const { x, index } = inputs;
      if (x.dtype !== 'float32' || x.size === 0 || index.size === 0) return decline(inputs);
      const shape = [...x.shape];
      shape[attrs.dim] = attrs.size;
      const c = { SIZE: attrs.size, K: index.size, INNER: sizeOf(x.shape.slice(attrs.dim + 1)) };
      const n = sizeOf(shape);
      if (n === 0) return decline(inputs);
      return { out: launcher.tensor(launcher.launch(mv.indexAdd, [n], c, [x, index], n), shape, 'float32') };
    },
    unslice: (inputs, attrs) => {
      const { x } = inputs;
      if (!movable(x) || attrs.shape.length > MAX_BROADCAST_RANK) return decline(inputs);
      return gathered(x, attrs.shape, unsliceConstants(attrs.shape, attrs.begin, attrs.end, attrs.step), mv.unslice);
    },
    cat: (inputs, attrs) => {
      const { xs } = inputs;
      // empty pieces add nothing; the rest are joined two at a time, a balanced tree of cat2 launches
      // (⌈log₂ k⌉ copies of each element for k pieces)
      const parts = xs.filter((t) => t.size > 0);
      const first = parts[0];
      if (!first || !parts.every(movable) || parts.some((t) => t.dtype !== first.dtype))
        return decline(Object.fromEntries(xs.map((t, i) => [`x${i}`, t])));
      if (parts.length === 1) return { out: launcher.tensor(run(ew.copy, first.size, [first]), first.shape, first.dtype) };
      const made: Tensor[] = [];
      let level = parts;
      while (level.length > 1) {
        const next: Tensor[] = [];
        for (let i = 0; i < level.length; i += 2) {
          const a = level[i]!;
          const b = level[i + 1];
          if (!b) next.push(a);
          else {
            const joined = cat2(a, b, attrs.dim);
            made.push(joined);
            next.push(joined);
          }
        }
        level = next;
      }
      const out = level[0]!;
      for (const t of made) if (t !== out) t.dispose();
      return { out };
    },
    abs: (inputs) => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(ew.abs, x.size, [x]), x.shape, 'float32') };
    },
    div: broadcastOnly('div', 3),
    ge: broadcastOnly('ge', 4),
    where: (inputs) => {
      const { cond, a, b } = inputs;
      if (cond.dtype !== 'bool' || a.dtype !== 'float32' || b.dtype !== 'float32') return decline(inputs);
      const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
      const n = sizeOf(shape);
      if (n === 0 || shape.length > MAX_BROADCAST_RANK) return decline(inputs);
      const c = whereConstants(cond.shape, a.shape, b.shape, shape);
      return { out: launcher.tensor(launcher.launch(bc.whereBroadcast, [n], c, [cond, a, b], n), shape, 'float32') };
    },
    reshape: (inputs, attrs) => {
      const { x } = inputs;
      // a copy on the device (masks are stored as floats there); the CPU's would read the values back
      if ((x.dtype !== 'float32' && x.dtype !== 'bool') || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(ew.copy, x.size, [x]), attrs.shape, x.dtype) };
    },
    sum: reduction(0),
    mean: reduction(1),
    max: reduction(2),
    min: reduction(3),
    adaptiveAvgPool2d: (inputs, attrs) => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0 || x.rank !== 4) return decline(inputs);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [OH, OW] = attrs.outSize;
      const t = adaptiveTables(H, W, OH, OW);
      const grid = [OW, OH, N * C];
      return {
        out: launcher.tensor(
          launcher.launch(rs.adaptiveAvgPool2dForward, grid, t.forward, [x, t.win], sizeOf(grid)),
          [N, C, OH, OW],
          'float32',
        ),
      };
    },
    adaptiveAvgPool2dBackward: (inputs, attrs) => {
      const { dy } = inputs;
      if (dy.dtype !== 'float32' || dy.size === 0 || dy.rank !== 4) return decline(inputs);
      const [N, C, H, W] = attrs.inputShape as [number, number, number, number];
      const t = adaptiveTables(H, W, dy.shape[2]!, dy.shape[3]!);
      const grid = [W, H, N * C];
      const out = launcher.launch(rs.adaptiveAvgPool2dBackward, grid, t.backward, [dy, t.win, t.cover], sizeOf(grid));
      return { out: launcher.tensor(out, attrs.inputShape, 'float32') };
    },
    upsampleBilinear2d: (inputs, attrs) => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0 || x.rank !== 4) return decline(inputs);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const { taps, constants } = bilinearTaps(H, W, attrs);
      const grid = [constants.OW, constants.OH, N * C];
      const out = launcher.launch(rs.upsampleBilinear2dForward, grid, constants, [x, taps], sizeOf(grid));
      return { out: launcher.tensor(out, [N, C, constants.OH, constants.OW], 'float32') };
    },
    relu: (inputs) => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(ew.relu, x.size, [x]), x.shape, 'float32') };
    },
    reluBackward: (inputs) => {
      const { dy, x } = inputs;
      if (!allF32(inputs) || x.size === 0) return decline(inputs);
      return { out: launcher.tensor(run(ew.reluBackward, x.size, [dy, x]), x.shape, 'float32') };
    },
    mul: binary('mul', ew.mul, ew.mulScalar, 1),
    add: binary('add', ew.add, ew.addScalar, 1),
    sub: binary('sub', ew.sub, ew.addScalar, -1),
    gt: (inputs) => {
      const { a, b } = inputs;
      const which = elementwiseCase(a.shape, b.shape);
      if (!allF32(inputs)) return decline(inputs);
      if (!which) return gtBroadcast(inputs);
      const shape = broadcastShapes('gt', a.shape, b.shape);
      const n = sizeOf(shape);
      if (which === 'same') return { out: launcher.tensor(run(ew.gt, n, [a, b]), shape, 'bool') };
      if (!hostScalar(which === 'scalarB' ? b : a)) return gtBroadcast(inputs);
      if (which === 'scalarB') return { out: launcher.tensor(run(ew.gtScalar, n, [a, b.values()[0]!]), shape, 'bool') };
      return { out: launcher.tensor(run(ew.ltScalar, n, [b, a.values()[0]!]), shape, 'bool') };
    },
    cast: (inputs, attrs) => {
      const { x } = inputs;
      const { dtype } = attrs;
      if (x.dtype === 'float64' || dtype === 'float64' || x.size === 0) return decline(inputs);
      const fn = dtype === 'bool' ? ew.nonZero : dtype === 'int32' && x.dtype === 'float32' ? ew.trunc : ew.copy;
      return { out: launcher.tensor(run(fn, x.size, [x]), x.shape, dtype) };
    },
    matmul: (inputs, attrs) => {
      const { a, b } = inputs;
      if (!allF32(inputs)) return decline(inputs);
      const { batchShape, ...dims } = matmulDims(a.shape, b.shape, attrs.transA, attrs.transB);
      if (dims.m * dims.n * dims.batch === 0 || dims.k === 0) return decline(inputs);
      const out = matmul(a, b, null, matmulConstants(dims, attrs.transA, attrs.transB), dims.batch);
      return { out: launcher.tensor(out, [...batchShape, dims.m, dims.n], 'float32') };
    },
    linear: (inputs) => {
      const { x, weight, bias } = inputs;
      if (!allF32(inputs)) return decline(inputs);
      const inF = weight.shape[1]!,
        outF = weight.shape[0]!;
      const rows = x.size / inF;
      if (rows === 0 || inF === 0) return decline(inputs);
      const consts = matmulConstants({ batch: 1, m: rows, n: outF, k: inF, aBatchStride: 0, bBatchStride: 0 }, false, true);
      return { out: launcher.tensor(matmul(x, weight, bias ?? null, consts, 1), [...x.shape.slice(0, -1), outF], 'float32') };
    },
    conv2d: (inputs, attrs) => {
      const { x, weight, bias } = inputs;
      if (!allF32(inputs)) return decline(inputs);
      const oh = windowOutSize(x.shape[2]!, weight.shape[2]!, attrs.stride[0], attrs.padding[0], attrs.dilation[0]);
      const ow = windowOutSize(x.shape[3]!, weight.shape[3]!, attrs.stride[1], attrs.padding[1], attrs.dilation[1]);
      const shape = [x.shape[0]!, weight.shape[0]!, oh, ow];
      if (shape.includes(0) || x.size === 0) return decline(inputs);
      const c = convConstants(x.shape, weight.shape, shape, attrs, 'out');
      const biasArg: Arg = bias ?? new Float32Array(c.CO);
      if (oneValuePerThread) {
        const grid = [ow, oh, c.N * c.CO];
        return {
          out: launcher.tensor(launcher.launch(single.conv2dForwardSingle, grid, c, [x, weight, biasArg], sizeOf(grid)), shape, 'float32'),
        };
      }
      const out = launcher.launch(conv.conv2dForward, [ow, oh, c.N * c.G * c.B], c, [x, weight, biasArg], 0, {
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
      const { dy, weight } = inputs;
      if (!allF32(inputs) || dy.size === 0) return decline(inputs);
      const c = convConstants(attrs.inputShape, weight.shape, dy.shape, attrs, 'in');
      if (oneValuePerThread) {
        const grid = [c.W, c.H, c.N * c.C];
        return {
          out: launcher.tensor(
            launcher.launch(single.conv2dBackwardInputSingle, grid, c, [dy, weight], sizeOf(grid)),
            attrs.inputShape,
            'float32',
          ),
        };
      }
      const out = launcher.launch(conv.conv2dBackwardInput, [c.W, c.H, c.N * c.G * c.B], c, [dy, weight], 0, {
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
      const { x, dy } = inputs;
      if (!allF32(inputs) || dy.size === 0) return decline(inputs);
      const c = convConstants(x.shape, attrs.weightShape, dy.shape, attrs, 'out');
      const kernelArea = c.KH * c.KW;
      if (oneValuePerThread) {
        const grid = [kernelArea, c.CIG, c.CO];
        return {
          out: launcher.tensor(
            launcher.launch(single.conv2dBackwardWeightSingle, grid, c, [x, dy], sizeOf(grid)),
            attrs.weightShape,
            'float32',
          ),
        };
      }
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
      const { x } = inputs;
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
      const { dy, indices } = inputs;
      const c = poolOf.get(indices);
      if (!c || dy.dtype !== 'float32' || c.H !== attrs.planeShape[0] || c.W !== attrs.planeShape[1]) return decline(inputs);
      const planes = dy.shape[0]! * dy.shape[1]!;
      const out = launcher.launch(pool.maxPool2dBackward, [c.W, c.H, planes], c, [dy, indices], c.W * c.H * planes);
      return { out: launcher.tensor(out, [dy.shape[0]!, dy.shape[1]!, c.H, c.W], 'float32') };
    },
    avgPool2d: (inputs, attrs) => {
      const { x } = inputs;
      if (x.dtype !== 'float32' || x.size === 0) return decline(inputs);
      const c = poolConstants(x.shape, attrs, attrs.countIncludePad, attrs.divisorOverride);
      const grid = [c.OW, c.OH, x.shape[0]! * x.shape[1]!];
      const out = launcher.launch(pool.avgPool2dForward, grid, c, [x], sizeOf(grid));
      return { out: launcher.tensor(out, [x.shape[0]!, x.shape[1]!, c.OH, c.OW], 'float32') };
    },
    avgPool2dBackward: (inputs, attrs) => {
      const { dy } = inputs;
      if (dy.dtype !== 'float32' || dy.size === 0) return decline(inputs);
      const c = poolConstants(attrs.inputShape, attrs, attrs.countIncludePad, attrs.divisorOverride);
      const planes = attrs.inputShape[0]! * attrs.inputShape[1]!;
      const out = launcher.launch(pool.avgPool2dBackward, [c.W, c.H, planes], c, [dy], c.W * c.H * planes);
      return { out: launcher.tensor(out, attrs.inputShape, 'float32') };
    },
  };

  /** a and b joined along `dim` by one launch. */
  function cat2(a: Tensor, b: Tensor, dim: number): Tensor {
    const shape = [...a.shape];
    shape[dim] = a.shape[dim]! + b.shape[dim]!;
    const c = { DA: a.shape[dim]!, DB: b.shape[dim]!, INNER: sizeOf(a.shape.slice(dim + 1)) };
    const n = sizeOf(shape);
    return launcher.tensor(launcher.launch(mv.cat2, [n], c, [a, b], n), shape, a.dtype);
  }

  /**
   * A row-wise op in two launches: `stats` writes each of the ROWS rows' two statistics ([2·ROWS]: softmax's
   * max and Σ, layer norm's mean and 1/σ), then `apply` computes each element from x and its row's pair, so
   * no thread walks its row again (O(row) per element before: 768 reads per element at ViT-B's width).
   */
  function withRowStats(
    stats: KernelSource,
    apply: KernelSource,
    x: Tensor,
    c: Record<string, number> & { ROWS: number },
    rest: Arg[],
  ): DeviceValue {
    const perRow = launcher.tensor(launcher.launch(stats, [2 * c.ROWS], c, [x], 2 * c.ROWS), [2 * c.ROWS], 'float32');
    try {
      return launcher.launch(apply, [x.size], c, [x, perRow, ...rest], x.size);
    } finally {
      perRow.dispose(); // a kernel still waiting for it (WebGPU) holds its own reference
    }
  }

  /** Batched matmul (and linear, with a bias) on the device: four rows of the result per thread. */
  function matmul(a: Tensor, b: Tensor, bias: Tensor | null, c: mm.MatmulConstants, batch: number): DeviceValue {
    if (oneValuePerThread)
      return launcher.launch(single.matmulSingle, [c.N, c.M, batch], c, [a, b, bias ?? new Float32Array(c.N)], c.N * c.M * batch);
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
  for (const [op, kernel] of Object.entries(namedKernels(table)) as [
    string,
    (i: readonly Tensor[], a: never) => KernelResult | Declined,
  ][]) {
    guarded[op] = guardSize(kernel);
  }
  return guarded as BackendKernelTable;
}
