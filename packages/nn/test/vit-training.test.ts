import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * weights/train-task.js's vitAuxiliaryLoss (train.js --model vit --auxiliary W): the loss is the class
 * token's cross-entropy plus W times the cross-entropy of a Linear over the mean of the encoder's patch
 * tokens (checked against the same sum computed by hand from the encoder's output), the head gets
 * gradients, evaluation uses the plain loss, and foldBatchNorm drops the head (torchvision's keys only).
 * The task module runs on the built packages (dist), so the check runs in a child Node process.
 */
describe('the vit training task (weights/train-task.js)', () => {
  test('--auxiliary: pooled-token head in the training loss only, dropped by foldBatchNorm', () => {
    const script = `
      const T = require(${JSON.stringify(path.join(ROOT, 'packages', 'tensor', 'dist'))});
      const nn = require(${JSON.stringify(path.join(ROOT, 'packages', 'nn', 'dist'))});
      const task = require(${JSON.stringify(path.join(ROOT, 'weights', 'train-task.js'))});
      const vitShape = { numLayers: 1, numHeads: 2, hiddenDim: 16, mlpDim: 32, stem: [[8, 2], [8, 2], [8, 2]] };
      const norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
      const { model, lossFn } = task.build({ name: 'vit', seed: 3, bn: true, images: 4, normalization: norm, rampEpochs: 0, auxiliary: 2, vitShape }, { rank: 0, threads: 1 });
      const x = T.randn([4, 3, 64, 64], { generator: new T.Generator(9) });
      const y = T.tensor([1, 7, 3, 1], [4], 'int32');
      // A non-zero class-token head, so that every term is non-trivial.
      model.loadStateDict({ ...model.stateDict(), 'heads.head.weight': T.randn([10, 16], { generator: new T.Generator(4) }) });
      model.train();
      const out = model.call(x);
      const loss = lossFn(out, y).item();
      // By hand: the same forward, the encoder's output taken from its own call.
      let tokens = null;
      const keep = model.encoder.forward;
      model.encoder.forward = (t) => (tokens = keep(t));
      const out2 = model.call(x);
      model.encoder.forward = keep;
      const pooled = T.mean(T.slice(tokens, 1, 1, tokens.shape[1]), { dim: 1 });
      const byHand = T.add(T.crossEntropy(out2, y), T.mul(T.crossEntropy(model.getModule('auxiliary').call(pooled), y), 2)).item();
      const params = model.parameters();
      const names = model.namedParameters().map(([k]) => k);
      const g = nn.batchGradients(model, { x, y }, params, lossFn);
      const auxGrad = T.max(T.abs(g.grads[names.indexOf('auxiliary.weight')])).item();
      model.eval();
      const evalLoss = lossFn(model.call(x), y).item();
      const plainEval = T.crossEntropy(model.call(x), y).item();
      const plain = nn.foldBatchNorm(model);
      plain.eval();
      const diff = T.max(T.abs(T.sub(plain.call(x), model.call(x)))).item();
      console.log(JSON.stringify({ loss, byHand, auxGrad, evalLoss, plainEval, diff, keys: Object.keys(plain.stateDict()), trainedKeys: Object.keys(model.stateDict()) }));
    `;
    const child = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const r = JSON.parse(child.stdout) as {
      loss: number;
      byHand: number;
      auxGrad: number;
      evalLoss: number;
      plainEval: number;
      diff: number;
      keys: string[];
      trainedKeys: string[];
    };
    expect(Math.abs(r.loss - r.byHand)).toBeLessThan(1e-5 * Math.abs(r.byHand));
    expect(r.auxGrad).toBeGreaterThan(0);
    expect(r.evalLoss).toBe(r.plainEval);
    expect(r.diff).toBeLessThan(1e-4);
    expect(r.trainedKeys).toContain('auxiliary.weight');
    expect(r.keys.some((k) => k.startsWith('auxiliary'))).toBe(false);
    expect(r.keys.some((k) => /conv_bn_relu_\d+\.1\./.test(k))).toBe(false); // the stem's BatchNorms are folded
    expect(r.keys).toContain('heads.head.weight');
  });
});
