import { interpolate, reshape, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';

/**
 * An attribution method as the metrics see it: given the model, one image [1, C, H, W] in the
 * model's input space and a class index, returns a map — [H, W], [1, H, W], [C, H, W] or
 * [1, C, H, W], or a coarser [h, w] map (Grad-CAM) that the metrics upsample bilinearly. The metric
 * owns the returned tensor and disposes it, so return a fresh one.
 */
export type Explainer = (model: Module, input: Tensor, target: number) => Tensor;

/** An axis-aligned box in pixel edges: columns x0 ≤ x < x1, rows y0 ≤ y < y1 (x1, y1 exclusive). */
export interface BoundingBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A single-channel map, row-major, as the metrics use it. */
export interface SaliencyMap {
  data: Float64Array;
  height: number;
  width: number;
}

/**
 * How a multi-channel map is turned into one value per pixel: 'abs-max' max_c |m_c| (Simonyan et
 * al. 2014; the default), 'abs-sum' Σ_c |m_c|, 'sum' Σ_c m_c (keeps signs: LRP, IG), 'max' max_c m_c.
 */
export type ChannelReduction = 'abs-max' | 'abs-sum' | 'sum' | 'max';

export interface SaliencyOptions {
  /** How to reduce channels (default 'abs-max'); a one-channel map is taken as is. */
  reduce?: ChannelReduction;
  /** Upsample (bilinear, align_corners false) to this [H, W] when the map is smaller or larger. */
  size?: readonly [number, number];
}

/**
 * The single-channel map [H, W] of an explainer's output (see `Explainer` for accepted shapes),
 * channels reduced by `reduce` and resized to `size`, as float64 values.
 */
export function toSaliencyMap(map: Tensor | SaliencyMap, options: SaliencyOptions = {}): SaliencyMap {
  let m: SaliencyMap;
  if (!('shape' in map)) {
    m = map;
  } else {
    const s = map.shape;
    let c: number;
    let h: number;
    let w: number;
    if (s.length === 2) [c, h, w] = [1, s[0]!, s[1]!];
    else if (s.length === 3) [c, h, w] = [s[0]!, s[1]!, s[2]!];
    else if (s.length === 4 && s[0] === 1) [c, h, w] = [s[1]!, s[2]!, s[3]!];
    else throw new Error(`toSaliencyMap: expected a map [H, W], [C, H, W] or [1, C, H, W], got [${s.join(', ')}]`);
    const v = map.dataSync();
    const n = h * w;
    const data = new Float64Array(n);
    const reduce = options.reduce ?? 'abs-max';
    if (c === 1) {
      for (let p = 0; p < n; p++) data[p] = Number(v[p]);
    } else {
      for (let p = 0; p < n; p++) {
        let acc = reduce === 'abs-max' ? 0 : reduce === 'max' ? -Infinity : 0;
        for (let k = 0; k < c; k++) {
          const x = Number(v[k * n + p]);
          if (reduce === 'abs-max') acc = Math.max(acc, Math.abs(x));
          else if (reduce === 'abs-sum') acc += Math.abs(x);
          else if (reduce === 'sum') acc += x;
          else if (reduce === 'max') acc = Math.max(acc, x);
          else throw new Error(`toSaliencyMap: reduce must be 'abs-max', 'abs-sum', 'sum' or 'max', got ${JSON.stringify(reduce)}`);
        }
        data[p] = acc;
      }
    }
    m = { data, height: h, width: w };
  }
  const size = options.size;
  if (size && (size[0] !== m.height || size[1] !== m.width)) return resizeMap(m, size[0], size[1]);
  return m;
}

/** Bilinear resize (PyTorch's align_corners false) of a map. */
export function resizeMap(m: SaliencyMap, height: number, width: number): SaliencyMap {
  const out = tidy(() => {
    const t = reshape(tensorOf(m), [1, 1, m.height, m.width]);
    return interpolate(t, { size: [height, width], mode: 'bilinear' });
  });
  const data = Float64Array.from(out.dataSync());
  out.dispose();
  return { data, height, width };
}

/** A float64 tensor [H, W] of a map. */
export function tensorOf(m: SaliencyMap): Tensor {
  return tensor(m.data, [m.height, m.width], 'float64');
}

/** Checks a box against an image of height × width; returns it. */
export function checkBox(where: string, box: BoundingBox, height: number, width: number): BoundingBox {
  const ok = [box.x0, box.y0, box.x1, box.y1].every((v) => Number.isFinite(v)) && box.x1 > box.x0 && box.y1 > box.y0;
  if (!ok) throw new Error(`${where}: box must have x0 < x1 and y0 < y1 (pixel edges, x1/y1 exclusive), got ${JSON.stringify(box)}`);
  if (box.x1 <= 0 || box.y1 <= 0 || box.x0 >= width || box.y0 >= height) {
    throw new Error(`${where}: box ${JSON.stringify(box)} lies outside the ${width}×${height} map`);
  }
  return box;
}
