import { Generator, randn } from '@gradlens/tensor';
import { alexnet, mobilenetV2, resnet18, squeezenet1_1, vgg16 } from '@gradlens/nn';
import { cam, disposeResult, gradCam, guidedBackprop, guidedGradCam, scoreCam, vanillaGradient } from '../src';
import { relError } from './helpers';

/**
 * The methods on the nn package's torchvision-compatible architectures (width-reduced, random
 * weights): torchvision module paths resolve, every ReLU kind is reached, CAM finds ResNet's head.
 */
const quiet = { onWarning: () => undefined };
const x = randn([2, 3, 64, 64], { generator: new Generator(11) });
const g = () => new Generator(3);

describe('torchvision architectures', () => {
  test('ResNet-18: Grad-CAM on layer4 equals CAM / hw (GAP + fc head found on the tape)', () => {
    const model = resnet18({ widthDivisor: 8, numClasses: 10, generator: g() }).eval();
    const gc = gradCam(model, x, { layer: 'layer4', target: [1, 4], relu: false, ...quiet });
    const c = cam(model, x, { layer: 'layer4', target: [1, 4], ...quiet });
    expect(c.map.shape).toEqual([2, 2, 2]);
    expect(gc.upsampled.shape).toEqual([2, 64, 64]);
    expect(
      relError(
        Array.from(gc.map.dataSync(), (v) => v * 4),
        c.map.dataSync(),
      ),
    ).toBeLessThan(1e-5);
    disposeResult(gc);
    disposeResult(c);
  });

  test('VGG-16: features.29 resolves; guided Grad-CAM reaches every ReLU of features and classifier', () => {
    const model = vgg16({ widthDivisor: 16, numClasses: 10, generator: g() }).eval();
    const r = guidedGradCam(model, x, { layer: 'features.29', ...quiet });
    expect(r.cam.map.shape).toEqual([2, 4, 4]);
    expect(r.attribution.shape).toEqual([2, 3, 64, 64]);
    const v = vanillaGradient(model, x, { target: r.classes! });
    expect(relError(r.guided, v.attribution.dataSync())).toBeGreaterThan(1e-2);
    expect(() => cam(model, x, { layer: 'features.29', ...quiet })).toThrow(/found 'maxPool2d' in 'features.30'/);
  });

  test('MobileNetV2: guided rules reach its ReLU6 clamps', () => {
    const model = mobilenetV2({ widthMult: 0.25, numClasses: 10, generator: g() }).eval();
    const guided = guidedBackprop(model, x, { target: 0, ...quiet });
    const v = vanillaGradient(model, x, { target: 0, ...quiet });
    expect(relError(guided.attribution, v.attribution.dataSync())).toBeGreaterThan(1e-2);
    const gc = gradCam(model, x, { layer: 'features.18', target: 0, ...quiet });
    expect(gc.map.shape).toEqual([2, 2, 2]);
  });

  test('AlexNet and SqueezeNet: Grad-CAM and Score-CAM run on their last conv blocks', () => {
    const a = alexnet({ widthDivisor: 16, numClasses: 10, generator: g() }).eval();
    expect(gradCam(a, x, { layer: 'features.11', ...quiet }).map.rank).toBe(3);
    const s = squeezenet1_1({ widthDivisor: 8, numClasses: 10, generator: g() }).eval();
    const r = scoreCam(s, x, { layer: 'features.12', batchSize: 32, ...quiet });
    expect(r.map.shape[0]).toBe(2);
  });
});
