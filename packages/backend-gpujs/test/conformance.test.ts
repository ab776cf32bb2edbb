/**
 * One conformance suite for every backend: each case runs on the CPU reference and on every
 * configured backend (helpers.backendConfigs), and the values and gradients must agree to float32
 * tolerance. gpujs runs must also have made their results with gpu.js kernels (no silent CPU run).
 */
import { cases, TOL } from './cases';
import type { CaseResult } from './helpers';
import { backendConfigs, makeInputs, relError, runCase } from './helpers';

const configs = backendConfigs();
const reference = new Map<string, CaseResult>();

describe.each(configs.map((c) => [c.label, c] as const))('conformance on %s', (_label, cfg) => {
  test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
    const values = makeInputs(c.inputs, 1000 + i);
    let ref = reference.get(c.name);
    if (!ref) {
      ref = runCase({ label: 'cpu', name: 'cpu', options: {} }, c.inputs, values, 2000 + i, c.fn, c.rules);
      reference.set(c.name, ref);
    }
    const got = runCase(cfg, c.inputs, values, 2000 + i, c.fn, c.rules);
    expect(got.out.length).toBe(ref.out.length);
    expect(relError(got.out, ref.out)).toBeLessThan(TOL);
    expect(got.grads.length).toBe(ref.grads.length);
    got.grads.forEach((g, j) => expect(relError(g, ref!.grads[j]!)).toBeLessThan(TOL));
    if (cfg.name === 'gpujs') {
      expect(got.outOnDevice).toBe(true);
      if (!c.gradOnCpu) expect(got.gradOnDevice).toBe(true);
    }
  });
});
