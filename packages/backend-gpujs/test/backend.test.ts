/** The gpujs backend's contract: registration, mode reporting, device residency, and no leaks. */
import { GPU } from 'gpu.js';
import { conv2d, getBackendInfo, maxPool2d, numTensors, randn, record, relu, setBackend, tidy } from '@gradlens/tensor';
import { GpujsStorage, gpujsKernels, liveDeviceBuffers, resolveMode } from '../src';

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
    void gpu.destroy();
  });
});
