/** The gpujs backend's contract: registration, mode reporting, device residency, and no leaks. */
import { GPU } from 'gpu.js';
import {
  conv2d,
  Generator,
  getBackendInfo,
  linear,
  maxPool2d,
  numTensors,
  randn,
  record,
  relu,
  reluBackward,
  reshape,
  setBackend,
  tensor,
  tidy,
} from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { GpujsStorage, gpujsBackend, gpujsKernels, liveDeviceBuffers, MAX_DEVICE_ELEMENTS, resolveMode } from '../src';

afterEach(() => setBackend('cpu'));

describe('gpujs backend', () => {
  test('is selectable by name and reports the mode gpu.js runs', () => {
    setBackend('gpujs', { mode: 'webasm' });
    expect(getBackendInfo()).toMatchObject({ backend: 'gpujs', mode: 'webasm', requested: 'webasm', precision: 'float32' });
  });

  test('surfaces the reason when the requested mode is unavailable', () => {
    if (GPU.isHeadlessGLSupported) return;
    const r = resolveMode('headlessgl');
    expect(r.mode).toBe('webasm');
    expect(r.reason).toMatch(/gl/);
    setBackend('gpujs', { mode: 'headlessgl' });
    expect(getBackendInfo().fallback).toMatch(/headless-gl|gl/);
  });

  test('rejects an unknown mode with the list of modes', () => {
    expect(() => setBackend('gpujs', { mode: 'cuda' })).toThrow(/unknown mode 'cuda'.*webasm/);
  });

  test('keeps intermediates on the device and reads back only what the user reads', () => {
    setBackend('gpujs', { mode: 'webasm' });
    const read = jest.spyOn(GpujsStorage.prototype, 'read');
    tidy(() => {
      const x = randn([1, 3, 9, 9]);
      const w = randn([4, 3, 3, 3]);
      const y = maxPool2d(relu(conv2d(x, w, null, { padding: 1 })), { kernelSize: 2 });
      expect(read).not.toHaveBeenCalled();
      expect(y.deviceStorage()).toBeInstanceOf(GpujsStorage);
      y.dataSync();
      expect(read).toHaveBeenCalledTimes(1);
    });
    read.mockRestore();
  });

  test('frees device buffers on dispose, tidy and tape disposal (no leaks)', () => {
    setBackend('gpujs', { mode: 'webasm' });
    const buffers = liveDeviceBuffers();
    const tensors = numTensors();
    const x = randn([2, 3, 8, 8]);
    const y = relu(x);
    expect(liveDeviceBuffers()).toBe(buffers + 1);
    y.dispose();
    expect(liveDeviceBuffers()).toBe(buffers);
    tidy(() => {
      const w = randn([4, 3, 3, 3]);
      const { output, tape } = record(() => maxPool2d(relu(conv2d(x, w, null, { padding: 1 })), { kernelSize: 2 }));
      const [dx, dw] = tape.grad(output, [x, w], { gradOutputs: [randn([...output.shape])] });
      expect(dx!.deviceStorage()).toBeInstanceOf(GpujsStorage);
      expect(dw!.deviceStorage()).toBeInstanceOf(GpujsStorage);
      tape.dispose();
    });
    x.dispose();
    expect(liveDeviceBuffers()).toBe(buffers);
    expect(numTensors()).toBe(tensors);
  });

  test('a kernel is a plain function that gpu.js runs in cpu mode', () => {
    const gpu = new GPU({ mode: 'cpu' });
    const k = gpu.createKernel(gpujsKernels.relu.toString(), { output: [4] });
    expect(Array.from(k(new Float32Array([-1, 2, -3, 4])) as Float32Array)).toEqual([0, 2, 0, 4]);
    const b = gpu.createKernel(gpujsKernels.reluBackward.toString(), { output: [6] });
    const dy = new Float32Array([5, 6, NaN, NaN, 7, 8]);
    expect(Array.from(b(dy, new Float32Array([1, -1, 2, -2, NaN, 0])) as Float32Array)).toEqual([5, 0, NaN, 0, 0, 0]);
    void gpu.destroy();
  });

  test.each(['cpu', 'webasm'])('reluBackward in %s mode equals the CPU backend, NaN, ±Infinity and ±0 included', (mode) => {
    const specials = [NaN, -NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 2.5, -2.5, 3.4028234e38, -3.4028234e38];
    const g = new Generator(5);
    const dyv: number[] = [],
      xv: number[] = [];
    for (const d of specials)
      for (const x of specials) {
        dyv.push(d);
        xv.push(x);
      }
    for (let i = 0; i < 301; i++) {
      dyv.push(g.normal());
      xv.push(g.normal());
    }
    const run = (): number[] =>
      tidy(() => {
        const out = reluBackward(tensor(dyv, undefined, 'float32'), tensor(xv, undefined, 'float32'));
        if (getBackendInfo().backend === 'gpujs') expect(out.deviceStorage()).toBeInstanceOf(GpujsStorage);
        return Array.from(out.dataSync());
      });
    const want = run();
    setBackend('gpujs', { mode });
    const before = numTensors();
    const got = run();
    expect(numTensors()).toBe(before);
    got.forEach((v, i) => {
      if (!(Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i])))) {
        throw new Error(`reluBackward(${dyv[i]}, ${xv[i]}) gave ${v} on gpujs:${mode}, ${want[i]} on the CPU (index ${i})`);
      }
    });
  });

  test('reluBackward of float64 or empty tensors runs on the CPU backend', () => {
    setBackend('gpujs', { mode: 'cpu' });
    tidy(() => {
      const d = reluBackward(tensor([1, 2], undefined, 'float64'), tensor([-1, 1], undefined, 'float64'));
      expect(d.deviceStorage()).not.toBeInstanceOf(GpujsStorage);
      expect(Array.from(d.values())).toEqual([0, 2]);
      const e = reluBackward(tensor(new Float32Array(0), [0, 3], 'float32'), tensor(new Float32Array(0), [0, 3], 'float32'));
      expect(e.shape).toEqual([0, 3]);
    });
    // The registry ran them on the CPU, and says why.
    expect(getBackendInfo().cpuFallbacks).toMatch(/reluBackward: float64 input \(gpujs kernels are float32\) \(2 calls\)/);
  });
});

/** A seeded tensor, so that a run on gpujs and one on the CPU see the same values. */
function seeded(shape: number[], seed: number): Tensor {
  const g = new Generator(seed);
  return tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal()),
    shape,
    'float32',
  );
}

describe('gpujs backend: limits', () => {
  test('an op with a tensor over 2^24 elements runs on the CPU backend and says so', () => {
    setBackend('gpujs', { mode: 'webasm' });
    const n = MAX_DEVICE_ELEMENTS + 5;
    const x = tensor(
      Float32Array.from({ length: n }, (_, i) => (i % 7) - 3),
      [n],
      'float32',
    );
    const y = relu(x);
    expect(y.deviceStorage()).not.toBeInstanceOf(GpujsStorage);
    const v = y.dataSync();
    expect([v[n - 1], v[n - 4]]).toEqual([Math.max(((n - 1) % 7) - 3, 0), Math.max(((n - 4) % 7) - 3, 0)]);
    expect(getBackendInfo().cpuFallbacks).toMatch(
      /relu: a tensor of 16777221 elements is over 2\^24, beyond gpu.js's exact float32 indexing \(1 call\)/,
    );
    x.dispose();
    y.dispose();
  });

  test('an op whose output would be over 2^24 elements runs on the CPU backend', () => {
    setBackend('gpujs', { mode: 'webasm' });
    tidy(() => {
      const y = conv2d(randn([1, 1, 1449, 1449]), randn([8, 1, 1, 1]), null, {});
      expect(y.size).toBeGreaterThan(MAX_DEVICE_ELEMENTS);
      expect(y.deviceStorage()).not.toBeInstanceOf(GpujsStorage);
      expect(getBackendInfo().cpuFallbacks).toMatch(/conv2d: a tensor of \d+ elements is over 2\^24/);
    });
  });
});

/** The part of a WebGL context the texture count watches. */
interface GLTextures {
  createTexture(): unknown;
  deleteTexture(t: unknown): void;
}

// headless-gl: runs when the optional `gl` package is built and makes a context (under xvfb-run on Linux).
const glTest = GPU.isHeadlessGLSupported ? test : test.skip;

describe('gpujs backend in headlessgl mode', () => {
  glTest('runs every kernel as a GL kernel, keeps results in textures and reports no fallback', () => {
    setBackend('gpujs', { mode: 'headlessgl' });
    tidy(() => {
      const x = randn([2, 6, 9, 7]);
      const w = randn([8, 3, 3, 3]);
      const { output, tape } = record(() => relu(maxPool2d(relu(conv2d(x, w, null, { padding: 1, groups: 2 })), { kernelSize: 2 })));
      const [dx, dw] = tape.grad(output, [x, w], { gradOutputs: [randn([...output.shape])] });
      for (const t of [output, dx!, dw!]) {
        const s = t.deviceStorage() as GpujsStorage;
        expect(s).toBeInstanceOf(GpujsStorage);
        expect(s.value).not.toBeInstanceOf(Float32Array); // a GL texture
      }
      tape.dispose();
    });
    const info = getBackendInfo();
    expect(info).toMatchObject({ backend: 'gpujs', mode: 'headlessgl', requested: 'headlessgl' });
    expect(info.fallback).toBeUndefined();
    expect(info.kernelFallbacks).toBeUndefined();
  });

  glTest('frees its GL textures: a repeated forward/backward step leaves the texture count unchanged', () => {
    setBackend('gpujs', { mode: 'headlessgl' });
    const x = randn([2, 6, 9, 7]);
    const w = randn([8, 3, 3, 3]);
    const wl = randn([5, 96]);
    const step = (): void =>
      tidy(() => {
        const { output, tape } = record(() =>
          linear(reshape(maxPool2d(relu(conv2d(x, w, null, { padding: 1, groups: 2 })), { kernelSize: 2 }), [2, 96]), wl),
        );
        tape.grad(output, [x, w], { gradOutputs: [randn([...output.shape])] }).forEach((g) => g.dataSync());
        tape.dispose();
      });
    step(); // compiles the kernels (each keeps its own output texture)
    const gl = (gpujsBackend('headlessgl') as unknown as { launcher: { gpu: { context: GLTextures } } }).launcher.gpu.context;
    let textures = 0;
    const create = gl.createTexture.bind(gl);
    const remove = gl.deleteTexture.bind(gl);
    gl.createTexture = () => {
      textures++;
      return create();
    };
    gl.deleteTexture = (t) => {
      textures--;
      remove(t);
    };
    const buffers = liveDeviceBuffers();
    try {
      for (let i = 0; i < 3; i++) step();
    } finally {
      gl.createTexture = create;
      gl.deleteTexture = remove;
    }
    expect(textures).toBe(0);
    expect(liveDeviceBuffers()).toBe(buffers);
    [x, w, wl].forEach((t) => t.dispose());
  });

  glTest('does not reuse a compiled kernel for an input texture of another layout', () => {
    // conv outputs of 30 elements: [1, 1, 5, 6] is stored as a 6 × 5 texture, [1, 2, 5, 3] near-square
    // (5 × 6); relu over both must read each with its own layout.
    const run = (): number[][] =>
      tidy(() => [
        Array.from(relu(conv2d(seeded([1, 1, 5, 6], 1), seeded([1, 1, 1, 1], 2), null, {})).dataSync()),
        Array.from(relu(conv2d(seeded([1, 2, 5, 3], 3), seeded([2, 2, 1, 1], 4), null, {})).dataSync()),
      ]);
    const want = run();
    setBackend('gpujs', { mode: 'headlessgl' });
    const got = run();
    got.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 5)));
  });
});
