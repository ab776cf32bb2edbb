import type { Tensor } from '@gradlens/tensor';

export interface SlicOptions {
  /** Wanted number of superpixels K (default 50); the grid interval is S = √(H·W / K). */
  segments?: number;
  /** Compactness m: weight of the spatial distance against the colour distance (default 10, in the image's value units · 1/S). */
  compactness?: number;
  /** k-means iterations (default 10, as the paper). */
  iterations?: number;
}

/**
 * SLIC superpixels (Achanta et al. 2012) of one image [C, H, W] or [1, C, H, W], on its values as
 * given (the model's input space, not CIELAB): centres on a grid of interval S moved to the lowest
 * gradient in their 3×3 neighbourhood, k-means restricted to 2S×2S windows with distance
 * √(d_c² + (d_s / S)² m²), then connectivity enforced (components smaller than a quarter of the
 * mean size join a neighbour). Returns the label of each pixel, numbered 0…G−1 in scan order.
 */
export function slic(image: Tensor, options: SlicOptions = {}): Int32Array {
  const s0 = image.shape;
  const chw = s0.length === 4 && s0[0] === 1 ? s0.slice(1) : s0;
  if (chw.length !== 3) throw new Error(`slic: expected an image [C, H, W] or [1, C, H, W], got [${s0.join(', ')}]`);
  const [c, h, w] = chw as [number, number, number];
  const k = options.segments ?? 50;
  if (!Number.isInteger(k) || k < 1 || k > h * w) throw new Error(`slic: segments must be an integer in 1…${h * w}, got ${k}`);
  const m = options.compactness ?? 10;
  if (!(m > 0)) throw new Error(`slic: compactness must be > 0, got ${m}`);
  const v = Float64Array.from(image.dataSync());
  const hw = h * w;
  const step = Math.max(1, Math.sqrt(hw / k));
  const at = (ch: number, y: number, x: number) => v[ch * hw + y * w + x]!;
  const grad = (y: number, x: number) => {
    if (y <= 0 || x <= 0 || y >= h - 1 || x >= w - 1) return Infinity;
    let g = 0;
    for (let ch = 0; ch < c; ch++) g += (at(ch, y, x + 1) - at(ch, y, x - 1)) ** 2 + (at(ch, y + 1, x) - at(ch, y - 1, x)) ** 2;
    return g;
  };
  // centres: [y, x, colour…]
  const centres: number[][] = [];
  for (let y = step / 2; y < h; y += step) {
    for (let x = step / 2; x < w; x += step) {
      let by = Math.floor(y);
      let bx = Math.floor(x);
      let best = grad(by, bx);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = Math.floor(y) + dy;
          const xx = Math.floor(x) + dx;
          if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
          const g = grad(yy, xx);
          if (g < best) [best, by, bx] = [g, yy, xx];
        }
      centres.push([by, bx, ...Array.from({ length: c }, (_, ch) => at(ch, by, bx))]);
    }
  }
  const label = new Int32Array(hw).fill(-1);
  const dist = new Float64Array(hw);
  const ratio = (m / step) ** 2;
  for (let it = 0; it < (options.iterations ?? 10); it++) {
    dist.fill(Infinity);
    centres.forEach((ctr, ci) => {
      const [cy, cx] = ctr as [number, number];
      for (let y = Math.max(0, Math.floor(cy - step)); y <= Math.min(h - 1, Math.ceil(cy + step)); y++) {
        for (let x = Math.max(0, Math.floor(cx - step)); x <= Math.min(w - 1, Math.ceil(cx + step)); x++) {
          let dc = 0;
          for (let ch = 0; ch < c; ch++) dc += (at(ch, y, x) - ctr[2 + ch]!) ** 2;
          const d = dc + ((y - cy) ** 2 + (x - cx) ** 2) * ratio;
          const p = y * w + x;
          if (d < dist[p]!) {
            dist[p] = d;
            label[p] = ci;
          }
        }
      }
    });
    const sums = centres.map(() => new Float64Array(2 + c));
    const counts = new Float64Array(centres.length);
    for (let p = 0; p < hw; p++) {
      const l = label[p]!;
      if (l < 0) continue;
      const y = Math.floor(p / w);
      const x = p % w;
      const s = sums[l]!;
      s[0] = s[0]! + y;
      s[1] = s[1]! + x;
      for (let ch = 0; ch < c; ch++) s[2 + ch] = s[2 + ch]! + v[ch * hw + p]!;
      counts[l] = counts[l]! + 1;
    }
    centres.forEach((ctr, ci) => {
      if (counts[ci]! > 0) for (let j = 0; j < ctr.length; j++) ctr[j] = sums[ci]![j]! / counts[ci]!;
    });
  }
  return enforceConnectivity(label, h, w, Math.max(1, Math.floor(hw / centres.length / 4)));
}

/** Relabels 4-connected components 0…G−1 in scan order; components under `minSize` (and unlabelled pixels) join the previous neighbouring component. */
function enforceConnectivity(label: Int32Array, h: number, w: number, minSize: number): Int32Array {
  const hw = h * w;
  const out = new Int32Array(hw).fill(-1);
  let next = 0;
  const stack: number[] = [];
  for (let p0 = 0; p0 < hw; p0++) {
    if (out[p0]! >= 0) continue;
    // the label of an already-relabelled 4-neighbour, to absorb a small component
    const y0 = Math.floor(p0 / w);
    const x0 = p0 % w;
    const adjacent = x0 > 0 ? out[p0 - 1]! : y0 > 0 ? out[p0 - w]! : -1;
    const comp: number[] = [];
    out[p0] = next;
    stack.push(p0);
    while (stack.length > 0) {
      const p = stack.pop()!;
      comp.push(p);
      const y = Math.floor(p / w);
      const x = p % w;
      for (const [yy, xx] of [
        [y - 1, x],
        [y + 1, x],
        [y, x - 1],
        [y, x + 1],
      ] as const) {
        if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
        const q = yy * w + xx;
        if (out[q]! < 0 && label[q] === label[p0]) {
          out[q] = next;
          stack.push(q);
        }
      }
    }
    if (comp.length < minSize && adjacent >= 0) for (const p of comp) out[p] = adjacent;
    else next++;
  }
  return out;
}
