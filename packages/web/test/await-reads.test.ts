/**
 * `awaitReads`: the page's methods, which read results synchronously, on results that arrive later (gpu.js's
 * WebGPU contract). Node has no WebGPU, so the contract is played by the CPU kernels behind gpujs's
 * asynchronous kernel table: an op whose input is still on its way runs once it has arrived and hands back a
 * promised result, exactly as in WebGPU mode; a picture whose values are promised makes every activation so.
 * Every method the page offers must then give the synchronous CPU run's maps bit for bit, free what it made,
 * and have run more than once (it really read pending values).
 */
import { readImage } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { defaultGenerator, numTensors, randn, registerBackend, relu, setBackend, sum, Tensor, tensor } from '@gradlens/tensor';
import * as path from 'path';
import { awaitReads, PendingRead } from '@gradlens/backend-gpujs';
import { withAsyncContract } from '../../backend-gpujs/src/async-contract';
import { PendingHostStorage } from '../../backend-gpujs/src/storage';
import { DEFAULT_BUDGET, METHODS } from '../../cli/src/methods';
import type { MethodMaps } from '../../cli/src/methods';
import { pageMethods } from '../src/worker/page-methods';

const ranOnCpu = new Set<string>();
const late = { name: 'late-cpu', kernels: withAsyncContract({}, ranOnCpu), info: (): Record<string, string> => ({}) };
registerBackend('late-cpu', () => late);

/** The same values as `t`, promised: every op that takes it gives a promised result too. */
const arrivingLater = (t: Tensor): Tensor =>
  new Tensor(new PendingHostStorage(Promise.resolve(t.dataSync()), t.size, t.dtype), t.shape, t.dtype);

const SAMPLE = path.resolve(__dirname, '../../../weights/samples/00-ankle-boot.png');
const { model, input, info } = loadBundledModel('gapnet');
const x = imageToInput(readImage(SAMPLE), input);
// small budgets, and batches large enough that the many-pass methods read a few times (each read costs a run)
const budget = { ...DEFAULT_BUDGET, samples: 3, steps: 3, batchSize: 2, window: 16, stride: 16 };
const BIG_BATCH = new Set(['scorecam', 'ablationcam', 'occlusion']);

afterEach(() => setBackend('cpu'));

/** One method on the page's terms, synchronously. */
const runMethod = (name: string, on: Tensor): MethodMaps =>
  METHODS.find((m) => m.name === name)!.run({
    model,
    input: on,
    target: undefined,
    layer: info.targetLayer,
    reference: false,
    budget: BIG_BATCH.has(name) ? { ...budget, batchSize: 64 } : budget,
    onWarning: () => undefined,
  });

describe('awaitReads', () => {
  test('a synchronous read of a value still on its way, outside awaitReads, says how to read it', () => {
    setBackend('late-cpu');
    const y = relu(arrivingLater(tensor([-1, 2])));
    expect(() => y.dataSync()).toThrow(
      /results arrive asynchronously; read them with `await tensor.data\(\)`, or run the code under awaitReads/,
    );
    y.dispose();
  });

  test.each(pageMethods(METHODS, model, 64, info.targetLayer).map((m) => m.name))(
    '%s on promised results equals the synchronous CPU run, runs again per pending read, frees what it made',
    async (name) => {
      const expected = runMethod(name, x);
      setBackend('late-cpu');
      const pending = arrivingLater(x);
      const before = numTensors();
      let runs = 0;
      const got = await awaitReads(
        () => runMethod(name, pending),
        (k) => (runs = k),
      );
      expect(numTensors()).toBe(before);
      expect(runs).toBeGreaterThan(1);
      expect(got.target).toBe(expected.target);
      expect(got.raw.shape).toEqual(expected.raw.shape);
      expect(Array.from(got.raw.data)).toEqual(Array.from(expected.raw.data));
      expect(got.upsampled?.shape).toEqual(expected.upsampled?.shape);
      if (expected.upsampled) expect(Array.from(got.upsampled!.data)).toEqual(Array.from(expected.upsampled.data));
      expect(got.notes).toEqual(expected.notes);
      pending.dispose();
    },
  );

  test('runs once where nothing is pending (the CPU, webgl2)', async () => {
    let runs = 0;
    const v = await awaitReads(
      () => sum(relu(tensor([-1, 2, 3]))).item(),
      (k) => (runs = k),
    );
    expect(v).toBe(5);
    expect(runs).toBe(1);
  });

  test('the default generator draws the same numbers in every run', async () => {
    setBackend('late-cpu');
    const base = arrivingLater(tensor([1, 2, 3, 4]));
    const state = defaultGenerator.saveState();
    const expected = Array.from(randn([4]).dataSync());
    defaultGenerator.restoreState(state);
    const got = await awaitReads(() => {
      const noise = randn([4]);
      const first = sum(relu(base)).item(); // pending: the first run stops here
      return { first, noise: Array.from(noise.dataSync()) };
    });
    expect(got).toEqual({ first: 10, noise: expected });
    base.dispose();
  });

  test('a PendingRead the code catches and turns into another error still replays', async () => {
    setBackend('late-cpu');
    const base = arrivingLater(tensor([1, -2]));
    const got = await awaitReads(() => {
      try {
        return relu(base).dataSync()[0];
      } catch (e) {
        expect(e).toBeInstanceOf(PendingRead);
        throw new Error('something else');
      }
    });
    expect(got).toBe(1);
    base.dispose();
  });

  test('code that reads something else on its replay is stopped with an error, not answered wrongly', async () => {
    setBackend('late-cpu');
    const base = arrivingLater(tensor([1, 2, 3]));
    let k = 0;
    await expect(
      awaitReads(() => {
        k++;
        const y = relu(k === 1 ? base : arrivingLater(tensor([1, 2])));
        return y.dataSync();
      }),
    ).rejects.toThrow(/read 1 of the replay is 2 float32 values, but the first run read 3 float32 there/);
    base.dispose();
  });
});
