import * as T from '../../index';
import { setStoragePoolBytes, setTensorArena, storagePoolBytes } from './storage-pool';

/** Exactly how a tensor's array is reached by kernels, to compare identities without handing it out. */
const arrayOf = (t: T.Tensor) => t.kernelValues();
const N = 1 << 14; // over the pool's minimum length
const ramp = (n: number, k = 1) => T.tensor(Float32Array.from({ length: n }, (_, i) => ((i % 97) - 48) * k));

describe('storage pool: freed kernel outputs are reused, never one anybody may hold', () => {
  // This pool holds ordinary arrays; float32 outputs would go to the tensor arena (arena.test.ts) first.
  beforeAll(() => setTensorArena(false));
  beforeEach(() => setStoragePoolBytes(512 * 2 ** 20));
  afterAll(() => {
    setStoragePoolBytes(512 * 2 ** 20);
    setTensorArena(true);
  });

  test('a freed output array serves the next output of that dtype and length, and results stay exact', () => {
    const x = ramp(N);
    const a = T.relu(x);
    const first = arrayOf(a);
    a.dispose();
    expect(storagePoolBytes()).toBeGreaterThanOrEqual(4 * N);
    const b = T.neg(x); // writes every element of the reused array
    expect(arrayOf(b)).toBe(first);
    expect(Array.from(b.dataSync())).toEqual(Array.from(x.dataSync(), (v) => -v));
    for (const t of [x, b]) t.dispose();
  });

  test('outputs that must start at zero get zeros from a reused array (pooling backward, conv)', () => {
    // Fill the pool with arrays of garbage of the exact sizes the backward kernels will ask for.
    const x = T.randn([2, 8, 32, 32], { generator: new T.Generator(3) });
    const w = T.randn([8, 8, 3, 3], { generator: new T.Generator(4) });
    /** Input and weight gradients of one recorded pass, every tensor it made freed. */
    const run = (): number[][] => {
      let r: number[][] = [];
      T.tidy(() => {
        const { output, tape } = T.record(() => T.maxPool2d(T.conv2d(T.relu(x), w, null, { padding: 1 }), { kernelSize: 2 }));
        const [gx, gw] = tape.grad(output, [x, w], { gradOutputs: [T.onesLike(output)] });
        r = [Array.from(gx!.dataSync()), Array.from(gw!.dataSync())];
        tape.dispose();
      });
      return r;
    };
    setStoragePoolBytes(0);
    const fresh = run();
    setStoragePoolBytes(512 * 2 ** 20);
    T.tidy(() => T.mul(T.full([2, 8, 32, 32], 7), 3)); // garbage of x's size into the pool
    const first = run();
    const again = run(); // every output now from reused arrays
    expect(first).toEqual(fresh);
    expect(again).toEqual(fresh);
    for (const t of [x, w]) t.dispose();
  });

  test('an array handed out by values() is never reused after its tensor is freed', () => {
    const x = ramp(N);
    const a = T.relu(x);
    const held = a.values();
    const copy = Array.from(held);
    a.dispose();
    const b = T.neg(x);
    const c = T.abs(x);
    expect(arrayOf(b)).not.toBe(held);
    expect(arrayOf(c)).not.toBe(held);
    expect(Array.from(held)).toEqual(copy);
    for (const t of [x, b, c]) t.dispose();
  });

  test('a reshape shares its input array, which is then never reused while either lives', () => {
    const x = ramp(N);
    const a = T.relu(x);
    const r = T.reshape(a, [N / 2, 2]);
    const copy = Array.from(r.dataSync());
    a.dispose();
    const b = T.neg(x);
    expect(arrayOf(b)).not.toBe(arrayOf(r));
    expect(Array.from(r.dataSync())).toEqual(copy);
    r.dispose();
    const c = T.abs(x);
    expect(arrayOf(c)).not.toBe(arrayOf(b));
    for (const t of [x, b, c]) t.dispose();
  });

  test('user arrays wrapped by tensor() are never taken into the pool', () => {
    const mine = new Float32Array(N).fill(5);
    const t = T.tensor(mine);
    const before = storagePoolBytes();
    t.dispose();
    expect(storagePoolBytes()).toBe(before);
    const y = T.neg(ramp(N));
    expect(y.kernelValues()).not.toBe(mine);
    expect(mine.every((v) => v === 5)).toBe(true);
    y.dispose();
  });

  test('arrays a tape saved are reused only once the tape is disposed', () => {
    const x = ramp(N, 0.5);
    const { output, tape } = T.record(() => T.sum(T.relu(T.mul(x, 2))));
    const g1 = tape.grad(output, [x])[0]!.dataSync();
    T.tidy(() => T.neg(T.neg(T.neg(x)))); // churn while the tape holds its tensors
    const g2 = tape.grad(output, [x])[0]!.dataSync();
    expect(Array.from(g2)).toEqual(Array.from(g1));
    tape.dispose();
    for (const t of [x, output]) t.dispose();
  });

  test('the cap bounds what waits; 0 keeps nothing', () => {
    setStoragePoolBytes(4 * N);
    T.tidy(() => [T.neg(ramp(N)), T.abs(ramp(N)), T.relu(ramp(N))]);
    expect(storagePoolBytes()).toBeLessThanOrEqual(4 * N);
    setStoragePoolBytes(0);
    expect(storagePoolBytes()).toBe(0);
    T.tidy(() => T.neg(ramp(N)));
    expect(storagePoolBytes()).toBe(0);
    expect(() => setStoragePoolBytes(-1)).toThrow('setStoragePoolBytes: expected a byte count >= 0, got -1');
  });
});
