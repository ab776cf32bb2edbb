import * as T from '../../../index';
import { runOpFull } from '../../../ops/run';
import { createTensorArena, RangeAllocator, type CollectionRegistry } from './arena';
import { inTensorArena, setTensorArena, tensorArenaBytes } from '../storage-pool';
import { setWinogradGroupFloats, setWinogradTile } from './winograd';
import { firstDifference } from './test_util';
import { setJobObserver, type JobRecord } from './wasm-gemm';

/** How kernels reach a tensor's array (without handing it out, which would move it out of the arena). */
const arrayOf = (t: T.Tensor) => t.kernelValues() as Float32Array;

/**
 * Runs `run` on 1, 2 and 3 threads (the arena as the caller set it), each time expecting `reference`'s values;
 * returns the names of the module's jobs that ran meanwhile.
 */
function sameOnEveryThreadCount(run: () => number[][], reference: number[][]): string[] {
  const jobs: string[] = [];
  setJobObserver((r) => jobs.push(r.job));
  try {
    for (const threads of [1, 2, 3]) {
      T.setNumThreads(threads);
      expect(firstDifference(run(), reference)).toBe('');
    }
  } finally {
    setJobObserver(null);
  }
  return jobs;
}

describe('RangeAllocator: first fit, freed stretches merged', () => {
  test('blocks are 64-byte aligned, disjoint, and every byte comes back as one stretch', () => {
    const r = new RangeAllocator(1024, 4096);
    const a = r.allocate(100)!,
      b = r.allocate(64)!,
      c = r.allocate(1)!;
    expect([a, b, c]).toEqual([1024, 1024 + 128, 1024 + 192]);
    expect(r.inUse()).toBe(128 + 64 + 64);
    r.release(b); // a hole between a and c
    expect(r.allocate(65)).toBe(1024 + 256); // too big for the 64-byte hole: after c
    expect(r.allocate(64)).toBe(b); // fits the hole exactly
    for (const at of [a, c, b, 1024 + 256]) r.release(at); // every order of merging: after, before, both
    expect(r.inUse()).toBe(0);
    expect(r.freeStretches()).toEqual([{ at: 1024, bytes: 4096 }]);
  });

  test('a request no stretch can hold gets null; an unknown or freed address throws', () => {
    const r = new RangeAllocator(0, 1024);
    const a = r.allocate(512)!;
    r.allocate(256);
    expect(r.allocate(512)).toBeNull();
    r.release(a);
    expect(() => r.release(a)).toThrow('no block in use at 0');
    expect(() => r.release(8)).toThrow('no block in use at 8');
  });
});

/**
 * A FinalizationRegistry that collects a target when told, as V8's does at some point after the target becomes
 * unreachable (when is up to the collector: a test that waits for it was flaky in CI, so this one tells it).
 */
class CollectOnRequest implements CollectionRegistry {
  readonly registered = new Map<object, number>();
  constructor(private readonly cleanup: (held: number) => void) {}
  register(target: object, held: number, token: object): void {
    expect(token).toBe(target); // the view unregisters itself when given back
    this.registered.set(target, held);
  }
  unregister(token: object): boolean {
    return this.registered.delete(token);
  }
  collect(target: object): void {
    const held = this.registered.get(target);
    if (held === undefined) throw new Error('collect: target not registered');
    this.registered.delete(target);
    this.cleanup(held);
  }
}

describe('tensor arena: views dropped without being given back', () => {
  test('a collected view returns its block; a view given back is no longer registered', () => {
    let registry: CollectOnRequest | undefined;
    const memory = new SharedArrayBuffer(8192);
    const arena = createTensorArena(
      () => memory,
      1024,
      4096,
      (cleanup) => (registry = new CollectOnRequest(cleanup)),
    );
    const dropped = arena.take(100, Float32Array)!;
    const given = arena.take(10, Int32Array)!;
    expect([dropped.byteOffset, given.byteOffset]).toEqual([1024, 1024 + 448]);
    expect([...registry!.registered.values()]).toEqual([1024, 1024 + 448]);
    arena.give(given);
    expect([...registry!.registered.keys()]).toEqual([dropped]);
    expect(arena.inUse()).toBe(448);
    registry!.collect(dropped);
    expect(arena.inUse()).toBe(0);
    expect(arena.take(112, Float32Array)!.byteOffset).toBe(1024); // the collected block is handed out again
  });
});

describe('tensor arena: float32 kernel outputs in the module memory', () => {
  const N = 5003; // over the pool's minimum, not a multiple of 4 or 16 (the jobs' scalar tails)
  /** n values with every special case: ±0, ±Infinity, NaN, denormals, and a spread of both signs. */
  const special = (seed: number, n = N): Float32Array => {
    const v = Float32Array.from(T.randn([n], { generator: new T.Generator(seed) }).dataSync());
    const specials = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3.4e38, -3.4e38];
    for (let i = 0; i < n; i += 97) v[i] = specials[(i / 97) % specials.length]!;
    return v;
  };
  afterEach(() => {
    setTensorArena(true);
    T.setNumThreads(1);
  });

  test('outputs live in the arena; values() and assign move them to ordinary memory, and the blocks come back', () => {
    const before = tensorArenaBytes();
    const x = T.tensor(special(1));
    const y = T.relu(x);
    expect(inTensorArena(arrayOf(y))).toBe(true);
    expect(tensorArenaBytes()).toBeGreaterThanOrEqual(before + 4 * N);
    const handed = y.values();
    expect(Object.prototype.toString.call(handed.buffer)).toBe('[object ArrayBuffer]'); // never the shared module memory
    expect(inTensorArena(arrayOf(y))).toBe(false);
    expect(tensorArenaBytes()).toBe(before);
    expect(Array.from(handed)).toEqual(Array.from(x.dataSync(), (e) => (e > 0 || e !== e ? e : 0)));

    const z = T.neg(x);
    expect(inTensorArena(arrayOf(z))).toBe(true);
    T.assign(z, x);
    expect(inTensorArena(arrayOf(z))).toBe(false);
    expect(Array.from(z.dataSync())).toEqual(Array.from(x.dataSync()));
    for (const t of [x, y, z]) t.dispose();
    expect(tensorArenaBytes()).toBe(before);
  });

  test('a reshape of an arena tensor is a copy, and freeing both frees both blocks', () => {
    const before = tensorArenaBytes();
    const x = T.tensor(special(2));
    const y = T.relu(x);
    const r = T.reshape(y, [N, 1]);
    expect(arrayOf(r)).not.toBe(arrayOf(y));
    expect(Array.from(r.dataSync())).toEqual(Array.from(y.dataSync()));
    for (const t of [x, y, r]) t.dispose();
    expect(tensorArenaBytes()).toBe(before);
  });

  test('relu, its backward, same-shape add and eval batch norm are bitwise the JavaScript loops on 1–3 threads', () => {
    const x = T.tensor(special(3), [1, 5003]);
    const dy = T.tensor(special(4), [1, 5003]);
    const img = T.tensor(special(5).subarray(0, 4 * 1250), [2, 2, 25, 50]);
    const mean = T.tensor([0.5, -1.25]),
      variance = T.tensor([2, 0.01]),
      weight = T.tensor([1.5, -3]),
      bias = T.tensor([0.25, 7]);
    /** Every kernel's output bits, on arena inputs (a relu of relu keeps x's sign pattern in the arena). */
    const run = (): number[][] =>
      T.tidy(() => {
        const xa = T.add(x, T.zerosLike(x)); // arena copies of the inputs when the arena is on
        const da = T.add(dy, T.zerosLike(dy));
        const ia = T.add(img, T.zerosLike(img));
        const outs = [
          T.relu(xa),
          T.reluBackward(da, xa),
          T.add(xa, da),
          T.batchNorm(ia, mean, variance, weight, bias, { eps: 1e-5 }),
          T.batchNorm(ia, mean, variance, null, null, { eps: 1e-3 }),
        ];
        return outs.map((o) => Array.from(new Uint32Array(o.dataSync().buffer)));
      });
    setTensorArena(false);
    const reference = run();
    setTensorArena(true);
    for (const threads of [1, 2, 3]) {
      T.setNumThreads(threads);
      expect(firstDifference(run(), reference)).toBe('');
    }
    for (const t of [x, dy, img, mean, variance, weight, bias]) t.dispose();
  });

  test('GELU and its backward (erf and exp in the module) are the JavaScript values on 1–3 threads', () => {
    // A dense sweep over every branch of erf (|x/√2| below 0.5, the Taylor centres, past 6) and of exp (down to
    // subnormal and zero results of exp(−x²/2)), the specials, and points on the branch boundaries.
    const sweep = Float32Array.from({ length: 160_001 }, (_, i) => -40 + i / 2000);
    const edges = [0.5, 1, 5.75, 6, 37.5, 37.7, 38.6].flatMap((e) => [
      e * Math.SQRT2,
      -e * Math.SQRT2,
      Math.fround(e * Math.SQRT2) * (1 + 2 ** -23),
    ]);
    const data = new Float32Array([...special(17), ...sweep, ...edges]);
    const x = T.tensor(data);
    const dy = T.tensor(special(18, data.length));
    const run = (): number[][] =>
      T.tidy(() => {
        const xa = T.add(x, T.zerosLike(x)); // arena copies when the arena is on
        const da = T.add(dy, T.zerosLike(dy));
        const { output, tape } = T.record(() => T.gelu(xa));
        const [g] = tape.grad(output, [xa], { gradOutputs: [da] }); // the fused geluBackward kernel
        tape.dispose();
        return [output, g!].map((o) => Array.from(o.dataSync()));
      });
    setTensorArena(false);
    const reference = run();
    setTensorArena(true);
    const jobs = sameOnEveryThreadCount(run, reference);
    expect(jobs.filter((j) => j === 'Gelu')).toHaveLength(6); // forward and backward, on each thread count
    x.dispose();
    dy.dispose();
  });

  test('softmax and its backward (Math.max and exp in the module) are the JavaScript values on 1–3 threads', () => {
    const size = 613;
    const data = special(19, 4 * 7 * size).map((v) => v * 30); // exp(x − max) down to subnormals and zeros
    const row = (r: number, values: number[]): void =>
      data.set(
        Array.from({ length: size }, (_, k) => values[k % values.length]!),
        r * size,
      );
    row(0, [-Infinity]); // −∞ − (−∞): NaN everywhere
    row(1, [1, NaN, 2]); // a NaN maximum
    row(2, [-0, 0, -0]); // Math.max takes +0 over −0
    row(3, [Infinity, 5]);
    row(4, [-1e-40, 3e38, -3e38]);
    const x = T.tensor(data, [4, 7, size]);
    const dy = T.tensor(special(20, data.length), [4, 7, size]);
    const run = (): number[][] =>
      T.tidy(() => {
        const xa = T.add(x, T.zerosLike(x)); // arena copies when the arena is on
        const da = T.add(dy, T.zerosLike(dy));
        // Rows of consecutive values (inner 1), rows 613 apart (inner 613), one outer block, rows of one value.
        return [-1, 1, 0, 3].flatMap((dim) => {
          const xd = dim === 3 ? T.reshape(xa, [4, 7, size, 1]) : xa;
          const dd = dim === 3 ? T.reshape(da, [4, 7, size, 1]) : da;
          const { output, tape } = T.record(() => T.softmax(xd, dim));
          const [g] = tape.grad(output, [xd], { gradOutputs: [dd] }); // the fused softmaxBackward kernel
          tape.dispose();
          return [output, g!].map((o) => Array.from(o.dataSync()));
        });
      });
    setTensorArena(false);
    const reference = run();
    setTensorArena(true);
    const jobs = sameOnEveryThreadCount(run, reference);
    // forward and backward for each of the 4 dims, on each thread count
    expect([jobs.filter((j) => j === 'Softmax').length, jobs.filter((j) => j === 'SoftmaxBackward').length]).toEqual([12, 12]);
    expect(reference[0]!.slice(0, 3)).toEqual([NaN, NaN, NaN]);
    expect(reference[0]!.slice(2 * size, 2 * size + 3).every((v) => v === Math.fround(1 / size))).toBe(true);
    x.dispose();
    dy.dispose();
  });

  test('layer norm and its backward (float64 sums in the module) give the JavaScript values on 1–3 threads', () => {
    const cols = 769; // odd: the alternating sums' last value
    // Finite rows (one NaN or ∞ makes a whole row NaN), with ±0, subnormals and ±3.4e38; row 0 constant (zero
    // variance), row 1 with the non-finite specials.
    const data = special(21, 48 * cols).map((v, i) => (Number.isFinite(v) || (i >= cols && i < 2 * cols) ? v : 0.5));
    data.fill(2.5, 0, cols);
    const x = T.tensor(data, [48, cols]);
    // For the backward's column sums, finite rows only (one NaN row makes every column's sum NaN).
    const xFinite = T.tensor(
      data.map((v) => (Number.isFinite(v) ? v : 0.5)),
      [48, cols],
    );
    const weight = T.tensor(special(22, cols).map((v) => (Number.isFinite(v) ? v : 1)));
    const bias = T.tensor(special(23, cols).map((v) => (Number.isFinite(v) ? v : 0)));
    const dy = T.tensor(
      special(24, 48 * cols).map((v) => (Number.isFinite(v) ? v : -0.25)),
      [48, cols],
    );
    const run = (): number[][] =>
      T.tidy(() => {
        // arena copies when the arena is on
        const [xa, xf, da] = [x, xFinite, dy].map((t) => T.add(t, T.zerosLike(t))) as [T.Tensor, T.Tensor, T.Tensor];
        const forward = [
          T.layerNorm(xa, cols, weight, bias),
          T.layerNorm(xa, cols, weight, null),
          T.layerNorm(xa, cols, null, bias, { eps: 0.25 }),
          T.layerNorm(T.reshape(xa, [8, 6, cols]), [6, cols]), // rows over two dims
        ];
        // The fused backward op itself: dx, and the weight's gradient Σ dy·x̂ (the column sums) as its extra.
        const backward = [
          runOpFull('layerNormBackward', [da, xf, weight], { dims: 1, eps: 1e-5 }),
          runOpFull('layerNormBackward', [da, xf], { dims: 1, eps: 0.25 }),
          runOpFull('layerNormBackward', [T.reshape(da, [8, 6, cols]), T.reshape(xf, [8, 6, cols])], { dims: 2, eps: 1e-5 }),
          runOpFull('layerNormBackward', [da, xa, weight], { dims: 1, eps: 1e-5 }), // NaN everywhere a NaN row reaches
        ].flatMap((r) => [r.out, ...(r.extras ?? [])]);
        return [...forward, ...backward].map((o) => Array.from(o.dataSync()));
      });
    setTensorArena(false);
    const reference = run();
    setTensorArena(true);
    const jobs = sameOnEveryThreadCount(run, reference);
    // four calls forward and four backward on each thread count
    expect(['LayerNorm', 'LayerNormBackward', 'LayerNormColumnSums'].map((n) => jobs.filter((j) => j === n).length)).toEqual([12, 12, 12]);
    for (const t of [x, xFinite, dy, weight, bias]) t.dispose();
  });

  test('a recorded conv net pass gives the same gradient with and without the arena, and leaves no block behind', () => {
    const before = tensorArenaBytes();
    const x = T.randn([2, 3, 20, 20], { generator: new T.Generator(6) });
    const w1 = T.randn([8, 3, 3, 3], { generator: new T.Generator(7) });
    const w2 = T.randn([8, 8, 1, 1], { generator: new T.Generator(8) });
    const pass = (): number[] =>
      T.tidy(() => {
        const { output, tape } = T.record(() => {
          const h = T.relu(T.conv2d(x, w1, null, { padding: 1 }));
          return T.add(h, T.conv2d(h, w2, null)); // a residual add
        });
        const [g] = tape.grad(output, [x], { gradOutputs: [T.onesLike(output)] });
        const out = Array.from(g!.dataSync());
        tape.dispose();
        return out;
      });
    setTensorArena(false);
    const reference = pass();
    setTensorArena(true);
    T.setNumThreads(2);
    expect(firstDifference([pass()], [reference])).toBe('');
    expect(tensorArenaBytes()).toBe(before);
    for (const t of [x, w1, w2]) t.dispose();
  });

  test('convolutions read and write arena tensors where they lie: the same bits as staged copies', () => {
    // Winograd of both tile sizes, one image a group (so every group's offset is used), 1×1 convolutions
    // (no padding: packed from where x lies), strided and grouped ones, forward and backward to the input.
    const x = T.randn([3, 64, 40, 40], { generator: new T.Generator(10) }); // wide enough for Winograd of both sizes
    const w3 = T.randn([64, 64, 3, 3], { generator: new T.Generator(11) });
    const w1 = T.randn([24, 64, 1, 1], { generator: new T.Generator(12) });
    const wg = T.randn([24, 12, 1, 1], { generator: new T.Generator(13) });
    const ws = T.randn([8, 24, 3, 3], { generator: new T.Generator(14) });
    const pass = (): number[][] =>
      T.tidy(() => {
        const { output, tape } = T.record(() => {
          const a = T.relu(T.mul(x, 1)); // an arena copy of x
          const b = T.relu(T.conv2d(a, w3, null, { padding: 1 }));
          const c = T.conv2d(b, w1, null);
          const d = T.conv2d(c, wg, null, { stride: 2, groups: 2 });
          const e = T.conv2d(d, ws, null, { stride: 2 }); // im2col: its backward scatters 9 taps a channel
          const f = T.conv2d(d, ws, null, { stride: 2, padding: 1 });
          return T.add(T.add(T.sum(c), T.sum(d)), T.add(T.sum(e), T.sum(f)));
        });
        const [g] = tape.grad(output, [x], { gradOutputs: [T.mul(T.onesLike(output), 1)] });
        const out = [Array.from(output.dataSync()), Array.from(g!.dataSync())];
        tape.dispose();
        return out;
      });
    const groupWas = setWinogradGroupFloats(2 * 64 * 40 * 40);
    const jobs = new Set<string>();
    try {
      for (const tile of [2, 4] as const) {
        setWinogradTile(tile);
        setTensorArena(false);
        const reference = pass();
        setTensorArena(true);
        setJobObserver((r) => jobs.add(r.job));
        for (const threads of [1, 2, 3]) {
          T.setNumThreads(threads);
          expect(firstDifference(pass(), reference)).toBe('');
        }
        setJobObserver(null);
      }
    } finally {
      setJobObserver(null);
      setWinogradTile(null);
      setWinogradGroupFloats(groupWas);
    }
    expect(jobs.has('PadPlanes')).toBe(true); // f's padded input and its gradient's interior moved by the module
    for (const t of [x, w3, w1, wg, ws]) t.dispose();
  });

  test('max pooling and its backward are the JavaScript loops on 1–3 threads, NaN and ties included', () => {
    const data = special(15, 2 * 3 * 64 * 64); // outputs over the arena's minimum size (4096)
    for (let i = 5; i < data.length; i += 41) data[i] = data[i - 1]!; // ties in some windows
    const x = T.tensor(data, [2, 3, 64, 64]);
    type Pair = number | [number, number];
    const geometries: { kernelSize: Pair; stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean }[] = [
      { kernelSize: 2 }, // VGG's plain 2×2
      { kernelSize: 3, stride: 2, padding: 1 }, // ResNet's stem
      { kernelSize: [3, 2], stride: [2, 3], ceilMode: true },
      { kernelSize: 3, stride: 1, padding: 1, dilation: 2 },
    ];
    const run = (): number[][] =>
      T.tidy(() =>
        geometries.flatMap((o) => {
          const xa = T.relu(T.neg(T.neg(x))); // in the arena (when on), with x's NaN kept and negatives zeroed
          const { output, tape } = T.record(() => T.maxPool2d(xa, o));
          const { output: values, indices } = T.maxPool2d(xa, { ...o, returnIndices: true });
          expect(inTensorArena(arrayOf(indices))).toBe(arenaOn); // the indices are int32 arena views too
          const [g] = tape.grad(output, [xa], { gradOutputs: [T.mul(T.onesLike(output), 3)] });
          tape.dispose();
          return [values, indices, g!].map((t) => Array.from(t.dataSync()));
        }),
      );
    setTensorArena(false);
    let arenaOn = false;
    const reference = run();
    arenaOn = true;
    setTensorArena(true);
    const jobs = new Set(sameOnEveryThreadCount(run, reference));
    expect([...jobs].filter((j) => j.startsWith('MaxPool')).sort()).toEqual(['MaxPool2x2', 'MaxPoolWindows']);
    x.dispose();
  });

  test('outputs that must start at zero get zeros from a reused block', () => {
    const x = T.randn([1, 4, 64, 64], { generator: new T.Generator(9) });
    const once = (): number[] =>
      T.tidy(() => {
        const { output, tape } = T.record(() => T.maxPool2d(T.relu(x), { kernelSize: 2 }));
        const [g] = tape.grad(output, [x], { gradOutputs: [T.onesLike(output)] });
        const out = Array.from(g!.dataSync());
        tape.dispose();
        return out;
      });
    const fresh = once();
    T.tidy(() => T.mul(T.full([1, 4, 64, 64], 7), 3)); // garbage of the gradient's size freed in the arena
    expect(firstDifference([once()], [fresh])).toBe('');
    x.dispose();
  });
});

describe('job observer (benchmarks/op-profile.js --jobs)', () => {
  afterEach(() => {
    setJobObserver(null);
    T.setNumThreads(1);
  });

  test('hears every job by name, split across the threads or run whole, and nothing once removed', () => {
    const heard: JobRecord[] = [];
    setJobObserver((r) => heard.push(r));
    const x = T.randn([1, 64, 32, 32], { generator: new T.Generator(20) });
    const small = T.relu(T.mul(x, 1)); // 65536 values in the arena: one Relu job, whole on one thread
    T.setNumThreads(2);
    const big = T.relu(T.mul(T.randn([4, 64, 64, 64], { generator: new T.Generator(21) }), 1)); // split on 2 threads
    const relus = heard.filter((r) => r.job === 'Relu');
    expect(relus.map((r) => [r.items, r.split])).toEqual([
      [4096, false],
      [65536, true],
    ]);
    expect(relus.every((r) => r.ms >= 0 && r.work === 4 * 16 * r.items)).toBe(true);
    setJobObserver(null);
    const before = heard.length;
    T.relu(small).dispose();
    expect(heard.length).toBe(before);
    for (const t of [x, small, big]) t.dispose();
  });
});
