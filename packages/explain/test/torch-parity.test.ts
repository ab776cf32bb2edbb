import {
  ablationCam,
  cam,
  deconvnet,
  eigenCam,
  gradCam,
  gradCamPlusPlus,
  gradientXInput,
  guidedBackprop,
  guidedGradCam,
  hiResCam,
  integratedGradients,
  layerActivationGradient,
  layerCam,
  occlusion,
  scoreCam,
  smoothGrad,
  vanillaGradient,
  xGradCam,
} from '../src';
import { expected, expectMatches, fixture, gapNet, smallVgg } from './helpers';

/** Maps of every method on the fixture models against PyTorch (scripts/make-explain-fixtures.py), ≤ 1e-4 relative to each map's scale. */
const errors: Record<string, number> = {};
const record = (name: string, err: number) => (errors[name] = err);
const quiet = { onWarning: () => undefined };

describe('explain methods equal their PyTorch references', () => {
  const model = smallVgg();
  const x = fixture('x');
  const target = [3, 7];
  const layer = 'features.3';
  const base = { target, layer, ...quiet };

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(
      Object.entries(errors)
        .map(([k, v]) => `${k.padEnd(18)} ${v.toExponential(2)}`)
        .join('\n'),
    );
  });

  test('the models give the same logits', () => {
    const out = model.call(x);
    record('logits', expectMatches(out, 'vgg_logits', 1e-5));
    record('gap logits', expectMatches(gapNet().call(x), 'gap_logits', 1e-5));
  });

  test('vanilla, guided, deconvnet, gradient × input', () => {
    record('vanilla', expectMatches(vanillaGradient(model, x, { target }).attribution, 'vanilla'));
    record('guided', expectMatches(guidedBackprop(model, x, { target }).attribution, 'guided'));
    record('deconvnet', expectMatches(deconvnet(model, x, { target }).attribution, 'deconvnet'));
    record('grad×input', expectMatches(gradientXInput(model, x, { target }).attribution, 'grad_x_input'));
  });

  test('SmoothGrad, SmoothGrad², VarGrad with the same noise', () => {
    const r = smoothGrad(model, x, { target, noise: fixture('sg_noise'), noiseLevel: 0.2, batchSize: 4 });
    record('smoothgrad', expectMatches(r.attribution, 'sg_mean'));
    record('smoothgrad²', expectMatches(r.squared, 'sg_sq'));
    record('vargrad', expectMatches(r.variance, 'sg_var', 1e-3));
  });

  test('integrated gradients: right Riemann, trapezoid, Gauss–Legendre; completeness deltas', () => {
    const baseline = fixture('ig_baseline');
    for (const [method, name, steps] of [
      ['riemann-right', 'ig_right', 20],
      ['riemann-trapezoid', 'ig_trap', 20],
      ['gauss-legendre', 'ig_gl', 16],
    ] as const) {
      const r = integratedGradients(model, x, { target, baseline, steps, method, batchSize: 7 });
      record(name, expectMatches(r.attribution, name));
      const wantDelta = expected()[`${name}_delta`]!.data as Float32Array;
      r.delta.forEach((d, i) => expect(Math.abs(d - wantDelta[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.scores[i]!))));
    }
  });

  test('layer activation with guided backprop', () => {
    record('layer act', expectMatches(layerActivationGradient(model, x, { layer, filter: 5, ...quiet }).attribution, 'layer_act'));
    record(
      'layer act (ref)',
      expectMatches(
        layerActivationGradient(model, x, { layer: 'features.3.conv', filter: 5, reference: true, ...quiet }).attribution,
        'layer_act_ref',
      ),
    );
  });

  test('Grad-CAM (raw, upsampled, weights, reference), Grad-CAM++, XGrad-CAM, HiResCAM, Layer-CAM', () => {
    const g = gradCam(model, x, base);
    record('gradcam', expectMatches(g.map, 'gradcam'));
    record('gradcam up', expectMatches(g.upsampled, 'gradcam_up'));
    record('gradcam w', expectMatches(g.weights!, 'gradcam_w'));
    record('gradcam ref', expectMatches(gradCam(model, x, { ...base, reference: true }).map, 'gradcam_ref'));
    const pp = gradCamPlusPlus(model, x, base);
    record('gradcam++', expectMatches(pp.map, 'gradcampp'));
    record('gradcam++ w', expectMatches(pp.weights!, 'gradcampp_w'));
    const xg = xGradCam(model, x, base);
    record('xgradcam', expectMatches(xg.map, 'xgradcam'));
    record('xgradcam w', expectMatches(xg.weights!, 'xgradcam_w'));
    record('hirescam', expectMatches(hiResCam(model, x, base).map, 'hirescam'));
    record('layercam', expectMatches(layerCam(model, x, base).map, 'layercam'));
  });

  test('guided Grad-CAM', () => {
    const r = guidedGradCam(model, x, base);
    record('guided gradcam', expectMatches(r.attribution, 'guided_gradcam'));
    expectMatches(r.guided, 'guided');
  });

  test('Score-CAM and Ablation-CAM', () => {
    const s = scoreCam(model, x, { ...base, batchSize: 5 });
    record('scorecam', expectMatches(s.map, 'scorecam'));
    record('scorecam w', expectMatches(s.weights!, 'scorecam_w'));
    const a = ablationCam(model, x, { ...base, batchSize: 6 });
    record('ablationcam', expectMatches(a.map, 'ablationcam'));
    record('ablationcam w', expectMatches(a.weights!, 'ablationcam_w'));
  });

  test('Eigen-CAM', () => {
    const r = eigenCam(model, x, { layer, ...quiet });
    record('eigencam', expectMatches(r.map, 'eigencam'));
    record('eigencam up', expectMatches(r.upsampled, 'eigencam_up'));
    record('eigencam v', expectMatches(r.weights!, 'eigencam_v'));
  });

  test('occlusion', () => {
    const r = occlusion(model, x, { target, window: 4, stride: 2, fill: 0, batchSize: 10, ...quiet });
    record('occlusion grid', expectMatches(r.grid, 'occ_grid'));
    record('occlusion map', expectMatches(r.map, 'occ_map'));
  });

  test('CAM on the GAP net', () => {
    const gap = gapNet();
    const r = cam(gap, x, { layer: 'features.4', ...quiet });
    record('cam', expectMatches(r.map, 'cam'));
    record('cam up', expectMatches(r.upsampled, 'cam_up'));
    record('gap gradcam', expectMatches(gradCam(gap, x, { layer: 'features.4', ...quiet }).map, 'gap_gradcam'));
  });
});
