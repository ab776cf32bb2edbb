/**
 * The launch memo under `awaitReads`: a replay takes each repeated kernel launch's result from the previous
 * run instead of launching again, stops taking them at the first launch that differs, and releases every
 * reference it took when the replay ends. Device buffers are played by reference-counted fakes (Node has no WebGPU).
 */
import { Tensor } from '@gradlens/tensor';
import { awaitReads } from '../src/replay';
import { LaunchMemo } from '../src/launch-memo';
import { GpujsStorage } from '../src/storage';
import type { Handle } from '../src/storage';

/** A buffer with a shared reference count, as gpu.js's WebGPU results (clone adds a reference, delete drops one). */
class FakeBuffer {
  constructor(
    private readonly refs: { n: number },
    private readonly values: Float32Array,
  ) {}
  clone(): FakeBuffer {
    this.refs.n++;
    return new FakeBuffer(this.refs, this.values);
  }
  delete(): void {
    this.refs.n--;
  }
  toArray(): Float32Array {
    return this.values;
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('launch memo', () => {
  const memo = new LaunchMemo();
  afterAll(() => memo.destroy());

  /** A launch whose result arrives later (a fresh buffer holding `v`), counted in `made`. */
  function launcher(refs: { n: number }, made: string[]) {
    return (key: string, v: number): Tensor => {
      const value = memo.launch(key, () => {
        made.push(key);
        refs.n++;
        return Promise.resolve(new FakeBuffer(refs, Float32Array.of(v)) as unknown as Handle);
      });
      return new Tensor(new GpujsStorage(value, 1, 'float32', memo), [1], 'float32');
    };
  }

  test('a replay launches each kernel once; every reference is released at the end', async () => {
    const refs = { n: 0 };
    const made: string[] = [];
    const launch = launcher(refs, made);
    let runs = 0;
    const before = { launched: memo.launched, reused: memo.reused };
    const got = await awaitReads(
      () => {
        const a = launch('a', 1).dataSync()[0]!;
        const b = launch(`b after ${a}`, 2).dataSync()[0]!;
        return a + b;
      },
      (k) => (runs = k),
    );
    expect(got).toBe(3);
    expect(runs).toBe(3); // two pending reads
    expect(made).toEqual(['a', 'b after 1']);
    expect(memo.launched - before.launched).toBe(2);
    expect(memo.reused - before.reused).toBe(3); // a in runs 2 and 3, b in run 3
    await settle();
    expect(refs.n).toBe(0);
  });

  test('a run that launches something else stops taking results from the previous run', async () => {
    const refs = { n: 0 };
    const made: string[] = [];
    const launch = launcher(refs, made);
    let run = 0;
    await awaitReads(
      () => {
        // the second run launches `x` first: it and everything after it run afresh
        if (run === 2) launch('x', 0).dispose();
        launch('a', 1).dataSync();
        return 0;
      },
      (k) => (run = k),
    );
    expect(made).toEqual(['a', 'x', 'a']);
    await settle();
    expect(refs.n).toBe(0);
  });

  test('outside awaitReads every launch runs', () => {
    const made: string[] = [];
    launcher({ n: 0 }, made)('a', 1).dispose();
    launcher({ n: 0 }, made)('a', 1).dispose();
    expect(made).toEqual(['a', 'a']);
  });
});
