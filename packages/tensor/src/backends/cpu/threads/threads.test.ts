import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from '../kernels/conv2d';
import { matmul, setFloat32Engine } from '../kernels/gemm';
import { createWasmFloat32Engine, setGemmTileSplit } from '../kernels/wasm-gemm';
import { chooseTile, setWinogradTile, useWinograd } from '../kernels/winograd';
import { randomFloats, refConv2dForward, seededRandom } from '../kernels/reference';
import { expectClose } from '../kernels/test_util';
import type { Conv2dGeometry } from '../kernels/types';
import { setDefaultThreadHost, setThreadHost, threadHost, type ThreadHost } from './host';
import { nodeThreadHost } from './node-host';
import { webThreadHost, webThreadsUnavailableReason } from './web-host';
import { setSpinReads } from './job-pool';
import { getNumThreads, parseThreadCount, setNumThreads } from './settings';
import { getBackendInfo } from '../../registry';

setDefaultThreadHost(nodeThreadHost);
const nodeHost = threadHost();
if (nodeHost === null) throw new Error('these tests need worker_threads');

/** A host that counts the threads it starts (and can break them), around Node's. */
function countingHost(breakModule = false): ThreadHost & { started: number } {
  const h = {
    started: 0,
    cores: () => nodeHost!.cores(),
    start(source: string, data: Record<string, unknown>) {
      h.started++;
      return nodeHost!.start(source, breakModule ? { ...data, module: null } : data);
    },
  };
  return h;
}

/** A geometry whose three GEMMs are each big enough to be split across threads. */
const G: Conv2dGeometry = {
  batch: 2,
  inChannels: 32,
  inHeight: 20,
  inWidth: 20,
  outChannels: 40,
  kernelHeight: 3,
  kernelWidth: 3,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
  outHeight: 20,
  outWidth: 20,
};

/**
 * A geometry that takes Winograd (its filter, input, GEMM and output jobs split across threads; the filter's
 * big enough to be started on the workers while the caller stages the input).
 */
const WINO: Conv2dGeometry = { ...G, batch: 1, inChannels: 128, outChannels: 128, inHeight: 16, inWidth: 16, outHeight: 16, outWidth: 16 };

/** A depthwise convolution whose three jobs are each split across threads (stride 2: the module's strided loads). */
const DEPTHWISE: Conv2dGeometry = {
  ...G,
  batch: 2,
  inChannels: 64,
  outChannels: 64,
  groups: 64,
  inHeight: 33,
  inWidth: 31,
  strideH: 2,
  strideW: 2,
  outHeight: 17,
  outWidth: 16,
};

/** A 7×7 image: its GEMMs have 7 B panels, fewer than the parts the pool wants, so they are split by tiles. */
const SEVEN: Conv2dGeometry = { ...G, batch: 1, inChannels: 32, outChannels: 96, inHeight: 7, inWidth: 7, outHeight: 7, outWidth: 7 };

/** Forward, backward-input and backward-weight of G and DEPTHWISE, Winograd's forward and backward-input, and a matmul, on the current thread count. */
function runAll(seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  const x = randomFloats(Float32Array, 2 * 32 * 400, rand);
  const w = randomFloats(Float32Array, 40 * 32 * 9, rand);
  const b = randomFloats(Float32Array, 40, rand);
  const dy = randomFloats(Float32Array, 2 * 40 * 400, rand);
  const out = new Float32Array(dy.length);
  conv2dForward(x, w, b, G, out);
  const dx = new Float32Array(x.length);
  conv2dBackwardInput(dy, w, G, dx);
  const dw = new Float32Array(w.length);
  conv2dBackwardWeight(x, dy, G, dw);
  const m = 150,
    n = 700,
    k = 300;
  const a = randomFloats(Float32Array, m * k, rand),
    bb = randomFloats(Float32Array, k * n, rand);
  const mm = new Float32Array(m * n);
  matmul(a, bb, mm, { batch: 1, m, n, k, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0 });
  const wx = randomFloats(Float32Array, 128 * 16 * 16, rand);
  const ww = randomFloats(Float32Array, 128 * 128 * 9, rand);
  const wb = randomFloats(Float32Array, 128, rand);
  const wOut = new Float32Array(wx.length),
    wDx = new Float32Array(wx.length);
  expect(useWinograd(WINO, wOut)).toBe(true);
  conv2dForward(wx, ww, wb, WINO, wOut);
  conv2dBackwardInput(wx, ww, WINO, wDx);
  // both Winograd sizes, whichever the layer would choose
  const prevTile = setWinogradTile(chooseTile(WINO) === 4 ? 2 : 4);
  const w2Out = new Float32Array(wx.length),
    w2Dx = new Float32Array(wx.length);
  conv2dForward(wx, ww, wb, WINO, w2Out);
  conv2dBackwardInput(wx, ww, WINO, w2Dx);
  setWinogradTile(prevTile);
  const D = DEPTHWISE;
  const dwx = randomFloats(Float32Array, D.batch * 64 * 33 * 31, rand),
    dww = randomFloats(Float32Array, 64 * 9, rand),
    dwy = randomFloats(Float32Array, D.batch * 64 * 17 * 16, rand);
  const dwOut = new Float32Array(dwy.length),
    dwDx = new Float32Array(dwx.length),
    dwDw = new Float32Array(dww.length);
  conv2dForward(dwx, dww, null, D, dwOut);
  conv2dBackwardInput(dwy, dww, D, dwDx);
  conv2dBackwardWeight(dwx, dwy, D, dwDw);
  const sx = randomFloats(Float32Array, 32 * 49, rand),
    sw = randomFloats(Float32Array, 96 * 32 * 9, rand),
    sdy = randomFloats(Float32Array, 96 * 49, rand);
  const sOut = new Float32Array(sdy.length),
    sDx = new Float32Array(sx.length);
  conv2dForward(sx, sw, null, SEVEN, sOut);
  conv2dBackwardInput(sdy, sw, SEVEN, sDx);
  return [out, dx, dw, mm, wOut, wDx, w2Out, w2Dx, dwOut, dwDx, dwDw, sOut, sDx];
}

describe('intra-op threads (wasm GEMM on shared memory)', () => {
  let prevEngine: ReturnType<typeof setFloat32Engine>;
  beforeAll(() => {
    prevEngine = setFloat32Engine(createWasmFloat32Engine());
  });
  afterAll(() => {
    setFloat32Engine(prevEngine);
    setThreadHost(nodeHost);
  });

  test('2 and 3 threads give bitwise the results of 1 thread, and the workers really start', () => {
    const host = countingHost();
    setThreadHost(host);
    setFloat32Engine(createWasmFloat32Engine());
    setNumThreads(1);
    const one = runAll(7);
    expect(host.started).toBe(0);
    for (const n of [2, 3]) {
      setNumThreads(n);
      const many = runAll(7);
      many.forEach((arr, i) => expect(Buffer.from(arr.buffer).equals(Buffer.from(one[i]!.buffer))).toBe(true));
    }
    expect(host.started).toBe(1 + 2); // 1 worker for 2 threads, then 2 for 3
    expect(getBackendInfo().threads).toBe('3');
    // And the threaded forward is right, not only self-consistent.
    const rand = seededRandom(7);
    const x = randomFloats(Float32Array, 2 * 32 * 400, rand),
      w = randomFloats(Float32Array, 40 * 32 * 9, rand),
      b = randomFloats(Float32Array, 40, rand);
    expectClose(runAll(7)[0]!, refConv2dForward(x, w, b, G), 1e-4, 'threaded forward');
  });

  test('threads that sleep at once between jobs and threads that spin first give bitwise the same results', () => {
    setNumThreads(2);
    const spinning = runAll(11);
    const prev = setSpinReads(0); // reaches the running pool's workers through the shared spin cell
    try {
      const sleeping = runAll(11);
      sleeping.forEach((arr, i) => expect(Buffer.from(arr.buffer).equals(Buffer.from(spinning[i]!.buffer))).toBe(true));
    } finally {
      setSpinReads(prev);
    }
    expect(prev).toBeGreaterThan(0); // spinning is the default
  });

  test('GEMMs of 7×7 images split by tiles give bitwise the results of the split by B panels', () => {
    setNumThreads(2);
    const tiles = runAll(9);
    const prev = setGemmTileSplit(false);
    try {
      const panels = runAll(9);
      panels.forEach((arr, i) => expect(Buffer.from(arr.buffer).equals(Buffer.from(tiles[i]!.buffer))).toBe(true));
    } finally {
      setGemmTileSplit(prev);
    }
  });

  test('a worker that cannot start is a one-line error, not a hang', () => {
    setThreadHost(countingHost(true));
    setFloat32Engine(createWasmFloat32Engine());
    setNumThreads(2);
    // The caller may finish a small GEMM before the broken worker wakes; within a few it claims a chunk.
    expect(() => {
      for (let i = 0; i < 50; i++) runAll(i);
    }).toThrow(/kernel worker thread failed/);
    setThreadHost(nodeHost);
    setFloat32Engine(createWasmFloat32Engine());
  });

  test('thread counts are checked', () => {
    expect(() => setNumThreads(0)).toThrow('setNumThreads: expected an integer from 1 to 256, got 0');
    expect(() => setNumThreads(1.5)).toThrow(/got 1.5/);
    expect(parseThreadCount('4')).toBe(4);
    expect(() => parseThreadCount('four')).toThrow("GRADLENS_THREADS must be an integer from 1 to 256, got 'four'");
    setNumThreads(2);
    expect(getNumThreads()).toBe(2);
  });
});

describe('thread hosts outside Node', () => {
  /** A fake Web Worker global scope that records what the host does. */
  function webGlobals(extra: Record<string, unknown>) {
    const made: { url: string; posted: unknown[]; terminated: boolean }[] = [];
    class FakeWorker {
      readonly rec: { url: string; posted: unknown[]; terminated: boolean };
      constructor(url: string) {
        this.rec = { url, posted: [], terminated: false };
        made.push(this.rec);
      }
      postMessage(d: unknown) {
        this.rec.posted.push(d);
      }
      terminate() {
        this.rec.terminated = true;
      }
    }
    const revoked: string[] = [];
    const g = {
      Worker: FakeWorker,
      Blob: class {
        constructor(readonly parts: string[]) {}
      },
      URL: { createObjectURL: () => `blob:${made.length}`, revokeObjectURL: (u: string) => void revoked.push(u) },
      navigator: { hardwareConcurrency: 6 },
      SharedArrayBuffer,
      crossOriginIsolated: true,
      ...extra,
    };
    return { g, made, revoked };
  }

  test('Web Workers: none without shared memory, on a page main thread or without Worker, each with its reason', () => {
    expect(webThreadsUnavailableReason(webGlobals({ crossOriginIsolated: false }).g)).toMatch(
      /not cross-origin isolated.*Cross-Origin-Embedder-Policy: require-corp/,
    );
    expect(webThreadsUnavailableReason(webGlobals({ SharedArrayBuffer: undefined }).g)).toMatch(/no SharedArrayBuffer/);
    expect(webThreadsUnavailableReason(webGlobals({ document: {} }).g)).toMatch(/main thread may not block on Atomics.wait/);
    expect(webThreadsUnavailableReason(webGlobals({ Worker: undefined }).g)).toBe('this runtime has no Web Workers');
    expect(webThreadHost(webGlobals({ document: {} }).g)).toEqual({ unavailable: expect.stringMatching(/Web Worker/) });
    // Node itself has no global Worker: the browser entry's default gives no host, with the reason.
    expect(webThreadsUnavailableReason()).toBe('this runtime has no Web Workers');
  });

  test('Web Workers: a worker per thread, started from the source, handed the data, revoked on terminate', () => {
    const { g, made, revoked } = webGlobals({});
    const host = webThreadHost(g);
    if ('unavailable' in host) throw new Error(host.unavailable);
    expect(host.cores()).toBe(6);
    const data = { rank: 1 };
    const h = host.start('function start(d) {}', data);
    expect(made).toHaveLength(1);
    expect(made[0]!.posted).toEqual([data]);
    h.terminate();
    expect(made[0]!.terminated).toBe(true);
    expect(revoked).toEqual([made[0]!.url]);
  });

  test('without SharedArrayBuffer the wasm engine runs on unshared memory, on one thread, bitwise as before, and says why', () => {
    const prevEngine = setFloat32Engine(createWasmFloat32Engine());
    setThreadHost(nodeHost);
    setNumThreads(1);
    const shared = runAll(11);
    const g = globalThis as { SharedArrayBuffer?: unknown };
    const saved = g.SharedArrayBuffer;
    g.SharedArrayBuffer = undefined;
    try {
      setFloat32Engine(createWasmFloat32Engine());
      setNumThreads(3);
      const single = runAll(11);
      single.forEach((arr, i) => expect(Buffer.from(arr.buffer).equals(Buffer.from(shared[i]!.buffer))).toBe(true));
      const info = getBackendInfo();
      expect(info.float32Gemm).toMatch(/wasm-simd/);
      expect(info.threads).toBe('1');
      expect(info.threadsFallback).toMatch(/no SharedArrayBuffer/);
    } finally {
      g.SharedArrayBuffer = saved;
      setFloat32Engine(prevEngine);
    }
  });
});
