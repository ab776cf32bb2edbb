import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeNpz, writeSafetensors, readPth, type NdArray } from '@gradlens/io';
import { createModel } from './models';
import { loadWeights, readStateDict } from './load';
import { Conv2d } from './layers/conv';
import { Sequential } from './layers/container';
import { BatchNorm2d } from './layers/batchnorm';
import { assign } from '@gradlens/tensor';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-nn-load-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const squeeze = () => createModel('squeezenet1_1', { widthDivisor: 8, numClasses: 10, init: false });

test('.safetensors and .npz files with the same arrays load to the same weights as the .pth', () => {
  const dict = readPth(path.join(FIX, 'squeezenet1_1.pth'));
  writeSafetensors(path.join(tmp, 'w.safetensors'), dict);
  writeNpz(path.join(tmp, 'w.npz'), dict);
  const ref = squeeze();
  loadWeights(ref, path.join(FIX, 'squeezenet1_1.pth'));
  for (const file of ['w.safetensors', 'w.npz']) {
    const m = squeeze();
    loadWeights(m, path.join(tmp, file));
    for (const [k, t] of Object.entries(m.stateDict())) expect([k, t.dataSync()]).toEqual([k, ref.stateDict()[k]!.dataSync()]);
    // The format can also be told from the bytes, or given.
    loadWeights(squeeze(), fs.readFileSync(path.join(tmp, file)), { format: file.endsWith('npz') ? 'npz' : 'safetensors' });
  }
  expect(Object.keys(readStateDict(fs.readFileSync(path.join(tmp, 'w.safetensors')))).sort()).toEqual(Object.keys(dict).sort());
});

test('weights read from a path become the parameters themselves (no second copy); bytes and tied storages are copied', () => {
  const file = path.join(FIX, 'squeezenet1_1.pth');
  const adopted = squeeze();
  loadWeights(adopted, file);
  const copied = squeeze();
  loadWeights(copied, fs.readFileSync(file)); // bytes the caller keeps: copied, never aliased
  for (const [k, t] of Object.entries(adopted.stateDict())) {
    expect([k, t.dataSync()]).toEqual([k, copied.stateDict()[k]!.dataSync()]);
    // A float parameter's values are a view of the whole file's bytes (its own array would be exactly its size).
    if (t.dtype === 'float32') expect([k, t.values().buffer.byteLength > t.size * 4]).toEqual([k, true]);
    const c = copied.stateDict()[k]!;
    expect(c.values().buffer.byteLength).toBe(c.values().byteLength);
  }
  // Two keys on one storage (tied weights): one parameter adopts it, the other gets a copy, so they do not alias.
  const tied = new Sequential(new Conv2d(4, 4, 1), new Conv2d(4, 4, 1));
  loadWeights(tied, path.join(FIX, 'tied.pth'));
  const [w0, w1] = [tied.stateDict()['0.weight']!, tied.stateDict()['1.weight']!];
  expect(Array.from(w1.dataSync())).toEqual(Array.from(w0.dataSync()));
  assign(w0, new Float32Array(16).fill(3));
  expect(Array.from(w1.dataSync())).not.toEqual(Array.from(w0.dataSync()));
});

test('a state dict the caller read already ({ read }) loads without the file being read again, and messages name the file', () => {
  const file = path.join(tmp, 'read-once.pth');
  fs.copyFileSync(path.join(FIX, 'squeezenet1_1.pth'), file);
  const dict = readStateDict(file);
  fs.rmSync(file); // a second read would fail now
  const m = squeeze();
  loadWeights(m, file, { read: dict });
  const ref = squeeze();
  loadWeights(ref, path.join(FIX, 'squeezenet1_1.pth'));
  for (const [k, t] of Object.entries(m.stateDict())) expect([k, t.dataSync()]).toEqual([k, ref.stateDict()[k]!.dataSync()]);
  const wrong = createModel('squeezenet1_1', { widthDivisor: 8, numClasses: 7, init: false });
  expect(() => loadWeights(wrong, file, { read: dict })).toThrow(
    new RegExp(
      `^loadWeights: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not fit .*shape mismatches \\(2\\): classifier\\.1\\.weight`,
      's',
    ),
  );
});

test('int64 num_batches_tracked loads by value', () => {
  const m = createModel('resnet18', { widthDivisor: 16, numClasses: 10, init: false });
  loadWeights(m, path.join(FIX, 'resnet18.pth'));
  expect(m.stateDict()['bn1.num_batches_tracked']!.item()).toBe(7);
});

test('a mismatched file fails naming the file, listing missing and unexpected keys and shape mismatches', () => {
  const file = path.join(FIX, 'resnet18.pth');
  const wrongWidth = createModel('resnet18', { widthDivisor: 8, numClasses: 10, init: false });
  expect(() => loadWeights(wrongWidth, file)).toThrow(
    /resnet18\.pth does not fit ResNet:[\s\S]*shape mismatches \(\d+\): conv1\.weight: file \[4, 3, 7, 7\] vs model \[8, 3, 7, 7\]/,
  );
  const other = createModel('resnet34', { widthDivisor: 16, numClasses: 10, init: false });
  let message = '';
  try {
    loadWeights(other, file);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toMatch(/resnet18\.pth/);
  expect(message).toMatch(/missing keys \(\d+\): layer1\.2\.conv1\.weight/);
  expect(message).toMatch(/strict: false/);
  // Non-strict: loads what matches, reports the rest.
  const result = loadWeights(other, file, { strict: false });
  expect(result.unexpectedKeys).toEqual([]);
  expect(result.missingKeys).toContain('layer3.5.bn2.running_var');
  expect(result.missingKeys).not.toContain('layer3.5.bn2.num_batches_tracked'); // torch fills it in too
  const extra = new Sequential(new Conv2d(3, 4, 7, { stride: 2, padding: 3, bias: false }));
  expect(() => loadWeights(extra, file)).toThrow(/unexpected keys \(\d+\): conv1\.weight, bn1\.weight, .*… \(\d+ in all\)/);
});

test('keys saved from DataParallel (module. prefix) load; unreadable files are named', () => {
  const dict: Record<string, NdArray> = {
    'module.0.weight': { dtype: 'float32', shape: [2], data: new Float32Array([2, 3]) },
    'module.0.bias': { dtype: 'float32', shape: [2], data: new Float32Array([4, 5]) },
    'module.0.running_mean': { dtype: 'float32', shape: [2], data: new Float32Array([0, 1]) },
    'module.0.running_var': { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) },
    'module.0.num_batches_tracked': { dtype: 'int64', shape: [], data: new BigInt64Array([3n]) },
  };
  writeSafetensors(path.join(tmp, 'dp.safetensors'), dict);
  const m = new Sequential(new BatchNorm2d(2));
  loadWeights(m, path.join(tmp, 'dp.safetensors'));
  expect([...m.stateDict()['0.bias']!.dataSync()]).toEqual([4, 5]);
  expect(m.stateDict()['0.num_batches_tracked']!.item()).toBe(3);
  fs.writeFileSync(path.join(tmp, 'junk.pth'), 'not a checkpoint');
  expect(() => loadWeights(m, path.join(tmp, 'junk.pth'))).toThrow(/junk\.pth/);
  expect(() => loadWeights(m, path.join(tmp, 'absent.safetensors'))).toThrow(/absent\.safetensors/);
});

describe('checkpoints as training scripts save them (scripts/make-wrapped-checkpoint-fixtures.py)', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'wrapped-expected.json'), 'utf8')) as Record<string, number[]>;
  const small = () => new Sequential(new Conv2d(2, 3, 1, { bias: false }), new BatchNorm2d(3));
  it.each([
    ['wrapped-dp.pth', '{epoch, state_dict of a DataParallel model, optimizer}'],
    ['wrapped-dp-legacy.pth', 'the same in the legacy format'],
    ['wrapped-model.pth', '{model: state_dict} with a non-contiguous weight'],
    ['wrapped-torchscript.pt', 'the model as TorchScript (torch.jit.save)'],
  ])('%s: %s', (file, _what) => {
    const m = small();
    expect(loadWeights(m, path.join(FIX, file))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, t] of Object.entries(m.stateDict())) {
      const want = expected[k]!;
      expect([k, Array.from(t.dataSync())]).toEqual([k, want.map((v) => (k.endsWith('tracked') ? v : Math.fround(v)))]);
    }
    // from bytes, the format told from the bytes alone
    expect(loadWeights(small(), fs.readFileSync(path.join(FIX, file)))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it('a checkpoint that does not fit names the file and each kind of problem', () => {
    const other = new Sequential(new Conv2d(2, 4, 1, { bias: false }), new BatchNorm2d(4), new Conv2d(4, 1, 1));
    expect(() => loadWeights(other, path.join(FIX, 'wrapped-dp-legacy.pth'))).toThrow(
      /wrapped-dp-legacy\.pth does not fit Sequential:\n {2}missing keys \(2\): 2\.weight, 2\.bias\n {2}shape mismatches \(5\): 0\.weight: file \[3, 2, 1, 1\] vs model \[4, 2, 1, 1\]/,
    );
  });

  it('bytes that neither reader takes: both reasons, one line', () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'wrapped-dp.pth')));
    bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff; // inside the zip's directory
    let message = '';
    try {
      loadWeights(small(), bytes);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^loadWeights: cannot tell the format of <bytes> \(as \.pth: .+; as \.npz: .+\); name it \.pth/);
    expect(message).not.toMatch(/\n/);
  });
});

describe('keys named like Object.prototype members are plain keys', () => {
  const small = () => new Sequential(new Conv2d(1, 2, 1, { bias: false }));
  const weight = (): NdArray => ({ dtype: 'float32', shape: [2, 1, 1, 1], data: new Float32Array([3, 4]) });
  it.each(['toString', '__proto__', 'constructor', 'hasOwnProperty'])('strict loadWeights refuses an extra key %s', (extra) => {
    const file = path.join(tmp, `extra-${extra}.safetensors`);
    const tensors: Record<string, NdArray> = {};
    Object.defineProperty(tensors, '0.weight', { value: weight(), enumerable: true });
    Object.defineProperty(tensors, extra, { value: weight(), enumerable: true });
    writeSafetensors(file, tensors);
    expect(Object.keys(readStateDict(file)).sort()).toEqual(['0.weight', extra].sort());
    expect(() => loadWeights(small(), file)).toThrow(
      new RegExp(`extra-${extra}\\.safetensors does not fit Sequential:[\\s\\S]*unexpected keys \\(1\\): ${extra}`),
    );
    // non-strict: reported, ignored, and the real weight loads
    const m = small();
    expect(loadWeights(m, file, { strict: false })).toEqual({ missingKeys: [], unexpectedKeys: [extra] });
    expect(Array.from(m.stateDict()['0.weight']!.dataSync())).toEqual([3, 4]);
  });
  it('a file missing a key named toString does not count it as present', () => {
    const m = small();
    expect(() => m.loadStateDict({ toString: { shape: [2, 1, 1, 1], data: new Float32Array(2) } })).toThrow(
      /missing keys: 0\.weight\n  unexpected keys: toString/,
    );
  });
});

describe('keys from a file are shown safely in messages', () => {
  it('a key with newlines is escaped, a key of a million characters cut', () => {
    const tensors: Record<string, NdArray> = {};
    const weight = (): NdArray => ({ dtype: 'float32', shape: [1], data: new Float32Array([1]) });
    tensors['bad\nkey\u0000'] = weight();
    tensors['k'.repeat(1e6)] = weight();
    const file = path.join(tmp, 'odd-keys.safetensors');
    writeSafetensors(file, tensors);
    let message = '';
    try {
      loadWeights(new Sequential(new Conv2d(1, 2, 1, { bias: false })), file);
    } catch (e) {
      message = (e as Error).message;
    }
    // the message's own lines: the header, one per kind of problem, the hint; no line from a key
    expect(message.split('\n')).toHaveLength(4);
    expect(message).toMatch(
      /unexpected keys \(2\): (bad\\nkey\\u0000, k{200}… \(1000000 characters\)|k{200}… \(1000000 characters\), bad\\nkey\\u0000)$/m,
    );
    expect(message.length).toBeLessThan(1000);
  });
});
