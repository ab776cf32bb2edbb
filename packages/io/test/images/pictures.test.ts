import * as path from 'path';
import type { RasterImage8 } from '../../src/images';
import {
  alphaComposite,
  classActivationImages,
  convertToGrayscale,
  overlayHeatmap,
  readImage,
  saveClassActivationImages,
  saveGradientImages,
  saveSaliencyImages,
  percentile,
} from '../../src/images';
import type { FixtureArray } from './helpers';
import { FIXTURES, f32, loadJson, maxAbsDiff, tempDir, u8, f64 } from './helpers';

const fx = loadJson<{
  grad: FixtureArray;
  camSmall: FixtureArray;
  cam: FixtureArray;
  p99: number;
  compositeDst: FixtureArray;
  compositeSrc: FixtureArray;
  composite: FixtureArray;
}>('pictures', 'expected.json');
const grad = { dtype: 'float32' as const, shape: fx.grad.shape, data: f32(fx.grad) };
const ref = (name: string): RasterImage8 => readImage(path.join(FIXTURES, 'pictures', `${name}.png`)) as RasterImage8;

describe('pictures as pytorch-cnn-visualizations writes them', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const quiet = {
    onWarning: (m: string): void => {
      throw new Error(`unexpected warning: ${m}`);
    },
  };

  it('saveGradientImages writes <name>_color.png and <name>_gray.png equal to the reference files', () => {
    const files = saveGradientImages(grad, path.join(dir, 'vanilla'), quiet);
    expect(files).toEqual({ color: path.join(dir, 'vanilla_color.png'), gray: path.join(dir, 'vanilla_gray.png') });
    for (const [mine, theirs] of [
      [files.color, 'grad_color'],
      [files.gray, 'grad_gray'],
    ] as const) {
      const a = readImage(mine);
      const b = ref(theirs);
      expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, 3]);
      expect(maxAbsDiff(a.data, b.data)).toBe(0);
    }
  });

  it("convertToGrayscale's p99 is numpy's percentile", () => {
    const H = grad.shape[1] ?? 0;
    const W = grad.shape[2] ?? 0;
    const sum = new Float32Array(H * W);
    for (let c = 0; c < 3; c++) for (let p = 0; p < H * W; p++) sum[p] = (sum[p] ?? 0) + Math.abs(grad.data[c * H * W + p] ?? 0);
    expect(percentile(sum, 99)).toBeCloseTo(fx.p99, 5);
    const g = convertToGrayscale(grad, quiet);
    expect(g.shape).toEqual([1, H, W]);
    expect(Math.max(...g.data)).toBe(1); // the outlier is clipped
  });

  it('saveSaliencyImages writes <name>_pos_sal.png and <name>_neg_sal.png equal to the reference files', () => {
    const files = saveSaliencyImages(grad, path.join(dir, 'guided'), quiet);
    expect(maxAbsDiff(readImage(files.positive).data, ref('grad_pos_sal').data)).toBe(0);
    expect(maxAbsDiff(readImage(files.negative).data, ref('grad_neg_sal').data)).toBe(0);
  });

  it('saveClassActivationImages writes the CAM triplet equal to the reference files', () => {
    const image = ref('cam_source');
    const cam = { dtype: 'float32' as const, shape: fx.camSmall.shape, data: f32(fx.camSmall) };
    const pics = classActivationImages(image, cam, quiet);
    // the map brought to image size: normalise, uint8, Lanczos, / 255, as the Grad-CAM script
    expect(maxAbsDiff(pics.map, f64(fx.cam))).toBe(0);
    const files = saveClassActivationImages(image, cam, path.join(dir, 'gradcam'), quiet);
    expect(path.basename(files.heatmap)).toBe('gradcam_Cam_Heatmap.png');
    expect(path.basename(files.onImage)).toBe('gradcam_Cam_On_Image.png');
    expect(path.basename(files.grayscale)).toBe('gradcam_Cam_Grayscale.png');
    for (const [mine, theirs, channels] of [
      [files.heatmap, 'cam_Cam_Heatmap', 4],
      [files.onImage, 'cam_Cam_On_Image', 4],
      [files.grayscale, 'cam_Cam_Grayscale', 3],
    ] as const) {
      const a = readImage(mine);
      const b = ref(theirs);
      expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, channels]);
      expect(b.channels).toBe(channels);
      expect(maxAbsDiff(a.data, b.data)).toBe(0);
    }
  });

  it("alphaComposite equals PIL's Image.alpha_composite on random pixels", () => {
    const mk = (a: FixtureArray): RasterImage8 => ({ width: 16, height: 16, channels: 4, bitDepth: 8, data: u8(a) });
    const out = alphaComposite(mk(fx.compositeDst), mk(fx.compositeSrc));
    expect(maxAbsDiff(out.data, u8(fx.composite))).toBe(0);
  });

  it('overlayHeatmap at alpha 0 is the image, at alpha 1 the heatmap', () => {
    const image = ref('cam_source');
    const map = new Float32Array(image.width * image.height).map((_, i) => (i % 97) / 96);
    const a0 = overlayHeatmap(image, map, { alpha: 0 });
    const a1 = overlayHeatmap(image, map, { alpha: 1, colormap: 'jet' });
    for (let p = 0; p < map.length; p++) {
      expect(a0.data[p * 4]).toBe(image.data[p * 3]);
      expect(a0.data[p * 4 + 3]).toBe(255);
    }
    expect(a1.data[4 * 96]).toBe(128); // jet at 1.0 is dark red (128, 0, 0)
    expect(() => overlayHeatmap(image, new Float32Array(3))).toThrow(/the map has 3 values but the image is 24x16/);
  });
});
