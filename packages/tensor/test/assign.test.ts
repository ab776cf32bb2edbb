import { assign, numTensors, reshape, tensor, Tensor } from '../src';
import type { DeviceStorage, TypedArray } from '../src';

describe('assign: the one way to change a tensor', () => {
  test('writes numbers, a tensor or an update function in place, and returns the tensor', () => {
    const t = tensor([1, 2, 3, 4], [2, 2]);
    const view = reshape(t, [4]);
    expect(assign(t, [5, 6, 7, 8])).toBe(t);
    expect(Array.from(t.values())).toEqual([5, 6, 7, 8]);
    expect(Array.from(view.values())).toEqual([5, 6, 7, 8]); // a reshape shares the values
    const src = tensor([1, 1, 2, 2], [4], 'int32');
    assign(t, src);
    expect(Array.from(t.values())).toEqual([1, 1, 2, 2]);
    assign(t, (v) => v.fill(9));
    expect(Array.from(t.values())).toEqual([9, 9, 9, 9]);
    for (const x of [t, view, src]) x.dispose();
  });

  test('bad input gets a one-line error naming the shapes', () => {
    const t = tensor([1, 2, 3], [3]);
    expect(() => assign(t, [1, 2])).toThrow(/^assign: 2 values cannot fill tensor \[3\] \(3 elements\)$/);
    expect(() => assign(t, tensor([1, 2, 3, 4], [2, 2]))).toThrow(/assign: a tensor of shape \[2, 2\] cannot fill tensor \[3\]/);
    t.dispose();
    expect(() => assign(t, [1, 2, 3])).toThrow(/assign: tensor #\d+ \[3\] was disposed/);
  });

  test('drops a device copy, which would be stale, so that backends upload the new values', () => {
    let freed = 0;
    const device: DeviceStorage = { backend: 'fake', read: (): TypedArray => Float32Array.from([1, 2]), dispose: () => void freed++ };
    const before = numTensors();
    const t = new Tensor(device, [2], 'float32');
    expect(t.deviceStorage()).toBe(device);
    assign(t, [3, 4]);
    expect(freed).toBe(1);
    expect(t.deviceStorage()).toBeNull();
    expect(Array.from(t.values())).toEqual([3, 4]);
    t.dispose();
    expect(numTensors()).toBe(before);
  });

  test('values() is read-only in its type: `npm run typecheck` fails if these writes compile', () => {
    const t = tensor([1, 2]);
    const v = t.values();
    const writes = [
      // @ts-expect-error an index write through values(); use assign
      () => (v[0] = 5),
      // @ts-expect-error a writer method through values(); use assign
      () => v.fill(0),
    ];
    expect(writes).toHaveLength(2); // built, never run: the values stay as they were
    expect(Array.from(t.values())).toEqual([1, 2]);
    t.dispose();
  });
});

describe('adoptValues: taking an array over instead of copying it, only where nobody else sees the old one', () => {
  test('a tensor of its own takes the array; one that a reshape shares, or whose values were handed out, refuses', () => {
    const own = tensor([0, 0, 0, 0], [2, 2]);
    const given = new Float32Array([1, 2, 3, 4]);
    expect(own.adoptValues(given)).toBe(true);
    expect(own.kernelValues()).toBe(given);
    expect(own.adoptValues(new Float32Array(3))).toBe(false); // wrong size
    expect(own.adoptValues(new Float64Array(4))).toBe(false); // wrong array type for float32
    const shared = tensor([0, 0, 0, 0], [2, 2]);
    const view = reshape(shared, [4]);
    expect(shared.adoptValues(new Float32Array(4))).toBe(false);
    const seen = tensor([0, 0, 0, 0], [4]);
    seen.values();
    expect(seen.adoptValues(new Float32Array(4))).toBe(false);
    for (const x of [own, shared, view, seen]) x.dispose();
  });
});
