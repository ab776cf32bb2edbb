import type { NdArray } from '../array';
import { convertToGrayscale, normalizeMap, percentile, positiveNegativeSaliency } from './maps';
import { gradientToImage, camToImageSize } from './pictures';

const t = (shape: number[], values: number[]): NdArray<'float32'> => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

function collect(): { warnings: string[]; onWarning: (m: string) => void } {
  const warnings: string[] = [];
  return { warnings, onWarning: (m) => warnings.push(m) };
}

describe('degenerate maps are reported, never drawn silently', () => {
  it('a constant map warns and gives zeros', () => {
    const w = collect();
    const out = normalizeMap(new Float32Array([3, 3, 3]), { ...w, label: 'x.png' });
    expect(Array.from(out)).toEqual([0, 0, 0]);
    expect(w.warnings).toHaveLength(1);
    expect(w.warnings[0]).toMatch(/^x\.png: the map is constant \(every value is 3\)/);
  });

  it('an all-zero map says so', () => {
    const w = collect();
    gradientToImage(t([3, 2, 2], new Array(12).fill(0)), w);
    expect(w.warnings[0]).toMatch(/the map is all zero/);
  });

  it('NaN values warn, with their count, and are drawn as 0', () => {
    const w = collect();
    const img = gradientToImage(t([1, 1, 4], [0, NaN, 1, NaN]), w);
    expect(w.warnings).toEqual([expect.stringMatching(/2 NaN value\(s\) of 4/)]);
    expect(Array.from(img.data).filter((_, i) => i % 3 === 0)).toEqual([0, 0, 255, 0]);
  });

  it('warnings go to console.warn by default', () => {
    const spy = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    normalizeMap(new Float32Array([0, 0]));
    expect(spy).toHaveBeenCalledWith(expect.stringMatching(/all zero/));
    spy.mockRestore();
  });

  it('an onWarning that throws turns warnings into errors', () => {
    expect(() =>
      normalizeMap(new Float32Array([1, 1]), {
        onWarning: (m) => {
          throw new Error(m);
        },
      }),
    ).toThrow(/constant/);
  });

  it('a gradient with no negative part warns about its negative saliency only', () => {
    const w = collect();
    const { positive, negative } = positiveNegativeSaliency(t([1, 1, 3], [0, 1, 2]), w);
    expect(Array.from(positive.data)).toEqual([0, 0.5, 1]);
    expect(Array.from(negative.data)).toEqual([0, 0, 0]);
    expect(w.warnings).toEqual([expect.stringMatching(/no negative values/)]);
  });

  it('a grayscale whose 99th percentile equals its minimum warns', () => {
    const w = collect();
    const values = new Array(300).fill(0);
    values[0] = 5; // one pixel in 300 is above p99
    const g = convertToGrayscale(t([1, 1, 300], values), w);
    expect(w.warnings[0]).toMatch(/99th percentile equals its minimum/);
    expect(g.data.every((v) => v === 0)).toBe(true);
  });

  it('a constant CAM warns before it is resized', () => {
    const w = collect();
    const up = camToImageSize(t([2, 2], [1, 1, 1, 1]), 4, 4, w);
    expect(w.warnings[0]).toMatch(/constant/);
    expect(up.every((v) => v === 0)).toBe(true);
  });
});

describe('a fixed scale compares maps on one range', () => {
  it('maps [min, max] to [0, 1] and clips, without per-map normalisation', () => {
    const a = normalizeMap(new Float32Array([0, 1, 2]), { scale: { min: 0, max: 4 } });
    const b = normalizeMap(new Float32Array([0, 2, 8]), { scale: { min: 0, max: 4 } });
    expect(Array.from(a)).toEqual([0, 0.25, 0.5]);
    expect(Array.from(b)).toEqual([0, 0.5, 1]);
  });

  it('a constant map on a fixed scale is not degenerate: it has a place on the scale', () => {
    const w = collect();
    expect(Array.from(normalizeMap(new Float32Array([2, 2]), { ...w, scale: { min: 0, max: 4 } }))).toEqual([0.5, 0.5]);
    expect(w.warnings).toEqual([]);
  });

  it('refuses an empty scale', () => {
    expect(() => normalizeMap(new Float32Array([1]), { scale: { min: 1, max: 1 } })).toThrow(/max > min/);
  });

  it('saliency on a fixed scale divides by the scale ends', () => {
    const { positive, negative } = positiveNegativeSaliency(t([1, 1, 3], [-1, 1, 4]), { scale: { min: -2, max: 2 } });
    expect(Array.from(positive.data)).toEqual([0, 0.5, 1]);
    expect(Array.from(negative.data)).toEqual([0.5, 0, 0]);
  });
});

describe('percentile', () => {
  it("interpolates linearly like numpy's default", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 0, 5], 99)).toBeCloseTo(9.9, 12);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile([], 50)).toThrow(/empty/);
  });
});

describe('shape checks', () => {
  it('name the shape that came', () => {
    expect(() => gradientToImage(t([2, 2, 2], new Array(8).fill(1)))).toThrow(/1 or 3 channels, got 2 \(shape \[2, 2, 2\]\)/);
    expect(() => gradientToImage(t([8], new Array(8).fill(1)))).toThrow(/expected a \[C, H, W\].*got \[8\]/);
    expect(() => gradientToImage({ dtype: 'int32', shape: [2, 2], data: new Int32Array(4) })).toThrow(/float32 or float64 map, got int32/);
  });
});
