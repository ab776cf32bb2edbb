import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { OpTable } from './op-context';
import { float, input, roundHalfEven } from './op-context';
import { asTensor, Const } from './values';

// GridSample (2-D: bilinear, nearest, bicubic) as PyTorch's F.grid_sample computes it: the grid's coordinates, unnormalised and padded
// with tensor ops, give the weights (differentiable in the grid); where they land is read from their values
// (a floor has no gradient) and the input is gathered there (differentiable in the input).

/** [-1, 1] → pixel coordinates along a side of `size`. */
function unnormalise(g: Tensor, size: number, alignCorners: boolean): Tensor {
  return alignCorners ? t.mul(t.add(g, 1), (size - 1) / 2) : t.div(t.sub(t.mul(t.add(g, 1), size), 1), 2);
}

/** Numbers as a constant tensor of `like`'s shape and dtype. */
function constantLike(values: number[], like: Tensor): Tensor {
  return asTensor(new Const(values, like.shape, 'float64'), like);
}

/** Reflects c into [lo, hi] (as often as it takes), keeping slope ±1 so the gradient passes. */
function reflect(c: Tensor, lo: number, hi: number): Tensor {
  const span = hi - lo;
  if (span <= 0) return t.add(t.mul(c, 0), lo);
  const d = t.abs(t.sub(c, lo));
  const folds = Array.from(d.values(), (v) => Math.floor(v / span));
  const even = new Tensor(
    Uint8Array.from(folds, (f) => (f % 2 === 0 ? 1 : 0)),
    d.shape,
    'bool',
  );
  const r = t.sub(
    d,
    constantLike(
      folds.map((f) => f * span),
      d,
    ),
  );
  return t.add(t.where(even, r, t.sub(span, r)), lo);
}

/** The padding mode's coordinate: border clips to the image, reflection folds into it (then clips), zeros keeps it. */
function pad(c: Tensor, size: number, mode: string, alignCorners: boolean): Tensor {
  if (mode === 'border') return t.clamp(c, { min: 0, max: size - 1 });
  if (mode === 'reflection') {
    const folded = alignCorners ? reflect(c, 0, size - 1) : reflect(c, -0.5, size - 0.5);
    return t.clamp(folded, { min: 0, max: size - 1 });
  }
  return c;
}

/** x [N, C, H, W] read at integer pixels (rows, cols per output point [N, Ho, Wo]); outside → 0. */
function gather(x: Tensor, rows: number[], cols: number[], outShape: [number, number, number]): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, ho, wo] = outShape;
  const points = ho * wo;
  const zero = n * c * h * w; // the appended 0
  const index = new Array<number>(n * c * points);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < points; p++) {
        const [r, q] = [rows[b * points + p]!, cols[b * points + p]!];
        index[(b * c + ch) * points + p] = r < 0 || r >= h || q < 0 || q >= w ? zero : ((b * c + ch) * h + r) * w + q;
      }
  const flat = t.cat([t.reshape(x, [-1]), t.zeros([1], x.dtype)], 0);
  return t.reshape(t.indexSelect(flat, 0, index), [n, c, ho, wo]);
}

function gridSample(x: Tensor, grid: Tensor, mode: string, padding: string, alignCorners: boolean): Tensor {
  if (x.rank !== 4)
    throw new Error(`GridSample on a ${x.rank}-D input [${x.shape.join(', ')}]: gradlens supports the 2-D (4-D input) form`);
  const [n, , h, w] = x.shape as [number, number, number, number];
  if (grid.rank !== 4 || grid.shape[0] !== n || grid.shape[3] !== 2)
    throw new Error(`GridSample grid [${grid.shape.join(', ')}] is not [${n}, H_out, W_out, 2]`);
  if (!['zeros', 'border', 'reflection'].includes(padding))
    throw new Error(`GridSample padding_mode '${padding}' is not zeros, border or reflection`);
  const out: [number, number, number] = [n, grid.shape[1]!, grid.shape[2]!];
  // Coordinates [N, 1, Ho, Wo], to broadcast over the channels.
  const coordinate = (k: number, size: number) =>
    pad(unnormalise(t.permute(t.slice(grid, 3, k, k + 1), [0, 3, 1, 2]), size, alignCorners), size, padding, alignCorners);
  const ix = coordinate(0, w);
  const iy = coordinate(1, h);
  const valuesOf = (c: Tensor) => Array.from(c.values());
  if (mode === 'nearest') return gather(x, valuesOf(iy).map(roundHalfEven), valuesOf(ix).map(roundHalfEven), out);
  if (mode === 'bicubic' || mode === 'cubic') return bicubic(x, grid, padding, alignCorners, out);
  if (mode !== 'bilinear' && mode !== 'linear') throw new Error(`GridSample mode '${mode}' is not bilinear, nearest or bicubic`);
  const x0 = valuesOf(ix).map(Math.floor);
  const y0 = valuesOf(iy).map(Math.floor);
  const wx1 = t.sub(ix, constantLike(x0, ix));
  const wy1 = t.sub(iy, constantLike(y0, iy));
  const [wx0, wy0] = [t.sub(1, wx1), t.sub(1, wy1)];
  const plus1 = (v: number[]) => v.map((k) => k + 1);
  const corner = (rows: number[], cols: number[], weight: Tensor) => t.mul(gather(x, rows, cols, out), weight);
  return t.add(
    t.add(corner(y0, x0, t.mul(wy0, wx0)), corner(y0, plus1(x0), t.mul(wy0, wx1))),
    t.add(corner(plus1(y0), x0, t.mul(wy1, wx0)), corner(plus1(y0), plus1(x0), t.mul(wy1, wx1))),
  );
}

/** A tap's integer coordinate under the padding mode (PyTorch pads each bicubic tap, not the sampling point). */
function padTap(k: number, size: number, padding: string, alignCorners: boolean): number {
  if (padding === 'border') return Math.min(size - 1, Math.max(0, k));
  if (padding !== 'reflection') return k;
  const [lo, hi] = alignCorners ? [0, size - 1] : [-0.5, size - 0.5];
  const span = hi - lo;
  if (span <= 0) return 0;
  const d = Math.abs(k - lo);
  const folds = Math.floor(d / span);
  const r = d - folds * span;
  return Math.min(size - 1, Math.max(0, Math.floor(folds % 2 === 0 ? lo + r : hi - r)));
}

/** The cubic convolution weights (A = −0.75) of the four taps around a point at fraction t past the second. */
function cubicWeights(t0: Tensor): Tensor[] {
  const a = -0.75;
  const far = (d: Tensor) => t.sub(t.mul(t.add(t.mul(t.sub(t.mul(d, a), 5 * a), d), 8 * a), d), 4 * a); // 1 ≤ d ≤ 2
  const near = (d: Tensor) => t.add(t.mul(t.mul(t.sub(t.mul(d, a + 2), a + 3), d), d), 1); // d ≤ 1
  const u = t.sub(1, t0);
  return [far(t.add(t0, 1)), near(t0), near(u), far(t.add(u, 1))];
}

/** Bicubic sampling: 4 × 4 taps around each point, each tap's coordinate padded on its own, as PyTorch does. */
function bicubic(x: Tensor, grid: Tensor, padding: string, alignCorners: boolean, out: [number, number, number]): Tensor {
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  const raw = (k: number, size: number) => unnormalise(t.permute(t.slice(grid, 3, k, k + 1), [0, 3, 1, 2]), size, alignCorners);
  const [ix, iy] = [raw(0, w), raw(1, h)];
  const x0 = Array.from(ix.values(), Math.floor);
  const y0 = Array.from(iy.values(), Math.floor);
  const wx = cubicWeights(t.sub(ix, constantLike(x0, ix)));
  const wy = cubicWeights(t.sub(iy, constantLike(y0, iy)));
  let y: Tensor | null = null;
  for (let j = 0; j < 4; j++) {
    const rows = y0.map((r) => padTap(r - 1 + j, h, padding, alignCorners));
    for (let i = 0; i < 4; i++) {
      const cols = x0.map((c) => padTap(c - 1 + i, w, padding, alignCorners));
      const term = t.mul(gather(x, rows, cols, out), t.mul(wy[j]!, wx[i]!));
      y = y ? t.add(y, term) : term;
    }
  }
  return y!;
}

export const gridSampleOps: OpTable = {
  GridSample: {
    since: 16,
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const grid = asTensor(input(values, 1), x);
      return [
        gridSample(x, grid, attrs.string('mode', 'bilinear'), attrs.string('padding_mode', 'zeros'), attrs.int('align_corners', 0) === 1),
      ];
    },
  },
};
