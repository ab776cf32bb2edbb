import { Generator, numTensors, tensor } from '@gradlens/tensor';
import { DataLoader, tensorDataset, type Sample } from '../src/train';

function samples(n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ x: [i, 10 * i, 100 * i, 1000 * i], y: i % 3 }));
}

describe('DataLoader', () => {
  test('batches in dataset order with the sample shape, last batch short', () => {
    const loader = new DataLoader(samples(10), { batchSize: 4, sampleShape: [2, 2] });
    expect(loader.length).toBe(3);
    const batches = [...loader];
    expect(batches.map((b) => b.x.shape)).toEqual([
      [4, 2, 2],
      [4, 2, 2],
      [2, 2, 2],
    ]);
    expect(batches[0]!.y.dtype).toBe('int32');
    expect(Array.from(batches[2]!.y.values())).toEqual([2, 0]);
    expect(Array.from(batches[2]!.x.values())).toEqual([8, 80, 800, 8000, 9, 90, 900, 9000]);
    expect(batches[1]!.indices).toEqual([4, 5, 6, 7]);
    batches.forEach((b) => b.dispose());
  });

  test('dropLast skips the short batch', () => {
    const loader = new DataLoader(samples(10), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect(loader.samplesPerEpoch).toBe(8);
    const batches = [...loader];
    expect(batches).toHaveLength(2);
    expect(batches[0]!.x.shape).toEqual([4, 4]);
    batches.forEach((b) => b.dispose());
  });

  test('shuffle: a permutation per epoch, new each epoch, the same for the same seed', () => {
    const epoch = (l: DataLoader): number[] =>
      [...l].flatMap((b) => {
        b.dispose();
        return b.indices;
      });
    const a = new DataLoader(samples(20), { batchSize: 6, shuffle: true, seed: 7 });
    const b = new DataLoader(samples(20), { batchSize: 6, shuffle: true, seed: 7 });
    const c = new DataLoader(samples(20), { batchSize: 6, shuffle: true, generator: new Generator(8) });
    const a1 = epoch(a);
    const a2 = epoch(a);
    expect([...a1].sort((p, q) => p - q)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(a1).not.toEqual(a2);
    expect(epoch(b)).toEqual(a1);
    expect(epoch(b)).toEqual(a2);
    expect(epoch(c)).not.toEqual(a1);
    // Labels follow their samples.
    for (const batch of a) {
      batch.indices.forEach((i, k) => expect(batch.y.values()[k]).toBe(i % 3));
      batch.dispose();
    }
  });

  test('tensorDataset copies [N, ...] arrays; batches own no leaked tensors once disposed', () => {
    const before = numTensors();
    const x = tensor(
      Float32Array.from({ length: 5 * 6 }, (_, i) => i),
      [5, 1, 2, 3],
    );
    const ds = tensorDataset(x, [0, 1, 0, 1, 1]);
    x.dispose();
    const loader = new DataLoader(ds, { batchSize: 2 });
    expect(loader.sampleShape).toEqual([1, 2, 3]);
    const batches = [...loader];
    expect(batches[1]!.x.shape).toEqual([2, 1, 2, 3]);
    expect(batches[1]!.x.values()[0]).toBe(12);
    batches.forEach((b) => b.dispose());
    expect(numTensors()).toBe(before);
  });

  test('errors say what was expected', () => {
    expect(() => new DataLoader(samples(3), { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => tensorDataset({ data: new Float32Array(6), shape: [3, 2] }, [0, 1])).toThrow(/3 samples but y holds 2 labels/);
    const bad = new DataLoader(
      [
        { x: [1, 2], y: 0 },
        { x: [1], y: 1 },
      ],
      { batchSize: 2 },
    );
    expect(() => [...bad]).toThrow(/sample 1 has 1 values, expected 2/);
  });
});
