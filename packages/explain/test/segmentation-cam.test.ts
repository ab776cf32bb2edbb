import * as path from 'path';
import { numTensors, tensor } from '@gradlens/tensor';
import type { NdArray } from '@gradlens/io';
import { disposeResult, gradCam, segmentationTarget } from '../src';
import { relError } from './helpers';
import { npzFixture } from '../../nn/test/parity';
import { reducedSegModel, SEG_DIR, seedStateDict, seededInput, segManifest } from '../../nn/test/segmentation-fixture';

/**
 * Grad-CAM on torchvision's segmentation models (the nn package's reduced FCN, DeepLabV3 and LR-ASPP with the weights
 * both sides draw from Generator(0), scripts/make-nn-segmentation-fixtures.py): the target is pytorch-grad-cam's
 * SemanticSegmentationTarget over the pixels predicted as the class, and the map at the default CAM layer (the
 * backbone's output) and at the head (`classifier.0`, the ASPP for DeepLabV3; `classifier.cbr` for LR-ASPP) equals
 * PyTorch's Σₖ mean(∂target/∂Aₖ) Aₖ, compared before the ReLU (`relu: false`), which can leave nothing of a random
 * model's map.
 */
const quiet = { onWarning: (): void => undefined };
const data = (a: NdArray) => a.data as ArrayLike<number>;

describe.each(Object.keys(segManifest.models))('%s', (name) => {
  const info = segManifest.models[name]!;
  const { arr } = npzFixture(path.join(SEG_DIR, `${name}.npz`));

  test.each([
    ['the default CAM layer', info.layer, 'gradcam_layer'],
    ['the head', info.secondLayer, 'gradcam_second'],
  ])('Grad-CAM at %s (%s) equals PyTorch’s (≤ 1e-4 relative)', (_what, layer, key) => {
    const model = reducedSegModel(name);
    seedStateDict(model);
    model.eval();
    const before = numTensors();
    const all = seededInput();
    const [, c, h, w] = all.shape as [number, number, number, number];
    const x = tensor(all.data.slice(0, c * h * w), [1, c, h, w]);
    const cls = Number(data(arr('cam_class'))[0]);
    const r = gradCam(model, x, { target: segmentationTarget(data(arr('cam_mask')), cls, [h, w]), layer, relu: false, ...quiet });
    const want = arr(key);
    expect(Math.max(...Array.from(data(want), Math.abs))).toBeGreaterThan(0); // a map with something in it
    expect([...r.map.shape]).toEqual([1, ...want.shape]);
    const err = relError(r.map, data(want));
    expect(err).toBeLessThanOrEqual(1e-4);
    disposeResult(r);
    x.dispose();
    expect(numTensors()).toBe(before);
  });
});
