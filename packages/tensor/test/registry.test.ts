/** The backend registry: backends register themselves, and it is the one place that falls back to the CPU, visibly. */
import {
  add,
  cpuBackend,
  getBackendInfo,
  parseBackendSpec,
  registerBackend,
  relu,
  setBackend,
  setBackendFromSpec,
  tensor,
} from '@gradlens/tensor';
import type { Backend, KernelTable } from '@gradlens/tensor';

/** A backend whose relu declines float64 calls and counts the float32 calls it runs; it has no other kernel. */
function partialBackend(): Backend & { ran: number } {
  const b = {
    name: 'partial',
    ran: 0,
    kernels: {
      relu: (inputs, attrs) => {
        if (inputs[0]!.dtype !== 'float32') return { declined: `${inputs[0]!.dtype} inputs` };
        b.ran++;
        return (cpuBackend.kernels as KernelTable).relu(inputs, attrs);
      },
    } satisfies Backend['kernels'],
    info: () => ({ mode: 'test' }),
  };
  return b;
}

afterEach(() => setBackend('cpu'));

describe('backend registry', () => {
  test('the core knows no backend package: an unregistered name says what to import', () => {
    expect(() => setBackend('gpujs')).toThrow(
      /^setBackend: unknown backend 'gpujs' \(import '@gradlens\/backend-gpujs' first: it registers itself\); registered: cpu/,
    );
    expect(() => setBackend('tpu')).toThrow(/^setBackend: unknown backend 'tpu'; registered: cpu/);
  });

  test('specs are name or name:mode', () => {
    expect(parseBackendSpec('gpujs:webgl2')).toEqual({ name: 'gpujs', options: { mode: 'webgl2' } });
    expect(parseBackendSpec(' cpu ')).toEqual({ name: 'cpu', options: {} });
    for (const bad of ['', ':webgl2', 'gpujs:', 'a:b:c'])
      expect(() => parseBackendSpec(bad)).toThrow(`backend spec must be 'name' or 'name:mode' (e.g. gpujs:webgl2), got '${bad}'`);
  });

  test('ops the backend lacks and calls its kernels decline run on the CPU, and getBackendInfo lists both', () => {
    const backend = partialBackend();
    registerBackend('partial', () => backend);
    setBackendFromSpec('partial');
    expect(getBackendInfo()).toEqual({ backend: 'partial', mode: 'test' });
    const x = tensor([-1, 2, -3, 4]);
    expect(relu(x).dataSync()).toEqual(new Float32Array([0, 2, 0, 4]));
    expect(backend.ran).toBe(1);
    expect(getBackendInfo().cpuFallbacks).toBeUndefined();
    expect(relu(tensor([-1, 2], undefined, 'float64')).dataSync()).toEqual(new Float64Array([0, 2]));
    relu(tensor([5], undefined, 'float64'));
    expect(backend.ran).toBe(1);
    add(x, x);
    expect(getBackendInfo()).toMatchObject({ backend: 'partial', cpuOps: 'add', cpuFallbacks: 'relu: float64 inputs (2 calls)' });
    // A new backend starts a new record.
    setBackend('cpu');
    expect(getBackendInfo().cpuOps).toBeUndefined();
    expect(getBackendInfo().cpuFallbacks).toBeUndefined();
  });
});
