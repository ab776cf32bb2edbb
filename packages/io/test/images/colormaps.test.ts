import type { ColormapName } from '../../src/images';
import { COLORMAP_NAMES, applyColormap, colormapLut } from '../../src/images';
import type { FixtureArray } from './helpers';
import { f32, loadJson, maxAbsDiff, u8 } from './helpers';

const fx = loadJson<Record<string, FixtureArray> & { matplotlib: string; opencv: string }>('colormaps', 'expected.json');

describe('colormaps equal matplotlib and OpenCV', () => {
  it.each(COLORMAP_NAMES.map((n) => [n]))('%s: the 256-entry table is identical', (name) => {
    const want = fx[`${name}_lut`];
    if (!want) throw new Error(name);
    expect(Array.from(colormapLut(name as ColormapName))).toEqual(Array.from(u8(want)));
  });

  it.each(COLORMAP_NAMES.map((n) => [n]))('%s: applyColormap quantises values as the reference library', (name) => {
    const values = f32(fx.values as FixtureArray);
    const want = fx[name];
    if (!want) throw new Error(name);
    // values include 0, 1, the 1/256 boundaries, out-of-range values and random ones
    const img = applyColormap(values, 1, values.length, name as ColormapName);
    expect([img.width, img.height, img.channels]).toEqual([values.length, 1, 3]);
    expect(maxAbsDiff(img.data, u8(want))).toBe(0);
  });

  it('NaN is black and the size is checked', () => {
    const img = applyColormap(new Float32Array([NaN, 1]), 1, 2, 'viridis');
    expect(Array.from(img.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(img.data.subarray(3))).toEqual([253, 231, 36]);
    expect(() => applyColormap(new Float32Array(5), 2, 3, 'jet')).toThrow(/2x3 map needs 6 values, got 5/);
    expect(() => colormapLut('parula' as ColormapName)).toThrow(/unknown colormap "parula"/);
  });

  it('lays a 2D map out row-major', () => {
    const map = new Float32Array([0, 1, 1, 0, 0, 0]); // 2 x 3
    const img = applyColormap(map, 2, 3, 'gray');
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(Array.from(img.data).filter((_, i) => i % 3 === 0)).toEqual([0, 255, 255, 0, 0, 0]);
  });
});
