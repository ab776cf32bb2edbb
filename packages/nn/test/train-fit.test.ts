import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Generator, numTensors } from '@gradlens/tensor';
import { readSafetensors } from '@gradlens/io';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/layers';
import { Adam, DataLoader, evaluate, fit, loadCheckpoint, ProgressBar, saveCheckpoint, SGD, StepLR, type Dataset } from '../src/train';

/** 8×8 images holding a bright bar, horizontal (class 0) or vertical (class 1), partial and noisy. */
function bars(n: number, seed: number): Dataset {
  const g = new Generator(seed);
  const xs: Float32Array[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = new Float32Array(64);
    for (let k = 0; k < 64; k++) x[k] = 0.3 * g.normal();
    const cls = g.int(2);
    const line = g.int(8);
    const from = g.int(3);
    for (let k = from; k < from + 6; k++) x[cls === 0 ? line * 8 + k : k * 8 + line]! += 1;
    xs.push(x);
    ys.push(cls);
  }
  return { length: n, sampleShape: [1, 8, 8], get: (i) => ({ x: xs[i]!, y: ys[i]! }) };
}

function cnn(seed: number, batchNorm = false): Sequential {
  const generator = new Generator(seed);
  return new Sequential(
    new Conv2d(1, 8, 3, { padding: 1, generator }),
    ...(batchNorm ? [new BatchNorm2d(8)] : []),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(8 * 4 * 4, 2, { generator }),
  );
}

const quiet = { log: false } as const;

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-train-')), name);
}

describe('fit', () => {
  test('a small CNN learns horizontal vs vertical bars to ≥ 95% validation accuracy', () => {
    const model = cnn(1);
    const train = new DataLoader(bars(512, 1), { batchSize: 32, shuffle: true, seed: 1 });
    const val = new DataLoader(bars(256, 2), { batchSize: 64 });
    const optimizer = new Adam(model.parameters(), { lr: 0.01 });
    const t0 = Date.now();
    const history = fit(model, { train, val, epochs: 6, optimizer, ...quiet });
    const seconds = (Date.now() - t0) / 1000;
    expect(history.epochs).toHaveLength(6);
    expect(history.valAccuracy[history.valAccuracy.length - 1]).toBeGreaterThanOrEqual(0.95);
    expect(history.loss[5]!).toBeLessThan(history.loss[0]!);
    expect(seconds).toBeLessThan(30);
    expect(history.seconds).toBeGreaterThan(0);
    const again = evaluate(model, val);
    expect(again.count).toBe(256);
    expect(again.accuracy).toBeCloseTo(history.valAccuracy[5]!, 10);
    expect(model.training).toBe(true); // evaluate restores the mode
  });

  test('leaks no tensor across steps and epochs', () => {
    const model = cnn(2, true);
    const train = new DataLoader(bars(64, 3), { batchSize: 16, shuffle: true });
    const val = new DataLoader(bars(32, 4), { batchSize: 16 });
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const before = numTensors();
    const counts: number[] = [];
    fit(model, { train, val, epochs: 3, optimizer, onEpoch: () => void counts.push(numTensors()), ...quiet });
    expect(counts).toEqual([before, before, before]);
    expect(numTensors()).toBe(before);
    evaluate(model, val);
    expect(numTensors()).toBe(before);
  });

  test('steps the scheduler once per epoch and stops when onEpoch returns false', () => {
    const model = cnn(3);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
    const history = fit(model, {
      train: new DataLoader(bars(32, 5), { batchSize: 16 }),
      epochs: 10,
      optimizer,
      scheduler,
      onEpoch: (s) => s.epoch < 3,
      ...quiet,
    });
    expect(history.stopped).toBe(true);
    expect(history.epochs.map((e) => e.lr)).toEqual([0.1, 0.05, 0.025]);
    expect(optimizer.lr).toBe(0.0125);
  });

  test('schedulerInterval: batch steps the scheduler after every optimiser step', () => {
    const model = cnn(3);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    fit(model, {
      train: new DataLoader(bars(48, 5), { batchSize: 16 }),
      epochs: 2,
      optimizer,
      scheduler: new StepLR(optimizer, { stepSize: 2, gamma: 0.5 }),
      schedulerInterval: 'batch',
      ...quiet,
    });
    expect(optimizer.lr).toBe(0.1 * 0.5 ** 3); // 6 steps
  });

  test('a failing loss leaves no tensor behind', () => {
    const model = cnn(4);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const before = numTensors();
    expect(() =>
      fit(model, {
        train: new DataLoader(bars(16, 6), { batchSize: 8 }),
        epochs: 1,
        optimizer,
        lossFn: (o) => o,
        ...quiet,
      }),
    ).toThrow(/lossFn must return a scalar, got shape \[8, 2\]/);
    expect(numTensors()).toBe(before);
  });
});

describe('checkpoints', () => {
  test('save and load round trip: parameters, buffers, metadata and optimiser state', () => {
    const file = tmpFile('model.safetensors');
    const model = cnn(5, true);
    const optimizer = new Adam(model.parameters(), { lr: 0.01 });
    fit(model, { train: new DataLoader(bars(64, 7), { batchSize: 16 }), epochs: 2, optimizer, checkpoint: file, ...quiet });
    const saved = readSafetensors(file);
    expect(saved.metadata.epoch).toBe('2');
    expect(Number(saved.metadata.accuracy)).toBeGreaterThanOrEqual(0);
    expect(Object.keys(saved.tensors)).toEqual(expect.arrayContaining(['0.weight', '1.running_mean', '5.bias', '__optimizer__.0.exp_avg']));

    const copy = cnn(99, true);
    const optCopy = new Adam(copy.parameters(), { lr: 0.5 });
    const meta = loadCheckpoint(file, copy, { optimizer: optCopy });
    expect(meta.epoch).toBe('2');
    expect(meta.format).toBe('gradlens-checkpoint');
    for (const [name, t] of Object.entries(model.stateDict())) {
      expect(Array.from(copy.stateDict()[name]!.values())).toEqual(Array.from(t.values()));
    }
    expect(optCopy.lr).toBe(0.01);
    expect(optCopy.steps).toBe(optimizer.steps);
    expect(optCopy.stateDict()).toEqual(optimizer.stateDict());
  });

  test('best-only checkpoints keep the best epoch; a wrong model is refused with the file named', () => {
    const file = tmpFile('best.safetensors');
    const model = cnn(6);
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const val = new DataLoader(bars(64, 9), { batchSize: 32 });
    const history = fit(model, {
      train: new DataLoader(bars(64, 8), { batchSize: 16 }),
      val,
      epochs: 4,
      optimizer,
      checkpoint: { path: file, best: true },
      ...quiet,
    });
    const best = Math.max(...history.valAccuracy);
    const meta = readSafetensors(file).metadata;
    expect(Number(meta.val_accuracy)).toBe(best);
    expect(Number(meta.epoch)).toBe(history.valAccuracy.indexOf(best) + 1);
    expect(() => loadCheckpoint(file, cnn(1, true))).toThrow(new RegExp(`${path.basename(file)}.*missing keys: 1.weight`));
    const plain = tmpFile('plain.safetensors');
    saveCheckpoint(plain, model, { metadata: { note: 'x' } });
    expect(() => loadCheckpoint(plain, model, { optimizer })).toThrow(/holds no optimiser state/);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['best.safetensors']); // atomic writes leave no temp files
  });
});

describe('progress output', () => {
  function capture(isTTY: boolean): { stream: { write(s: string): boolean; isTTY: boolean }; text: () => string } {
    const chunks: string[] = [];
    return { stream: { write: (s: string) => chunks.push(s) > 0, isTTY }, text: () => chunks.join('') };
  }

  test('not a terminal: one line per epoch', () => {
    const out = capture(false);
    const model = cnn(7);
    fit(model, {
      train: new DataLoader(bars(48, 10), { batchSize: 16 }),
      val: new DataLoader(bars(16, 11), { batchSize: 16 }),
      epochs: 2,
      optimizer: new SGD(model.parameters(), { lr: 0.05 }),
      log: { stream: out.stream },
    });
    const lines = out.text().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    for (const [i, line] of lines.slice(0, 2).entries()) {
      expect(line).toMatch(
        new RegExp(
          `^epoch ${i + 1}/2 3/3 \\d+\\.\\ds loss \\d+\\.\\d{4} acc \\d+\\.\\d% val_loss \\d+\\.\\d{4} val_acc \\d+\\.\\d% lr 0\\.0500$`,
        ),
      );
    }
    expect(out.text()).not.toContain('\r');
  });

  test('a terminal: the bar is redrawn with \\r, with batch i/n, ETA, running loss and accuracy', () => {
    const out = capture(true);
    let clock = 0;
    const bar = new ProgressBar({ stream: out.stream, minIntervalMs: 0, now: () => clock });
    bar.startEpoch();
    clock = 1000;
    bar.update(1, 3, 1, 4, 0.69314, 0.5);
    clock = 2000;
    bar.update(1, 3, 2, 4, 0.5, 0.625);
    bar.endEpoch({ epoch: 1, epochs: 3, batches: 4, seconds: 4.04, loss: 0.25, accuracy: 0.875, lr: 0.01 });
    const draws = out.text().split('\r');
    expect(draws[0]).toBe('');
    expect(draws[1]).toBe('epoch 1/3 [#####---------------] 1/4 ETA 3s loss 0.6931 acc 50.0%');
    expect(draws[2]).toBe('epoch 1/3 [##########----------] 2/4 ETA 2s loss 0.5000 acc 62.5%');
    expect(draws[3]).toMatch(/^epoch 1\/3 4\/4 4\.0s loss 0\.2500 acc 87\.5% lr 0\.0100 +\n$/);
    // Padding wipes what is left of the longer bar line.
    expect(draws[3]!.length).toBe(draws[2]!.length + 1);
  });

  test('a terminal: redraws are throttled, but the last batch is always drawn', () => {
    const out = capture(true);
    let clock = 0;
    const bar = new ProgressBar({ stream: out.stream, minIntervalMs: 100, now: () => clock });
    bar.startEpoch();
    for (let i = 1; i <= 10; i++) {
      clock += 10;
      bar.update(1, 1, i, 10, 1, 0.5);
    }
    expect(
      out
        .text()
        .split('\r')
        .filter(Boolean)
        .map((d) => d.match(/ (\d+)\/10 /)![1]),
    ).toEqual(['1', '10']);
  });

  test('log: false writes nothing', () => {
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const model = cnn(8);
      fit(model, {
        train: new DataLoader(bars(16, 12), { batchSize: 8 }),
        epochs: 1,
        optimizer: new SGD(model.parameters(), { lr: 0.01 }),
        log: false,
      });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});
