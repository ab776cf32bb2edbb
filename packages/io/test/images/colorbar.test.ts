import { colorBar, colormapLut, withLegend } from '../../src/images';

describe('colour bars', () => {
  it('run from the lowest colour on the left to the highest on the right (bottom to top when vertical)', () => {
    const lut = colormapLut('jet');
    const bar = colorBar('jet', 256, 3);
    for (const x of [0, 100, 255]) {
      for (let y = 0; y < 3; y++)
        expect(Array.from(bar.data.subarray((y * 256 + x) * 3, (y * 256 + x) * 3 + 3))).toEqual(Array.from(lut.subarray(3 * x, 3 * x + 3)));
    }
    const v = colorBar('viridis', 2, 256, { vertical: true });
    const vl = colormapLut('viridis');
    expect(Array.from(v.data.subarray(0, 3))).toEqual(Array.from(vl.subarray(255 * 3, 256 * 3)));
    expect(Array.from(v.data.subarray(255 * 2 * 3, 255 * 2 * 3 + 3))).toEqual(Array.from(vl.subarray(0, 3)));
    expect(() => colorBar('jet', 0, 4)).toThrow(/colorBar/);
  });

  it('withLegend keeps the picture and adds a framed bar under a white gap', () => {
    const pic = { width: 40, height: 30, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(40 * 30 * 3).fill(77) };
    const out = withLegend(pic, 'jet');
    expect([out.width, out.height]).toEqual([40, 30 + 2 + 6]);
    expect(Array.from(out.data.subarray(0, 40 * 30 * 3)).every((v) => v === 77)).toBe(true);
    expect(Array.from(out.data.subarray(30 * 40 * 3, 32 * 40 * 3)).every((v) => v === 255)).toBe(true);
    const row = 32 + 3; // inside the frame
    const lut = colormapLut('jet');
    expect(Array.from(out.data.subarray((row * 40 + 1) * 3, (row * 40 + 1) * 3 + 3))).toEqual(
      Array.from(colorBar('jet', 40, 1).data.subarray(3, 6)),
    );
    expect(Array.from(out.data.subarray((row * 40 + 38) * 3, (row * 40 + 38) * 3 + 3))).not.toEqual(Array.from(lut.subarray(0, 3)));
    expect(withLegend(pic, 'gray', { barHeight: 12 }).height).toBe(44);
  });
});
