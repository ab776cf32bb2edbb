/** Shared machinery of the conformance suite: which backends run, one case run on one backend, comparison. */
import { GPU } from 'gpu.js';
import { Generator, record, setBackend, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import { GpujsStorage } from '../src';
import type { CaseResult, InputSpec } from './run-case';

export { makeInputs, relError } from './run-case';
export type { CaseResult, InputSpec } from './run-case';

export interface BackendConfig {
  label: string;
  name: string;
  options: Record<string, string>;
}

/**
 * The backends every case runs on: the CPU reference, gpujs in cpu and webasm modes, and headlessgl
 * when the optional `gl` package loads and makes a context. GRADLENS_CONFORMANCE=cpu,gpujs:webasm,…
 * picks the list instead (the GPU script uses it).
 */
export function backendConfigs(): BackendConfig[] {
  const spec = process.env.GRADLENS_CONFORMANCE;
  const labels = spec
    ? spec
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : ['cpu', 'gpujs:cpu', 'gpujs:webasm', ...(GPU.isHeadlessGLSupported ? ['gpujs:headlessgl'] : [])];
  return labels.map((label): BackendConfig => {
    const [name, mode] = label.split(':');
    const options: Record<string, string> = mode ? { mode } : {};
    return { label, name: name!, options };
  });
}

/**
 * Runs `fn` on the configured backend: the output's values, and the gradients of ⟨output, seed⟩
 * with respect to the inputs marked `grad` (under `rules` when given). Frees everything it made.
 */
export function runCase(
  cfg: BackendConfig,
  specs: readonly InputSpec[],
  values: readonly Float32Array[],
  seed: number,
  fn: (...xs: Tensor[]) => Tensor,
  rules?: RuleOverrides,
): CaseResult {
  setBackend(cfg.name, cfg.options);
  let res: CaseResult | null = null;
  try {
    tidy(() => {
      const xs = specs.map((s, i) => tensor(values[i]!, s.shape, 'float32'));
      const { output, tape } = record(() => fn(...xs));
      try {
        const g = new Generator(seed + 1);
        const r = tensor(
          Float32Array.from({ length: output.size }, () => g.normal()),
          [...output.shape],
          'float32',
        );
        const wrt = xs.filter((_, i) => specs[i]!.grad !== false);
        const grads = wrt.length ? tape.grad(output, wrt, { gradOutputs: [r], rules }) : [];
        const onDevice = (t: Tensor | undefined) => t?.deviceStorage() instanceof GpujsStorage;
        res = {
          out: Float32Array.from(output.dataSync()),
          grads: grads.map((t) => Float32Array.from(t.dataSync())),
          outOnDevice: onDevice(output),
          gradOnDevice: onDevice(grads[0]),
        };
      } finally {
        tape.dispose();
      }
    });
  } finally {
    setBackend('cpu');
  }
  return res!;
}
