import type { Tensor } from '@gradlens/tensor';
import { numTensors, tensor } from '@gradlens/tensor';
import { ablationCam, deletionAUC, disposeResult, insertionAUC, integratedGradients, occlusion, scoreCam, smoothGrad } from '../src';
import { fixture, relError, smallVgg } from './helpers';

// Every multi-pass method runs its passes in batches of `batchSize` through the same kernels; the
// batch size must change nothing but float rounding. Batch 1 (one pass at a time) is the reference.
const quiet = { onWarning: () => undefined };

type Run = (batchSize: number) => { values: Float32Array | Float64Array | number[]; dispose(): void };

/** A method result's chosen tensor read out, and everything it holds freed. */
function take(r: object, t: Tensor): { values: Float32Array | Float64Array; dispose(): void } {
  return { values: t.dataSync().slice() as Float32Array | Float64Array, dispose: () => disposeResult(r) };
}

describe('multi-pass methods: any batch size gives the one-at-a-time result', () => {
  const model = smallVgg();
  const x = fixture('x');
  const [, c, h, w] = x.shape as [number, number, number, number];
  const image = tensor(x.dataSync().slice(0, c * h * w), [c, h, w]);
  const map = tensor(x.dataSync().slice(0, h * w), [h, w]); // the first channel as a saliency map

  const rows: [string, Run][] = [
    [
      'scoreCam',
      (b) => {
        const r = scoreCam(model, x, { layer: 'features.3', batchSize: b, ...quiet });
        return take(r, r.map);
      },
    ],
    [
      'ablationCam',
      (b) => {
        const r = ablationCam(model, x, { layer: 'features.3', batchSize: b, ...quiet });
        return take(r, r.map);
      },
    ],
    [
      'occlusion',
      (b) => {
        const r = occlusion(model, x, { window: 4, stride: 3, batchSize: b, ...quiet });
        return take(r, r.grid);
      },
    ],
    [
      'smoothGrad',
      (b) => {
        const r = smoothGrad(model, x, { samples: 5, seed: 3, batchSize: b, ...quiet });
        return take(r, r.attribution);
      },
    ],
    [
      'integratedGradients',
      (b) => {
        const r = integratedGradients(model, x, { steps: 7, batchSize: b, ...quiet });
        return take(r, r.attribution);
      },
    ],
    [
      'deletionAUC',
      (b) => ({ values: deletionAUC(model, image, map, 3, { steps: 9, score: 'logit', batchSize: b }).curve, dispose: () => undefined }),
    ],
    [
      'insertionAUC',
      (b) => ({ values: insertionAUC(model, image, map, 3, { steps: 9, score: 'logit', batchSize: b }).curve, dispose: () => undefined }),
    ],
  ];

  test.each(rows)('%s: batch sizes 2, 5 and 64 match batch size 1, and free what they make', (_name, run) => {
    const one = run(1);
    const want = Array.from(one.values);
    one.dispose();
    expect(want.some((v) => v !== 0)).toBe(true); // a map of zeros would match anything
    const before = numTensors();
    for (const b of [2, 5, 64]) {
      const r = run(b);
      expect(r.values.length).toBe(want.length);
      expect(relError(r.values, want)).toBeLessThan(1e-5);
      r.dispose();
    }
    expect(numTensors()).toBe(before);
  });
});
