import { numTensors, record, zeros } from '@gradlens/tensor';
import { formatLayers, layers } from './summary';
import { resnet18, squeezenet1_1, vgg16 } from './models';

test('layers() lists every module path with its output shape, leaves no tensors and keeps the mode', () => {
  const model = resnet18({ widthDivisor: 16, numClasses: 7 });
  model.train();
  const before = numTensors();
  const rows = layers(model, [1, 3, 64, 64]);
  expect(numTensors()).toBe(before);
  expect(model.training).toBe(true);
  expect(model.getModule('layer4.1.bn2').training).toBe(true);
  const byPath = new Map(rows.map((r) => [r.path, r]));
  expect(rows.map((r) => r.path)).toEqual(
    model
      .namedModules()
      .map(([p]) => p)
      .filter((p) => p !== ''),
  );
  expect(byPath.get('conv1')).toMatchObject({ type: 'Conv2d', outputShape: [1, 4, 32, 32], params: 4 * 3 * 49, depth: 0 });
  expect(byPath.get('layer4')!.outputShape).toEqual([1, 32, 2, 2]);
  expect(byPath.get('layer4.1')).toMatchObject({ type: 'BasicBlock', outputShape: [1, 32, 2, 2], depth: 1 });
  expect(byPath.get('layer2.0.downsample.0')!.outputShape).toEqual([1, 8, 8, 8]);
  expect(byPath.get('fc')!.outputShape).toEqual([1, 7]);
  const table = formatLayers(rows);
  expect(table.split('\n')[0]).toMatch(/^path\s+type\s+output shape\s+params$/);
  expect(table).toMatch(/\n {2}layer4\.1\s+BasicBlock\s+\[1, 32, 2, 2\]/);
});

test('activations are found by torchvision paths: block outputs include the residual add, Fire includes the concat', () => {
  const net = resnet18({ widthDivisor: 16 }).eval();
  const x = zeros([1, 3, 32, 32]);
  const { output, tape } = record(() => net.call(x));
  const last = tape.nodes.filter((n) => n.scope.startsWith('layer4.1'));
  expect(last[last.length - 1]!.op).toBe('relu');
  expect(last.some((n) => n.op === 'add' && n.scope === 'layer4.1')).toBe(true);
  expect(tape.activation('layer4')).toBe(tape.activation('layer4.1'));
  tape.dispose();
  output.dispose();
  const sq = squeezenet1_1({ widthDivisor: 8 }).eval();
  const r = record(() => sq.call(x));
  const fire = r.tape.nodes.filter((n) => n.scope === 'features.12');
  expect(fire.map((n) => n.op)).toEqual(['cat']);
  expect(r.tape.activation('features.12').shape).toEqual([1, 64, 1, 1]);
  r.tape.dispose();
  r.output.dispose();
  const v = vgg16({ widthDivisor: 16 }).eval();
  const rv = record(() => v.call(x));
  expect(rv.tape.nodes.find((n) => n.output === rv.tape.activation('features.29'))!.op).toBe('relu');
  rv.tape.dispose();
  rv.output.dispose();
  x.dispose();
});
