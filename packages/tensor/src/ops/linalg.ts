import { fmt, opError } from '../errors';
import { broadcastShapes, sameShape } from '../shape';
import type { Tensor } from '../tensor';
import { requireFloat } from './elementwise';
import { runOp } from './run';
import { expand, reshape, squeeze } from './shape-ops';

/** Matrix product with torch.matmul's rules: 1-D operands are promoted and squeezed, batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat('matmul', a, 'a');
  requireFloat('matmul', b, 'b');
  if (a.dtype !== b.dtype) throw opError('matmul', `operands must share a dtype, got ${a.dtype} and ${b.dtype}`);
  if (a.rank === 0 || b.rank === 0) throw opError('matmul', `operands must have at least 1 dim, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const k = a2.shape[a2.rank - 1]!;
  if (b2.shape[b2.rank - 2] !== k) {
    throw opError('matmul', `inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} vs ${b2.shape[b2.rank - 2]})`);
  }
  const aBatch = a2.shape.slice(0, -2);
  const bBatch = b2.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', aBatch, bBatch);
  } catch {
    throw opError(
      'matmul',
      `batch dimensions ${fmt(aBatch)} of ${fmt(a.shape)} and ${fmt(bBatch)} of ${fmt(b.shape)} cannot be broadcast together`,
    );
  }
  // The kernel reads a batch either whole or as one broadcast matrix; other broadcasts are expanded first.
  const fit = (t: Tensor): Tensor => {
    const own = t.shape.slice(0, -2);
    if (sameShape(own, batch) || own.every((d) => d === 1)) return t;
    return expand(t, [...batch, ...t.shape.slice(-2)]);
  };
  let out = runOp('matmul', [fit(a2), fit(b2)], { transA: false, transB: false });
  if (a.rank === 1) out = squeeze(out, -2);
  if (b.rank === 1) out = squeeze(out, -1);
  return out;
}

/** x · weightᵀ + bias, as F.linear: x [*, in], weight [out, in], bias [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  requireFloat('linear', x);
  if (weight.rank !== 2) throw opError('linear', `weight must be [out, in], got ${fmt(weight.shape)}`);
  if (x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw opError('linear', `input ${fmt(x.shape)} must end in in_features=${weight.shape[1]} (weight ${fmt(weight.shape)})`);
  }
  if (x.dtype !== weight.dtype) throw opError('linear', `input is ${x.dtype} but weight is ${weight.dtype}`);
  // A 1-D input runs as one row, so that the kernel and its gradient rule only ever see [rows, in].
  if (x.rank === 1) return reshape(linear(reshape(x, [1, x.shape[0]!]), weight, bias), [weight.shape[0]!]);
  if (bias) {
    if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0]) {
      throw opError('linear', `bias must be [${weight.shape[0]}], got ${fmt(bias.shape)}`);
    }
    return runOp('linear', [x, weight, bias], {});
  }
  return runOp('linear', [x, weight], {});
}
