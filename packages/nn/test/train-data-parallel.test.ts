import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { noGrad, numTensors, type Tensor } from '@gradlens/tensor';
import { Adam, batchGradients, collate, DataLoader, fit, SGD } from '../src/train';
import { DataParallel, shardBounds, type ParallelTask, type ParallelTaskModule } from '../src/train/data-parallel';

// The workers run the compiled dist (worker threads cannot run TypeScript): `npx tsc -b` first, as `npm test` does.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const TASK = path.join(__dirname, 'fixtures', 'data-parallel-task.js');
const WORKER = path.join(ROOT, 'packages', 'nn', 'dist', 'train', 'data-parallel-worker.js');

interface TaskConfig {
  seed: number;
  length: number;
  batchNorm?: boolean;
  fail?: { rank: number; when: 'build' | 'step' | 'exit' };
}

/** The fixture's task as a single thread builds it. */
function localTask(config: TaskConfig): ParallelTask {
  return (require(TASK) as ParallelTaskModule).build(config, { rank: 0, threads: 1 });
}

function values(ts: readonly Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.values(), Number));
}

/** The largest |a − b| over all entries, relative to max(1, |b|). */
function worstDiff(a: number[][], b: number[][]): number {
  expect(a.map((x) => x.length)).toEqual(b.map((x) => x.length));
  let worst = 0;
  a.forEach((xs, i) =>
    xs.forEach((x, j) => {
      const y = b[i]![j]!;
      worst = Math.max(worst, Math.abs(x - y) / Math.max(1, Math.abs(y)));
    }),
  );
  return worst;
}

const options = { module: TASK, workerScript: WORKER, timeoutMs: 30000 };

beforeAll(() => {
  if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run npx tsc -b before these tests`);
});

describe('DataParallel', () => {
  test('shards are contiguous and cover the batch, the first ones one larger', () => {
    expect(shardBounds(11, 3)).toEqual([
      [0, 4],
      [4, 8],
      [8, 11],
    ]);
    expect(shardBounds(2, 3)).toEqual([
      [0, 1],
      [1, 2],
      [2, 2],
    ]);
    expect(shardBounds(8, 1)).toEqual([[0, 8]]);
  });

  test('the averaged gradient of 3 threads (2 workers) equals the single-thread full-batch gradient', async () => {
    const config: TaskConfig = { seed: 3, length: 40 };
    const dp = new DataParallel({ ...options, config, threads: 3, batchSize: 11, shuffle: true, seed: 5 });
    try {
      const batch = dp.train[Symbol.iterator]().next().value!;
      expect(batch.indices).toHaveLength(11); // shards of 4, 4 and 3
      const params = dp.model.parameters();
      const got = dp.gradients(batch, params);

      const ref = localTask(config);
      const full = collate(ref.trainSet(0), batch.indices, [1, 8, 8]);
      const want = batchGradients(ref.model, full, ref.model.parameters());
      full.dispose();
      expect(got.count).toBe(11);
      expect(got.loss).toBeCloseTo(want.loss, 5);
      expect(got.correct).toBe(want.correct);
      expect(worstDiff(values(got.grads), values(want.grads))).toBeLessThan(1e-6);
      for (const g of [...got.grads, ...want.grads]) g.dispose();
    } finally {
      await dp.close();
    }
  });

  test('a few steps with 2 threads give the parameters of single-thread training; 1 thread gives them exactly', async () => {
    const config: TaskConfig = { seed: 4, length: 64 };
    const run = (threads: number): number[][] => {
      const dp = new DataParallel({ ...options, config, threads, batchSize: 16, shuffle: true, seed: 9 });
      try {
        const before = numTensors();
        const history = dp.fit({ epochs: 2, optimizer: new Adam(dp.model.parameters(), { lr: 0.01 }), log: false });
        expect(history.epochs).toHaveLength(2);
        expect(numTensors()).toBe(before);
        return values(dp.model.parameters());
      } finally {
        void dp.close();
      }
    };

    // The reference: plain fit over a DataLoader with the same shuffling, switching datasets per epoch as the task does.
    const ref = localTask(config);
    let epoch = 0;
    const data = { length: config.length, sampleShape: [1, 8, 8], get: (i: number) => ref.trainSet(epoch).get(i) };
    const loader = new DataLoader(data, { batchSize: 16, shuffle: true, seed: 9 });
    fit(ref.model, {
      train: loader,
      epochs: 2,
      optimizer: new Adam(ref.model.parameters(), { lr: 0.01 }),
      log: false,
      onEpoch: () => void epoch++,
    });
    const want = values(ref.model.parameters());

    expect(run(1)).toEqual(want);
    const two = run(2);
    expect(worstDiff(two, want)).toBeLessThan(1e-5);
    expect(worstDiff(two, want)).toBeGreaterThan(0); // the shards were summed, not one thread doing everything
    expect(run(2)).toEqual(two); // deterministic
  });

  test("BatchNorm running statistics are the main thread's shard's", async () => {
    const config: TaskConfig = { seed: 6, length: 16, batchNorm: true };
    const dp = new DataParallel({ ...options, config, threads: 2, batchSize: 16 });
    try {
      dp.fit({ epochs: 1, optimizer: new SGD(dp.model.parameters(), { lr: 0 }), log: false });
      const ref = localTask(config);
      const shard = collate(
        ref.trainSet(0),
        Array.from({ length: 8 }, (_, i) => i),
        [1, 8, 8],
      );
      noGrad(() => ref.model.call(shard.x).dispose());
      shard.dispose();
      const stats = (m: ParallelTask['model']): number[][] =>
        values(
          m
            .namedBuffers()
            .filter(([n]) => n.includes('running'))
            .map(([, t]) => t),
        );
      expect(worstDiff(stats(dp.model), stats(ref.model))).toBeLessThan(1e-6);
    } finally {
      await dp.close();
    }
  });

  test('a worker that throws while building, while stepping, or exits, is reported in the main thread', async () => {
    const config = (when: 'build' | 'step' | 'exit'): TaskConfig => ({ seed: 1, length: 16, fail: { rank: 1, when } });
    expect(() => new DataParallel({ ...options, config: config('build'), threads: 2, batchSize: 8 })).toThrow(
      /worker 1 of 1 failed while starting: Error: task build failed on purpose in rank 1/,
    );
    expect(() => new DataParallel({ ...options, config: config('exit'), threads: 2, batchSize: 8 })).toThrow(
      /worker 1 of 1 exited unexpectedly while starting/,
    );
    const dp = new DataParallel({ ...options, config: config('step'), threads: 2, batchSize: 8 });
    try {
      expect(() => dp.fit({ epochs: 1, optimizer: new SGD(dp.model.parameters(), { lr: 0.1 }), log: false })).toThrow(
        /worker 1 of 1 failed while computing epoch 1, step 1: Error: sample \d+ failed on purpose in rank 1/,
      );
    } finally {
      await dp.close();
    }
    expect(() => new DataParallel({ ...options, module: path.join(__dirname, 'no-such-task.js'), threads: 2 })).toThrow(/no-such-task/);
  });

  test('close stops the workers, and a script that trains in parallel exits on its own', async () => {
    const dp = new DataParallel({ ...options, config: { seed: 2, length: 8 }, threads: 2, batchSize: 8 });
    const closing = dp.close();
    await expect(closing).resolves.toBeUndefined();
    expect(() => dp.gradients({ epoch: 0, indices: [0], dispose: () => undefined }, dp.model.parameters())).toThrow(/closed/);

    const script = `
      const nn = require(${JSON.stringify(path.join(ROOT, 'packages', 'nn', 'dist'))});
      const dp = new nn.DataParallel({ module: ${JSON.stringify(TASK)}, config: { seed: 2, length: 16 }, threads: 2, batchSize: 8 });
      dp.fit({ epochs: 1, optimizer: new nn.SGD(dp.model.parameters(), { lr: 0.1 }), log: false });
      dp.close().then(() => console.log('closed'));
    `;
    const child = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('closed');
  });
});
